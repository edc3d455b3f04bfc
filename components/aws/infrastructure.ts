import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ClusterPlan } from "../plan/cluster-plan";
import { awsInstanceIdentity, awsTagKey, tokenParameterName } from "../plan/platforms/aws-resources";
import { InfrastructureArgs, InfrastructureComponent, PoolsArgs } from "../platform";
import { MemberIngress } from "../plan/member";
import { AwsApiServerLoadBalancer } from "./apiserver-lb";
import { AwsControlPlane } from "./control-plane";
import { AwsEtcdMachines } from "./etcd-machines";
import { AwsBackupBucket } from "./backup-bucket";
import { AwsNetwork } from "./network";
import { AwsNodePool } from "./node-pool";
import { AwsSecurityGroups } from "./security-groups";
import { instanceRole, METADATA_OPTIONS, rootVolume, tags } from "./vm";
import { BASTION_DISK_GB } from "../plan/cluster-plan";
import { LABEL } from "../plan/labels";

export interface AwsInfrastructureArgs extends InfrastructureArgs {
  /** AMI of every machine: the stack's `image`, or the looked-up Ubuntu 24.04 AMI. */
  ami: string;
}

/** Everything a cluster needs from AWS: network, security groups, bastion, masters, the apiserver NLB, and later the pools. */
export class AwsInfrastructure extends InfrastructureComponent {
  public readonly bastionPublicIp: pulumi.Output<string>;
  public readonly masterIds: pulumi.Output<string>[];
  public readonly masterInstances: pulumi.Resource[];
  public readonly etcdIds: pulumi.Output<string>[];
  public readonly etcdInstances: pulumi.Resource[];
  public readonly sshReady: pulumi.Resource[];
  public readonly instanceIdentity;
  protected readonly plan: ClusterPlan;
  private readonly ami: string;
  private readonly network: AwsNetwork;
  private readonly groups: AwsSecurityGroups;
  protected pools: AwsNodePool[] = [];

  constructor(name: string, args: AwsInfrastructureArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:Infrastructure", name, {}, opts);
    const { plan } = args;
    this.plan = plan;
    this.ami = args.ami;
    this.instanceIdentity = awsInstanceIdentity(plan);
    const parent = { parent: this };
    this.network = new AwsNetwork(name, { plan }, parent);
    this.groups = new AwsSecurityGroups(name, { plan, vpcId: this.network.vpc.id }, parent);
    // The only machine with a public address; its security group admits SSH from the admin CIDRs only.
    const bastion = new aws.ec2.Instance(
      plan.bastion.name,
      {
        ami: args.ami,
        instanceType: plan.config.bastion.machineType,
        subnetId: this.network.subnetIds[plan.bastion.subnet],
        associatePublicIpAddress: true,
        vpcSecurityGroupIds: [this.groups.ids.bastion],
        metadataOptions: METADATA_OPTIONS,
        rootBlockDevice: rootVolume(BASTION_DISK_GB),
        userData: args.bastionUserData,
        tags: tags(plan.name, plan.bastion.name, { [awsTagKey(LABEL.role)]: "bastion" }),
      },
      { parent: this, ignoreChanges: ["ami"] },
    );
    const controlPlane = new AwsControlPlane(
      `${name}-masters`,
      { plan, ami: args.ami, subnetIds: this.network.subnetIds, securityGroupId: this.groups.ids.master, userData: args.masterUserData, after: args.masterAfter },
      parent,
    );
    const etcd =
      plan.etcd.topology === "external"
        ? new AwsEtcdMachines(
            `${name}-etcd`,
            { plan, ami: args.ami, subnetIds: this.network.subnetIds, securityGroupId: this.groups.ids.etcd!, userData: args.etcdUserData, after: args.etcdAfter },
            parent,
          ).instances
        : [];
    // local-proxy: every node balances itself; no load balancer, no DNS zone.
    if (plan.config.endpoint.mode === "cloud-lb") {
      const lb = new AwsApiServerLoadBalancer(
        `${name}-apiserver`,
        { plan, vpcId: this.network.vpc.id, subnetIds: this.network.subnetIds, securityGroupId: this.groups.ids["apiserver-lb"], masters: controlPlane.instances },
        parent,
      );
      this.controlPlaneSsh = lb.sshHost;
    }
    if (plan.config.backups.enabled && plan.config.backups.destination === "bucket") {
      this.backupBucket = new AwsBackupBucket(`${plan.name}-etcd-backups`, { plan, writerRole: controlPlane.role.id }, parent).destination;
    }
    this.bastionPublicIp = bastion.publicIp;
    this.masterIds = controlPlane.instances.map((i) => i.id);
    this.masterInstances = controlPlane.instances;
    this.etcdIds = etcd.map((i) => i.id);
    this.etcdInstances = etcd;
    this.sshReady = [bastion, ...this.network.egressReady, ...this.groups.rules];
    this.registerOutputs({ bastionPublicIp: this.bastionPublicIp });
  }

  ingress(): pulumi.Output<MemberIngress> {
    const publicSubnets = this.plan.subnets.filter((s) => s.public).map((s) => this.network.subnetIds[s.name]);
    return pulumi
      .all([this.network.vpc.id, this.groups.ids.worker, pulumi.all(publicSubnets), pulumi.all(this.pools.flatMap((p) => p.groups.map((g) => g.name)))])
      .apply(([vpcId, workerSecurityGroupId, publicSubnetIds, workerGroups]) => ({ cloud: "aws" as const, vpcId, publicSubnetIds, workerSecurityGroupId, workerGroups }));
  }

  addPools(args: PoolsArgs): pulumi.Resource[] {
    const plan = this.plan;
    const parent = { parent: this };
    // The token reaches workers through SSM, readable by the workers' role only.
    const parameter = new aws.ssm.Parameter(
      `${plan.name}-bootstrap-token`,
      {
        name: tokenParameterName(plan),
        type: "SecureString",
        value: pulumi.secret(args.bootstrapToken),
        description: `${plan.name}: kubeadm bootstrap token for workers`,
        tags: tags(plan.name, `${plan.name}-bootstrap-token`),
      },
      // A rotated token is written once it is in the cluster.
      { ...parent, dependsOn: args.dependsOn },
    );
    const policy = parameter.arn.apply((arn) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: "ssm:GetParameter", Resource: arn },
          { Effect: "Allow", Action: "kms:Decrypt", Resource: "*", Condition: { StringEquals: { "kms:ViaService": `ssm.${plan.region}.amazonaws.com` } } },
        ],
      }),
    );
    const { profile } = instanceRole(`${plan.name}-worker`, plan.name, policy, parent);
    this.pools = plan.pools.map(
      (pool) =>
        new AwsNodePool(
          pool.name,
          {
            plan,
            pool,
            ami: this.ami,
            subnetIds: this.network.subnetIds,
            securityGroupId: this.groups.ids.worker,
            instanceProfileArn: profile.arn,
            userData: args.userData(pool),
            generation: args.generation(pool),
            dependsOn: args.dependsOn,
          },
          parent,
        ),
    );
    return [parameter, ...this.pools];
  }
}
