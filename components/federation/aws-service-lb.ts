import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Endpoint, ServiceLoadBalancerArgs } from "./endpoints";
import { AwsMemberIngress } from "../plan/member";

/**
 * An internet-facing NLB for one service in one AWS member: a fixed Elastic IP per
 * zone, a listener per service port forwarding to its node port on the worker
 * groups, HTTP health checks on the node port, and the node ports opened on the
 * workers' security group (client IPs are preserved, so from anywhere).
 */
export class AwsServiceLoadBalancer extends pulumi.ComponentResource implements Endpoint {
  public readonly addresses: pulumi.Output<string[]>;
  public readonly healthCheckHost: pulumi.Output<{ ip?: string; fqdn?: string }>;

  constructor(name: string, args: ServiceLoadBalancerArgs<AwsMemberIngress>, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:federation:AwsServiceLoadBalancer", name, {}, opts);
    const { placement, ingress } = args;
    const { service } = placement;
    const parent = { parent: this };
    const eips = ingress.publicSubnetIds.map((_, i) => new aws.ec2.Eip(`${name}-ip-${i}`, { domain: "vpc", tags: { Name: `${name}-ip-${i}` } }, parent));
    // No explicit name: Pulumi's auto-name keeps it unique and within AWS's 32 characters.
    const nlb = new aws.lb.LoadBalancer(
      `${name}-nlb`,
      {
        internal: false,
        loadBalancerType: "network",
        enableCrossZoneLoadBalancing: true,
        subnetMappings: ingress.publicSubnetIds.map((subnetId, i) => ({ subnetId, allocationId: eips[i].allocationId })),
        tags: { Name: name },
      },
      parent,
    );
    service.ports.forEach((p) => {
      const tg = new aws.lb.TargetGroup(
        `${name}-${p.port}`,
        {
          port: p.nodePort,
          protocol: "TCP",
          targetType: "instance",
          vpcId: ingress.vpcId,
          healthCheck: { protocol: "HTTP", port: String(service.ports[0].nodePort), path: service.healthCheckPath, interval: 10, healthyThreshold: 2, unhealthyThreshold: 2 },
          tags: { Name: `${name}-${p.port}` },
        },
        parent,
      );
      new aws.lb.Listener(`${name}-${p.port}`, { loadBalancerArn: nlb.arn, port: p.port, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: tg.arn }] }, parent);
      ingress.workerGroups.forEach((group) => new aws.autoscaling.Attachment(`${name}-${p.port}-${group}`, { autoscalingGroupName: group, lbTargetGroupArn: tg.arn }, parent));
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${p.nodePort}`,
        {
          securityGroupId: ingress.workerSecurityGroupId,
          ipProtocol: "tcp",
          fromPort: p.nodePort,
          toPort: p.nodePort,
          cidrIpv4: "0.0.0.0/0",
          description: `${service.namespace}/${service.name}: clients and health checks to the node port`,
        },
        parent,
      );
    });
    this.addresses = pulumi.all(eips.map((e) => e.publicIp));
    this.healthCheckHost = nlb.dnsName.apply((fqdn) => ({ fqdn }));
    this.registerOutputs({ addresses: this.addresses });
  }
}
