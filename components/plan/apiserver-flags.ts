// What the program adds to kube-apiserver beyond kubeadm's defaults, and the host folders
// those flags need mounted into its static pod (kubeadm's extraVolumes). Pure.
import { ClusterConfig } from "../config/validate";
import { AUDIT_LOG_DIR, AUDIT_POLICY_DIR, auditArgs } from "./audit";

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

/** The apiserver's flags: the encryption config (reloaded when it changes) and the audit log. */
export function apiserverArgs(c: ClusterConfig): Record<string, string> {
  return {
    "anonymous-auth": "true",
    "profiling": "false",
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
