// What the program adds to kube-apiserver beyond kubeadm's defaults, and the host folders
// those flags need mounted into its static pod (kubeadm's extraVolumes). Pure.
import { ClusterConfig } from "../config/validate";
import { AUDIT_LOG_DIR, AUDIT_POLICY_DIR, auditArgs } from "./audit";
import { endpointMarkDownSeconds } from "./endpoint-checks";

/** The folder the apiservers mount (read-only), and the encryption config in it they load (encryption.ts). */
export const ENCRYPTION_DIR = "/etc/kubernetes/encryption";
export const ENCRYPTION_CONFIG = `${ENCRYPTION_DIR}/config.yaml`;

/** kubeadm v1beta4 HostPathMount. */
export interface HostPathMount {
  name: string;
  hostPath: string;
  mountPath: string;
  readOnly: boolean;
  pathType: "DirectoryOrCreate";
}

/** What the shutdown delay adds to the endpoint's worst case (a check's jitter, a connection being made). */
export const SHUTDOWN_DELAY_MARGIN_S = 2;
/**
 * The kubelet's grace for the apiserver's static pod (kubeadm sets none: the pod default):
 * the delay and the apiserver's drain of the requests in flight fit within it.
 */
export const APISERVER_GRACE_S = 30;

/**
 * How long a stopping apiserver (a static pod replaced by an upgrade, a renewal, a restore)
 * keeps serving while its /readyz already fails, so that the endpoint takes it out of
 * rotation before it stops listening. Without it, a restart quicker than the endpoint's
 * checks (the kubelet starts the new apiserver within a second or two) sends requests to the
 * new apiserver before it is ready: it serves before its RBAC informers have synced and
 * refuses them (403: "kubernetes-admin cannot get deployments"), as the external-etcd lab's
 * upgrade and its audit logs showed. Kubernetes' --shutdown-delay-duration exists for this.
 */
export function shutdownDelaySeconds(c: ClusterConfig): number {
  return Math.ceil(endpointMarkDownSeconds(c)) + SHUTDOWN_DELAY_MARGIN_S;
}

/** The apiserver's flags: the encryption config (reloaded when it changes), the audit log, the shutdown delay. */
export function apiserverArgs(c: ClusterConfig): Record<string, string> {
  return {
    "anonymous-auth": "true",
    profiling: "false",
    "shutdown-delay-duration": `${shutdownDelaySeconds(c)}s`,
    // Always given (identity only, with encryption off): turning encryption on or off, or a
    // new key, is a new file the apiservers load, never a new flag that restarts them.
    "encryption-provider-config": ENCRYPTION_CONFIG,
    "encryption-provider-config-automatic-reload": "true",
    ...auditArgs(c),
  };
}

/** The folders the flags name, mounted at their own paths. */
export function apiserverMounts(c: ClusterConfig): HostPathMount[] {
  const mount = (name: string, path: string, readOnly: boolean): HostPathMount => ({ name, hostPath: path, mountPath: path, readOnly, pathType: "DirectoryOrCreate" });
  return [
    mount("kubeadm-ha-encryption", ENCRYPTION_DIR, true),
    ...(c.kubernetes.audit.enabled ? [mount("kubeadm-ha-audit-policy", AUDIT_POLICY_DIR, true), mount("kubeadm-ha-audit-log", AUDIT_LOG_DIR, false)] : []),
  ];
}
