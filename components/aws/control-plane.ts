import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ClusterPlan } from "../plan/cluster-plan";
import { instanceRole, METADATA_OPTIONS, rootVolume, tags } from "./vm";
import { asAwsTags, masterLabels } from "../plan/labels";

export interface AwsControlPlaneArgs {
  plan: ClusterPlan;
  ami: pulumi.Input<string>;
  subnetIds: Record<string, pulumi.Input<string>>;
  securityGroupId: pulumi.Input<string>;
  /** Boot config of each master, in plan order (no secrets: they come over SSH). */
  userData: pulumi.Input<string>[];
  /** What each master's VM waits for, in plan order (the previous master healthy again). */
  after: pulumi.Input<pulumi.Resource>[][];
}

/**
 * One master per zone. Its address lives on a network interface of its own, which
 * outlives the instance: the AWS way to reserve an address (certificates and etcd
 * peer URLs never change when a master is replaced).
 */
export class AwsControlPlane extends pulumi.ComponentResource {
  public readonly instances: aws.ec2.Instance[];
  /** The masters' IAM role (no permissions of its own; the backup bucket's policy is attached to it). */
  public readonly role: aws.iam.Role;

  constructor(name: string, args: AwsControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:ControlPlane", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    // Masters need no AWS permissions (there is no cloud controller) but adding etcd snapshots
    // to the backup bucket, which the bucket's component grants.
    const { role, profile } = instanceRole(`${plan.name}-master`, plan.name, undefined, parent);
    this.role = role;

    this.instances = plan.masters.map((m) => {
      const eni = new aws.ec2.NetworkInterface(
        `${m.name}-eni`,
        { subnetId: args.subnetIds[m.subnet], privateIps: [m.ip], securityGroups: [args.securityGroupId], description: `${m.name} (kept across replacements)`, tags: tags(plan.name, `${m.name}-eni`) },
        parent,
      );
      return new aws.ec2.Instance(
        m.name,
        {
          ami: args.ami,
          instanceType: plan.config.controlPlane.machineType,
          availabilityZone: m.zone,
          // The interface is kept when the instance goes: it holds the master's address.
          primaryNetworkInterface: { networkInterfaceId: eni.id, deleteOnTermination: false },
          iamInstanceProfile: profile.name,
          metadataOptions: METADATA_OPTIONS,
          rootBlockDevice: rootVolume(plan.config.controlPlane.diskSizeGb),
          userData: args.userData[m.index],
          tags: tags(plan.name, m.name, asAwsTags(masterLabels(plan))),
        },
        // The interface fits one instance at a time; a newer AMI from the lookup must not replace a
        // master. One master at a time: a new instance type or user data stops and starts each
        // instance only once the previous master is healthy again.
        { parent: this, deleteBeforeReplace: true, ignoreChanges: ["ami"], dependsOn: args.after[m.index] },
      );
    });
    this.registerOutputs({});
  }
}
