import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { asAwsTags, awsTagKey, ROOT_DEVICE } from "../plan/platforms/aws-resources";
import { METADATA_OPTIONS, tags } from "./vm";
import { NodePoolArgs } from "../platform";
import { LABEL, workerLabels } from "../plan/labels";
import { generationGroupName } from "../plan/worker-roll";

export interface AwsNodePoolArgs extends NodePoolArgs {
  ami: pulumi.Input<string>;
  subnetIds: Record<string, pulumi.Input<string>>;
  securityGroupId: pulumi.Input<string>;
  /** Role that may read the token's SSM parameter. */
  instanceProfileArn: pulumi.Input<string>;
}

/** Per pool: one launch template; per zone: an auto scaling group in that zone's private subnet. */
export class AwsNodePool extends pulumi.ComponentResource {
  public readonly template: aws.ec2.LaunchTemplate;
  public readonly groups: aws.autoscaling.Group[] = [];

  constructor(name: string, args: AwsNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:NodePool", name, {}, opts);
    const { plan, pool } = args;
    const parent = { parent: this, dependsOn: args.dependsOn };
    const t = (n: string, extra: Record<string, string> = {}) => tags(plan.name, n, { ...asAwsTags(workerLabels(plan, pool.pool.name)), ...extra });

    // Of its generation, as its groups are: the old one goes after the old groups.
    this.template = new aws.ec2.LaunchTemplate(
      `${generationGroupName(name, args.generation)}-template`,
      {
        namePrefix: `${pool.name}-`,
        imageId: args.ami,
        instanceType: pool.pool.machineType,
        vpcSecurityGroupIds: [args.securityGroupId],
        iamInstanceProfile: { arn: args.instanceProfileArn },
        metadataOptions: METADATA_OPTIONS,
        blockDeviceMappings: [{ deviceName: ROOT_DEVICE, ebs: { volumeSize: pool.pool.diskSizeGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
        userData: pulumi.output(args.userData).apply((u) => Buffer.from(u, "utf8").toString("base64")),
        tagSpecifications: [
          { resourceType: "instance", tags: t(pool.name) },
          { resourceType: "volume", tags: t(pool.name) },
        ],
        updateDefaultVersion: true,
        tags: t(pool.name),
      },
      parent,
    );
    for (const z of pool.zones) {
      const subnet = plan.subnets.find((s) => !s.public && s.zone === z.zone)!;
      // Named after the generation: a new generation is a new group beside the old one
      // (blue-green), whose nodes are drained before it goes (plan/worker-roll.ts). A new
      // name, not a replacement: Pulumi deletes the old group only after an up that went
      // through, never first thing in the next up after a failed one (pulumi/pulumi#9979).
      const groupName = generationGroupName(z.name, args.generation);
      this.groups.push(
        new aws.autoscaling.Group(
          groupName,
          {
            name: groupName,
            vpcZoneIdentifiers: [args.subnetIds[subnet.name]],
            minSize: z.minPerZone,
            maxSize: z.maxPerZone,
            // Initial size only: a scaler may own it afterwards.
            desiredCapacity: z.nodesPerZone,
            launchTemplate: { id: this.template.id, version: this.template.latestVersion.apply(String) },
            healthCheckType: "EC2",
            tags: [
              { key: "Name", value: z.name, propagateAtLaunch: true },
              { key: awsTagKey(LABEL.cluster), value: plan.name, propagateAtLaunch: true },
            ],
          },
          { ...parent, ignoreChanges: ["desiredCapacity"] },
        ),
      );
    }
    this.registerOutputs({});
  }
}
