import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { networkTag } from "../plan/platforms/gcp-resources";
import { etcdMachineLabels } from "../plan/labels";
import { fixedAddressVm, GcpMachinesArgs } from "./vm";

/** Each VM waits for the member before it to be a voter again. */
export type GcpEtcdMachinesArgs = GcpMachinesArgs;

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
    this.instances = plan.etcd.members.map((m) =>
      fixedAddressVm(
        m.name,
        { zone: m.zone, ip: m.ip, region: plan.region, subnet: args.subnet, image: plan.config.image, diskSizeGb: plan.config.etcd.diskSizeGb, userData: args.userData[m.index] },
        { machineType: plan.config.etcd.machineType, tags: [networkTag(plan, "etcd")], labels: etcdMachineLabels(plan) },
        // One member at a time: a new image replaces, a new machine type stops, each VM only
        // once the member before it is a healthy voter again (its data is on its disk: never
        // two members' at once).
        { parent: this, dependsOn: args.after[m.index] },
      ),
    );
    this.registerOutputs({});
  }
}
