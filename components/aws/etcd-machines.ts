import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { etcdMachineLabels } from "../plan/labels";
import { asAwsTags } from "../plan/platforms/aws-resources";
import { AwsMachinesArgs, fixedAddressInstance, rootVolume } from "./vm";

/** The etcd machines' security group admits 2379 from the masters and 2380 between members; each waits for the member before it to be a voter again. */
export type AwsEtcdMachinesArgs = AwsMachinesArgs;

/**
 * An external etcd's machines (plan/etcd-cluster.ts): one instance per member in its zone's
 * private subnet. As a master's, its address lives on a network interface of its own that
 * outlives the instance (its certificates and peer URL carry it). No instance role: a member
 * needs nothing from AWS.
 */
export class AwsEtcdMachines extends pulumi.ComponentResource {
  public readonly instances: aws.ec2.Instance[];

  constructor(name: string, args: AwsEtcdMachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:EtcdMachines", name, {}, opts);
    const { plan } = args;
    this.instances = plan.etcd.members.map((m) =>
      fixedAddressInstance(
        m.name,
        { zone: m.zone, ip: m.ip, subnetId: args.subnetIds[m.subnet], securityGroupId: args.securityGroupId, cluster: plan.name, tags: asAwsTags(etcdMachineLabels(plan)) },
        { ami: args.ami, instanceType: plan.config.etcd.machineType, rootBlockDevice: rootVolume(plan.config.etcd.diskSizeGb), userData: args.userData[m.index] },
        // One member at a time: each instance only once the member before it is a healthy voter again.
        { parent: this, dependsOn: args.after[m.index] },
      ),
    );
    this.registerOutputs({});
  }
}
