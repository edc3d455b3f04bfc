import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ClusterPlan } from "../plan/cluster-plan";
import { apiserverLbName, AWS_TYPES, controlPlaneSshTargetGroupName, endpointZone } from "../plan/platforms/aws-resources";
import { APISERVER_TARGET_HEALTH_CHECK } from "../plan/endpoint-checks";
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
 * A second listener sends SSH (port 22, from the bastion) to a master whose apiserver
 * is ready: the steps that need any one healthy master connect there.
 */
export class AwsApiServerLoadBalancer extends pulumi.ComponentResource {
  /**
   * Host for SSH to a healthy master: the NLB's DNS name (the bastion resolves it to the
   * zones with a healthy master), once the SSH listener and its targets exist.
   */
  public readonly sshHost: pulumi.Output<string>;
  constructor(name: string, args: AwsApiServerLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(AWS_TYPES.apiserverLb, name, {}, opts);
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
    // Port 6443 (the apiservers) and port 22 (SSH to a master whose apiserver is ready): one
    // target group and listener each, both health-checked on the apiserver's /readyz.
    const forward = (prefix: string, port: number, groupName: string) => {
      const named = (what: string) => prefix + what;
      const targetGroup = new aws.lb.TargetGroup(
        `${name}-${named("targets")}`,
        {
          name: groupName,
          port,
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
          tags: tags(plan.name, groupName),
        },
        parent,
      );
      const attachments = args.masters.map(
        (instance, i) => new aws.lb.TargetGroupAttachment(`${plan.masters[i].name}-${named("target")}`, { targetGroupArn: targetGroup.arn, targetId: instance.id, port }, parent),
      );
      const listener = new aws.lb.Listener(
        `${name}-${named("listener")}`,
        { loadBalancerArn: nlb.arn, port, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }], tags: tags(plan.name, `${groupName}-listener`) },
        parent,
      );
      return [listener, ...attachments];
    };
    forward("", plan.endpoint.port, lbName);
    const ssh = forward("ssh-", 22, controlPlaneSshTargetGroupName(plan));

    const { zone, record } = endpointZone(plan);
    const hostedZone = new aws.route53.Zone(
      `${name}-zone`,
      { name: zone, comment: `${plan.name}: apiserver endpoint`, vpcs: [{ vpcId: args.vpcId }], forceDestroy: true, tags: tags(plan.name, zone) },
      parent,
    );
    new aws.route53.Record(
      `${name}-record`,
      { zoneId: hostedZone.zoneId, name: record, type: "A", aliases: [{ name: nlb.dnsName, zoneId: nlb.zoneId, evaluateTargetHealth: true }] },
      parent,
    );
    this.sshHost = pulumi.all([nlb.dnsName, ...ssh.map((r) => r.urn)]).apply(([dns]) => dns);
    this.registerOutputs({ dnsName: nlb.dnsName });
  }
}
