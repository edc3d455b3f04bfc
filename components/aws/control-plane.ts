import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsMachinesArgs, fixedAddressInstance, instanceRole, rootVolume } from "./vm";
import { masterLabels } from "../plan/labels";
import { asAwsTags } from "../plan/platforms/aws-resources";

/** Each master waits for the previous master to be healthy again. */
export type AwsControlPlaneArgs = AwsMachinesArgs;

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

    this.instances = plan.masters.map((m) =>
      fixedAddressInstance(
        m.name,
        { zone: m.zone, ip: m.ip, subnetId: args.subnetIds[m.subnet], securityGroupId: args.securityGroupId, cluster: plan.name, tags: asAwsTags(masterLabels(plan)) },
        {
          ami: args.ami,
          instanceType: plan.config.controlPlane.machineType,
          iamInstanceProfile: profile.name,
          rootBlockDevice: rootVolume(plan.config.controlPlane.diskSizeGb),
          userData: args.userData[m.index],
        },
        // One master at a time: a new instance type or user data stops and starts each
        // instance only once the previous master is healthy again.
        { parent: this, dependsOn: args.after[m.index] },
      ),
    );
    this.registerOutputs({});
  }
}
