// The apiservers' audit log (Talos and RKE2 turn it on; kubeadm leaves it off): who did what,
// when, from where, for every request, at the Metadata level (no request or response bodies,
// so no Secret's data and no token ever reaches the log), rotated by the apiserver itself.
// Pure.
import { createHash } from "crypto";
import { stringify } from "yaml";
import { MachineFile } from "./bundle";
import { ClusterConfig } from "../config/validate";

/** The folder of the policy (mounted read-only into the apiserver). */
export const AUDIT_POLICY_DIR = "/etc/kubernetes/audit";
/** The folder of the log (mounted read-write). */
export const AUDIT_LOG_DIR = "/var/log/kubernetes/audit";
export const AUDIT_LOG = `${AUDIT_LOG_DIR}/audit.log`;

/**
 * The audit policy: nothing for the health checks, metrics and the control plane's own
 * leader-election renewals (every 2 s per component: noise), Metadata for everything else.
 */
export function auditPolicy(): string {
  return stringify(
    {
      apiVersion: "audit.k8s.io/v1",
      kind: "Policy",
      omitStages: ["RequestReceived"],
      rules: [
        { level: "None", nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics"] },
        {
          level: "None",
          users: ["system:kube-controller-manager", "system:kube-scheduler"],
          verbs: ["get", "update"],
          resources: [{ group: "coordination.k8s.io", resources: ["leases"] }],
        },
        { level: "None", userGroups: ["system:nodes"], verbs: ["get", "update", "patch"], resources: [{ group: "coordination.k8s.io", resources: ["leases"] }] },
        // Secrets, ConfigMaps and tokens: who read or changed them, never what they hold.
        {
          level: "Metadata",
          resources: [
            { group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"] },
            { group: "authentication.k8s.io", resources: ["tokenreviews"] },
          ],
        },
        { level: "Metadata" },
      ],
    },
    { lineWidth: 0 },
  );
}

/**
 * Where the policy is on each master: named by its content, so a new policy is a new path in
 * the apiserver's flags (it reads the policy at start only), which restarts the apiservers
 * one at a time (certificates.ts reconfigure).
 */
export function auditPolicyPath(): string {
  return `${AUDIT_POLICY_DIR}/policy-${createHash("sha256").update(auditPolicy()).digest("hex").slice(0, 12)}.yaml`;
}

/** The apiserver's audit flags; none with the audit log off. */
export function auditArgs(c: ClusterConfig): Record<string, string> {
  const a = c.kubernetes.audit;
  if (!a.enabled) return {};
  return {
    "audit-policy-file": auditPolicyPath(),
    "audit-log-path": AUDIT_LOG,
    "audit-log-maxage": String(a.maxAgeDays),
    "audit-log-maxbackup": String(a.maxBackups),
    "audit-log-maxsize": String(a.maxSizeMB),
  };
}

/** The policy file a master gets, with the audit log on. */
export function auditFiles(c: ClusterConfig): MachineFile[] {
  return c.kubernetes.audit.enabled ? [{ path: auditPolicyPath(), mode: "0644", content: auditPolicy() }] : [];
}

/** What the stack output `audit` holds. */
export interface AuditOutput {
  enabled: boolean;
  log?: string;
  policy?: string;
  maxAgeDays?: number;
  maxBackups?: number;
  maxSizeMB?: number;
}

export function auditOutput(c: ClusterConfig): AuditOutput {
  const a = c.kubernetes.audit;
  return a.enabled ? { enabled: true, log: AUDIT_LOG, policy: auditPolicyPath(), maxAgeDays: a.maxAgeDays, maxBackups: a.maxBackups, maxSizeMB: a.maxSizeMB } : { enabled: false };
}
