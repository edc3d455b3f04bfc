// Settings every GCP VM of a cluster shares (not a component: plain argument builders).
import * as pulumi from "@pulumi/pulumi";

/** Persistent-disk type of boot disks: SSD-backed, fast enough for etcd. */
export const BOOT_DISK_TYPE = "pd-balanced";

/** Secure Boot, vTPM and integrity monitoring on every VM. */
export const SHIELDED = { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true };

/**
 * Instance metadata: the boot config plus keys that keep SSH access under our
 * control (no OS Login, no project-wide keys). Extra entries may be secrets.
 */
export function vmMetadata(userData: pulumi.Input<string>, extra: Record<string, pulumi.Input<string>> = {}): Record<string, pulumi.Input<string>> {
  return { "user-data": userData, "enable-oslogin": "FALSE", "block-project-ssh-keys": "TRUE", ...extra };
}
