// Settings every EC2 machine of a cluster shares (plain argument builders, not a component).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsTagKey, METADATA_OPTIONS } from "../plan/platforms/aws-resources";
import { ClusterPlan } from "../plan/cluster-plan";
import { LABEL } from "../plan/labels";

export { METADATA_OPTIONS };

/** Encrypted gp3 root volume. */
export function rootVolume(sizeGb: number) {
  return { volumeSize: sizeGb, volumeType: "gp3", encrypted: true, deleteOnTermination: true };
}

/** Name tag plus the cluster's tags. */
export function tags(cluster: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Name: name, [awsTagKey(LABEL.cluster)]: cluster, ...extra };
}

/** What a component of machines at fixed addresses (the masters, an external etcd's) is given. */
export interface AwsMachinesArgs {
  plan: ClusterPlan;
  ami: pulumi.Input<string>;
  subnetIds: Record<string, pulumi.Input<string>>;
  securityGroupId: pulumi.Input<string>;
  /** Boot config of each machine, in plan order (no secrets: those come over SSH). */
  userData: pulumi.Input<string>[];
  /** What each machine waits for, in plan order: one machine at a time. */
  after: pulumi.Input<pulumi.Resource>[][];
}

/**
 * A machine at a fixed private address: the address on a network interface of its own, which
 * outlives the instance (the AWS way to reserve one: certificates and etcd peer URLs never
 * change when the machine is replaced); the interface fits one instance at a time, and a newer
 * AMI from the lookup must not replace the machine.
 */
export function fixedAddressInstance(
  name: string,
  m: { zone: string; ip: string; subnetId: pulumi.Input<string>; securityGroupId: pulumi.Input<string>; cluster: string; tags: Record<string, string> },
  args: Pick<aws.ec2.InstanceArgs, "ami" | "instanceType" | "iamInstanceProfile" | "rootBlockDevice" | "userData">,
  opts: pulumi.CustomResourceOptions,
): aws.ec2.Instance {
  const eni = new aws.ec2.NetworkInterface(
    `${name}-eni`,
    { subnetId: m.subnetId, privateIps: [m.ip], securityGroups: [m.securityGroupId], description: `${name} (kept across replacements)`, tags: tags(m.cluster, `${name}-eni`) },
    { parent: opts.parent },
  );
  return new aws.ec2.Instance(
    name,
    {
      ...args,
      availabilityZone: m.zone,
      primaryNetworkInterface: { networkInterfaceId: eni.id, deleteOnTermination: false },
      metadataOptions: METADATA_OPTIONS,
      tags: tags(m.cluster, name, m.tags),
    },
    { ...opts, deleteBeforeReplace: true, ignoreChanges: ["ami"] },
  );
}

/** An IAM role EC2 instances can assume, with the given inline policy (none: no permissions at all), and its instance profile. */
export function instanceRole(name: string, cluster: string, policy: pulumi.Input<string> | undefined, opts: pulumi.CustomResourceOptions) {
  const role = new aws.iam.Role(
    name,
    {
      name,
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
      tags: tags(cluster, name),
    },
    opts,
  );
  if (policy !== undefined) new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy }, opts);
  const profile = new aws.iam.InstanceProfile(`${name}-profile`, { name, role: role.name, tags: tags(cluster, name) }, opts);
  return { role, profile };
}
