import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { ClusterPlan } from "../plan/cluster-plan";
import { networkTag } from "../plan/gcp-plan";
import { etcdMachineLabels } from "../plan/labels";
import { BOOT_DISK_TYPE, SHIELDED, vmMetadata } from "./vm";

export interface GcpEtcdMachinesArgs {
  plan: ClusterPlan;
  subnet: pulumi.Input<string>;
  /** Boot config of each etcd machine, in plan order (no secrets: the etcd CA comes over SSH). */
  userData: pulumi.Input<string>[];
  /** What each machine's VM waits for, in plan order (the member before it a healthy voter again). */
  after: pulumi.Input<pulumi.Resource>[][];
}

/**
 * An external etcd's machines (plan/etcd-cluster.ts): one VM per member in its zone, at a
 * reserved internal address (its certificates and peer URL carry it), tagged so that the
 * firewall opens 2379 to the masters and 2380 between members only. No service account:
 * a member needs nothing from the cloud.
 */
export class GcpEtcdMachines extends pulumi.ComponentResource {
  public readonly instances: gcp.compute.Instance[];

  constructor(name: string, args: GcpEtcdMachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:gcp:EtcdMachines", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    this.instances = plan.etcd.members.map((m) => {
      const address = new gcp.compute.Address(
        `${m.name}-ip`,
        { name: `${m.name}-ip`, region: plan.region, addressType: "INTERNAL", subnetwork: args.subnet, address: m.ip, purpose: "GCE_ENDPOINT" },
        parent,
      );
      return new gcp.compute.Instance(
        m.name,
        {
          name: m.name,
          zone: m.zone,
          machineType: plan.config.etcd.machineType,
          tags: [networkTag(plan, "etcd")],
          labels: etcdMachineLabels(plan),
          bootDisk: { initializeParams: { image: plan.config.image, size: plan.config.etcd.diskSizeGb, type: BOOT_DISK_TYPE } },
          networkInterfaces: [{ subnetwork: args.subnet, networkIp: address.address }],
          shieldedInstanceConfig: SHIELDED,
          metadata: vmMetadata(args.userData[m.index]),
          allowStoppingForUpdate: true,
        },
        // The reserved address fits one VM at a time. One member at a time: a new image
        // replaces, a new machine type stops, each VM only once the member before it is a
        // healthy voter again (its data is on its disk: never two members' at once).
        { parent: this, deleteBeforeReplace: true, dependsOn: args.after[m.index] },
      );
    });
    this.registerOutputs({});
  }
}
