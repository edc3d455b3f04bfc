import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ClusterPlan } from "../plan/cluster-plan";
import { METADATA_OPTIONS, rootVolume, tags } from "./vm";

export interface AwsBastionArgs {
  plan: ClusterPlan;
  ami: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  securityGroupId: pulumi.Input<string>;
  userData: pulumi.Input<string>;
}

/** The only machine with a public address; its security group admits SSH from the admin CIDRs only. */
export class AwsBastion extends pulumi.ComponentResource {
  public readonly instance: aws.ec2.Instance;
  public readonly publicIp: pulumi.Output<string>;

  constructor(name: string, args: AwsBastionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:Bastion", name, {}, opts);
    const { plan } = args;
    this.instance = new aws.ec2.Instance(
      plan.bastion.name,
      {
        ami: args.ami,
        instanceType: plan.config.bastion.machineType,
        subnetId: args.subnetId,
        associatePublicIpAddress: true,
        vpcSecurityGroupIds: [args.securityGroupId],
        metadataOptions: METADATA_OPTIONS,
        rootBlockDevice: rootVolume(20),
        userData: args.userData,
        tags: tags(plan.name, plan.bastion.name, { "kubeadm-ha/role": "bastion" }),
      },
      { parent: this, ignoreChanges: ["ami"] },
    );
    this.publicIp = this.instance.publicIp;
    this.registerOutputs({ publicIp: this.publicIp });
  }
}
