import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ClusterPlan, zoneSuffix } from "../plan/cluster-plan";
import { tags } from "./vm";

export interface AwsNetworkArgs {
  plan: ClusterPlan;
}

/**
 * VPC with a private and a public subnet per zone; NAT gateways (one per zone, or one
 * in the first zone) give the private subnets egress; nothing private gets a public IP.
 */
export class AwsNetwork extends pulumi.ComponentResource {
  public readonly vpc: aws.ec2.Vpc;
  /** Subnet id by plan subnet name. */
  public readonly subnetIds: Record<string, pulumi.Output<string>> = {};
  public readonly natGateways: aws.ec2.NatGateway[] = [];
  /** Everything egress depends on (routes), for steps that need the internet. */
  public readonly egressReady: pulumi.Resource[] = [];

  constructor(name: string, args: AwsNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:Network", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    const t = (n: string) => tags(plan.name, n);

    this.vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: plan.config.network.nodeCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: t(`${name}-vpc`) }, parent);
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags: t(`${name}-igw`) }, parent);

    const subnets = new Map<string, aws.ec2.Subnet>();
    for (const s of plan.subnets) {
      const subnet = new aws.ec2.Subnet(s.name, { vpcId: this.vpc.id, cidrBlock: s.cidr, availabilityZone: s.zone, mapPublicIpOnLaunch: false, tags: t(s.name) }, parent);
      subnets.set(s.name, subnet);
      this.subnetIds[s.name] = subnet.id;
    }

    const publicRt = new aws.ec2.RouteTable(`${name}-public`, { vpcId: this.vpc.id, tags: t(`${name}-public`) }, parent);
    this.egressReady.push(new aws.ec2.Route(`${name}-public-default`, { routeTableId: publicRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, parent));
    for (const s of plan.subnets.filter((x) => x.public)) {
      new aws.ec2.RouteTableAssociation(`${s.name}-rt`, { subnetId: subnets.get(s.name)!.id, routeTableId: publicRt.id }, parent);
    }

    const natZones = plan.config.network.natGateways === "single" ? [plan.zones[0]] : plan.zones;
    const natByZone = new Map<string, aws.ec2.NatGateway>();
    for (const zone of natZones) {
      const n = `${name}-nat-${zoneSuffix(zone)}`;
      const eip = new aws.ec2.Eip(`${n}-ip`, { domain: "vpc", tags: t(`${n}-ip`) }, parent);
      const pub = plan.subnets.find((s) => s.public && s.zone === zone)!;
      const nat = new aws.ec2.NatGateway(
        n,
        { allocationId: eip.allocationId, subnetId: subnets.get(pub.name)!.id, connectivityType: "public", tags: t(n) },
        { parent: this, dependsOn: [igw] },
      );
      natByZone.set(zone, nat);
      this.natGateways.push(nat);
    }
    for (const s of plan.subnets.filter((x) => !x.public)) {
      const nat = natByZone.get(s.zone!) ?? natByZone.get(plan.zones[0])!;
      const rt = new aws.ec2.RouteTable(`${s.name}-rt`, { vpcId: this.vpc.id, tags: t(`${s.name}-rt`) }, parent);
      this.egressReady.push(new aws.ec2.Route(`${s.name}-default`, { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id }, parent));
      new aws.ec2.RouteTableAssociation(`${s.name}-rt`, { subnetId: subnets.get(s.name)!.id, routeTableId: rt.id }, parent);
    }
    this.registerOutputs({ vpc: this.vpc.id });
  }
}
