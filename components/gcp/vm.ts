// Settings every GCP VM of a cluster shares (not a component: plain argument builders).
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { ClusterPlan } from "../plan/cluster-plan";

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

/** What a component of VMs at reserved addresses (the masters, an external etcd's) is given. */
export interface GcpMachinesArgs {
  plan: ClusterPlan;
  subnet: pulumi.Input<string>;
  /** Boot config of each VM, in plan order (no secrets: those come over SSH). */
  userData: pulumi.Input<string>[];
  /** What each VM waits for, in plan order: one machine at a time. */
  after: pulumi.Input<pulumi.Resource>[][];
}

/**
 * A VM at a reserved internal address (certificates and etcd peer URLs carry it), booted from
 * the stack's image on an SSD-backed disk, shielded, with the boot config as its metadata. The
 * address fits one VM at a time: a replacement deletes the old VM first.
 */
export function fixedAddressVm(
  name: string,
  m: { zone: string; ip: string; region: string; subnet: pulumi.Input<string>; image?: string; diskSizeGb: number; userData: pulumi.Input<string> },
  args: Pick<gcp.compute.InstanceArgs, "machineType" | "tags" | "labels" | "serviceAccount">,
  opts: pulumi.CustomResourceOptions,
): gcp.compute.Instance {
  const address = new gcp.compute.Address(
    `${name}-ip`,
    { name: `${name}-ip`, region: m.region, addressType: "INTERNAL", subnetwork: m.subnet, address: m.ip, purpose: "GCE_ENDPOINT" },
    { parent: opts.parent },
  );
  return new gcp.compute.Instance(
    name,
    {
      ...args,
      name,
      zone: m.zone,
      bootDisk: { initializeParams: { image: m.image, size: m.diskSizeGb, type: BOOT_DISK_TYPE } },
      networkInterfaces: [{ subnetwork: m.subnet, networkIp: address.address }],
      shieldedInstanceConfig: SHIELDED,
      metadata: vmMetadata(m.userData),
      allowStoppingForUpdate: true,
    },
    { ...opts, deleteBeforeReplace: true },
  );
}
