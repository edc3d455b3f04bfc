import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ClusterPlan } from "../plan/cluster-plan";
import { APISERVER_TARGET_HEALTH_CHECK, apiserverLbName, endpointZone } from "../plan/aws-plan";
import { tags } from "./vm";

export interface AwsApiServerLoadBalancerArgs {
  plan: ClusterPlan;
  vpcId: pulumi.Input<string>;
  subnetIds: Record<string, pulumi.Input<string>>;
  securityGroupId: pulumi.Input<string>;
  masters: aws.ec2.Instance[];
}

/**
 * Internal NLB in front of every apiserver: TCP 6443, HTTPS /readyz health checks,
 * cross-zone on, client-IP preservation off (so a master can reach itself through
 * it), fixed addresses per zone, and a private Route 53 zone for the endpoint name.
 */
export class AwsApiServerLoadBalancer extends pulumi.ComponentResource {
  constructor(name: string, args: AwsApiServerLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:ApiServerLoadBalancer", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    const lbName = apiserverLbName(plan);
    const hc = APISERVER_TARGET_HEALTH_CHECK;

    const nlb = new aws.lb.LoadBalancer(
      `${name}-nlb`,
      {
        name: lbName,
        internal: true,
        loadBalancerType: "network",
        enableCrossZoneLoadBalancing: true,
        securityGroups: [args.securityGroupId],
        // One fixed address in each zone's private subnet (plan order: zones).
        subnetMappings: plan.subnets.filter((s) => !s.public).map((s, i) => ({ subnetId: args.subnetIds[s.name], privateIpv4Address: plan.endpoint.addresses[i] })),
        tags: tags(plan.name, lbName),
      },
      parent,
    );
    const targetGroup = new aws.lb.TargetGroup(
      `${name}-targets`,
      {
        name: lbName,
        port: plan.endpoint.port,
        protocol: "TCP",
        targetType: "instance",
        vpcId: args.vpcId,
        preserveClientIp: "false",
        deregistrationDelay: 10,
        connectionTermination: true,
        healthCheck: {
          protocol: hc.protocol,
          port: String(plan.endpoint.port),
          path: hc.path,
          interval: hc.interval,
          timeout: hc.timeout,
          healthyThreshold: hc.healthyThreshold,
          unhealthyThreshold: hc.unhealthyThreshold,
        },
        tags: tags(plan.name, lbName),
      },
      parent,
    );
    args.masters.forEach((instance, i) => {
      new aws.lb.TargetGroupAttachment(`${plan.masters[i].name}-target`, { targetGroupArn: targetGroup.arn, targetId: instance.id, port: plan.endpoint.port }, parent);
    });
    new aws.lb.Listener(
      `${name}-listener`,
      { loadBalancerArn: nlb.arn, port: plan.endpoint.port, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }], tags: tags(plan.name, `${lbName}-listener`) },
      parent,
    );

    const { zone, record } = endpointZone(plan);
    const hostedZone = new aws.route53.Zone(`${name}-zone`, { name: zone, comment: `${plan.name}: apiserver endpoint`, vpcs: [{ vpcId: args.vpcId }], forceDestroy: true, tags: tags(plan.name, zone) }, parent);
    new aws.route53.Record(
      `${name}-record`,
      { zoneId: hostedZone.zoneId, name: record, type: "A", aliases: [{ name: nlb.dnsName, zoneId: nlb.zoneId, evaluateTargetHealth: true }] },
      parent,
    );
    this.registerOutputs({ dnsName: nlb.dnsName });
  }
}
