import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ClusterPlan } from "../plan/cluster-plan";
import { asAwsTags, etcdMachineLabels } from "../plan/labels";
import { METADATA_OPTIONS, rootVolume, tags } from "./vm";

export interface AwsEtcdMachinesArgs {
  plan: ClusterPlan;
  ami: pulumi.Input<string>;
  subnetIds: Record<string, pulumi.Input<string>>;
  /** The etcd machines' security group: 2379 from the masters, 2380 between members. */
  securityGroupId: pulumi.Input<string>;
  /** Boot config of each etcd machine, in plan order (no secrets: the etcd CA comes over SSH). */
  userData: pulumi.Input<string>[];
  /** What each machine's instance waits for, in plan order (the member before it a healthy voter again). */
  after: pulumi.Input<pulumi.Resource>[][];
}

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
    const parent = { parent: this };
    this.instances = plan.etcd.members.map((m) => {
      const eni = new aws.ec2.NetworkInterface(
        `${m.name}-eni`,
        { subnetId: args.subnetIds[m.subnet], privateIps: [m.ip], securityGroups: [args.securityGroupId], description: `${m.name} (kept across replacements)`, tags: tags(plan.name, `${m.name}-eni`) },
        parent,
      );
      return new aws.ec2.Instance(
        m.name,
        {
          ami: args.ami,
          instanceType: plan.config.etcd.machineType,
          availabilityZone: m.zone,
          primaryNetworkInterface: { networkInterfaceId: eni.id, deleteOnTermination: false },
          metadataOptions: METADATA_OPTIONS,
          rootBlockDevice: rootVolume(plan.config.etcd.diskSizeGb),
          userData: args.userData[m.index],
          tags: tags(plan.name, m.name, asAwsTags(etcdMachineLabels(plan))),
        },
        // The interface fits one instance at a time; a newer AMI from the lookup must not replace a
        // member. One member at a time: each instance only once the member before it is a
        // healthy voter again.
        { parent: this, deleteBeforeReplace: true, ignoreChanges: ["ami"], dependsOn: args.after[m.index] },
      );
    });
    this.registerOutputs({});
  }
}
