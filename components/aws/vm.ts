// Settings every EC2 machine of a cluster shares (plain argument builders, not a component).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METADATA_OPTIONS } from "../plan/aws-plan";

export { METADATA_OPTIONS };

/** Encrypted gp3 root volume. */
export function rootVolume(sizeGb: number) {
  return { volumeSize: sizeGb, volumeType: "gp3", encrypted: true, deleteOnTermination: true };
}

/** Name tag plus the cluster's tags. */
export function tags(cluster: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Name: name, "kubeadm-ha/cluster": cluster, ...extra };
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
