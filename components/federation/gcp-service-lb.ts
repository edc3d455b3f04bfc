import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { Endpoint, ServiceLoadBalancerArgs } from "./endpoints";
import { GcpMemberIngress } from "../plan/member";

/** Google's probers for external passthrough load balancers. */
export const GCP_NLB_HEALTH_CHECK_RANGES = ["35.191.0.0/16", "209.85.152.0/22", "209.85.204.0/22"];

export interface GcpServiceLoadBalancerArgs extends ServiceLoadBalancerArgs<GcpMemberIngress> {
  region: string;
}

/**
 * A regional external passthrough load balancer for one service in one GCP member:
 * an address, an HTTP health check on the node port, a backend service over the
 * worker groups, a forwarding rule on the service ports, and the firewall for both.
 * Packets arrive with the LB address as destination; the Service lists it in
 * externalIPs so kube-proxy takes them.
 */
export class GcpServiceLoadBalancer extends pulumi.ComponentResource implements Endpoint {
  public readonly addresses: pulumi.Output<string[]>;
  public readonly healthCheckHost: pulumi.Output<{ ip?: string; fqdn?: string }>;

  constructor(name: string, args: GcpServiceLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:federation:GcpServiceLoadBalancer", name, {}, opts);
    const { placement, ingress, region } = args;
    const { service } = placement;
    const parent = { parent: this };
    const address = new gcp.compute.Address(`${name}-ip`, { name: `${name}-ip`, region, addressType: "EXTERNAL", networkTier: "PREMIUM" }, parent);
    const hc = new gcp.compute.RegionHealthCheck(
      `${name}-hc`,
      {
        name: `${name}-hc`,
        region,
        checkIntervalSec: 5,
        timeoutSec: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
        httpHealthCheck: { port: service.ports[0].nodePort, requestPath: service.healthCheckPath },
      },
      parent,
    );
    const backend = new gcp.compute.RegionBackendService(
      `${name}-backend`,
      {
        name: `${name}-backend`,
        region,
        loadBalancingScheme: "EXTERNAL",
        protocol: "TCP",
        healthChecks: hc.id,
        backends: ingress.workerGroups.map((group) => ({ group, balancingMode: "CONNECTION" })),
      },
      parent,
    );
    new gcp.compute.ForwardingRule(
      `${name}-rule`,
      {
        name: `${name}-rule`,
        region,
        loadBalancingScheme: "EXTERNAL",
        ipProtocol: "TCP",
        ports: service.ports.map((p) => String(p.port)),
        ipAddress: address.address,
        backendService: backend.id,
      },
      parent,
    );
    new gcp.compute.Firewall(
      `${name}-clients`,
      {
        name: `${name}-clients`,
        network: ingress.network,
        description: `${service.namespace}/${service.name}: clients to the service ports`,
        allows: [{ protocol: "tcp", ports: service.ports.map((p) => String(p.port)) }],
        sourceRanges: ["0.0.0.0/0"],
        targetTags: [ingress.workerTag],
      },
      parent,
    );
    new gcp.compute.Firewall(
      `${name}-probes`,
      {
        name: `${name}-probes`,
        network: ingress.network,
        description: `${service.namespace}/${service.name}: health checks to the node port`,
        allows: [{ protocol: "tcp", ports: [String(service.ports[0].nodePort)] }],
        sourceRanges: GCP_NLB_HEALTH_CHECK_RANGES,
        targetTags: [ingress.workerTag],
      },
      parent,
    );
    this.addresses = address.address.apply((a) => [a]);
    this.healthCheckHost = address.address.apply((ip) => ({ ip }));
    this.registerOutputs({ addresses: this.addresses });
  }
}
