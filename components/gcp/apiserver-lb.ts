import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { ClusterPlan } from "../plan/cluster-plan";
import { APISERVER_HEALTH_CHECK } from "../plan/endpoint-checks";
import { GCP_TYPES } from "../plan/platforms/gcp-resources";

export interface GcpApiServerLoadBalancerArgs {
  plan: ClusterPlan;
  network: pulumi.Input<string>;
  subnet: pulumi.Input<string>;
  /** The masters' zonal instance groups. */
  groups: pulumi.Input<string>[];
}

/**
 * Internal passthrough TCP load balancer in front of every apiserver: regional
 * backend service (INTERNAL, TCP, CONNECTION) with an HTTPS /readyz health check,
 * and a forwarding rule on 6443 at a reserved internal address. A second forwarding
 * rule sends SSH (port 22, from the bastion) to a master whose apiserver is ready: the
 * steps that need any one healthy master connect there.
 */
export class GcpApiServerLoadBalancer extends pulumi.ComponentResource {
  /** Internal address whose port 22 reaches a healthy master. */
  public readonly sshAddress: pulumi.Output<string>;
  constructor(name: string, args: GcpApiServerLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(GCP_TYPES.apiserverLb, name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    const hc = APISERVER_HEALTH_CHECK;

    const address = new gcp.compute.Address(
      `${name}-ip`,
      { name: `${name}-ip`, region: plan.region, addressType: "INTERNAL", subnetwork: args.subnet, address: plan.endpoint.addresses[0], purpose: "GCE_ENDPOINT" },
      parent,
    );
    const healthCheck = new gcp.compute.RegionHealthCheck(
      `${name}-readyz`,
      {
        name: `${name}-readyz`,
        region: plan.region,
        checkIntervalSec: hc.checkIntervalSec,
        timeoutSec: hc.timeoutSec,
        healthyThreshold: hc.healthyThreshold,
        unhealthyThreshold: hc.unhealthyThreshold,
        httpsHealthCheck: { port: plan.endpoint.port, requestPath: hc.path },
        logConfig: { enable: true },
      },
      parent,
    );
    const backendService = new gcp.compute.RegionBackendService(
      `${name}-backend`,
      {
        name: `${name}-backend`,
        region: plan.region,
        loadBalancingScheme: "INTERNAL",
        protocol: "TCP",
        healthChecks: healthCheck.id,
        connectionDrainingTimeoutSec: 10,
        backends: args.groups.map((group) => ({ group, balancingMode: "CONNECTION" })),
      },
      parent,
    );
    new gcp.compute.ForwardingRule(
      `${name}-rule`,
      {
        name: `${name}-rule`,
        region: plan.region,
        loadBalancingScheme: "INTERNAL",
        ipProtocol: "TCP",
        ports: [String(plan.endpoint.port)],
        ipAddress: address.address,
        backendService: backendService.id,
        network: args.network,
        subnetwork: args.subnet,
      },
      parent,
    );
    // Its own rule at an address GCP picks: changing the apiserver rule's ports would replace it.
    const ssh = new gcp.compute.ForwardingRule(
      `${name}-ssh-rule`,
      {
        name: `${name}-ssh-rule`,
        region: plan.region,
        loadBalancingScheme: "INTERNAL",
        ipProtocol: "TCP",
        ports: ["22"],
        backendService: backendService.id,
        network: args.network,
        subnetwork: args.subnet,
      },
      parent,
    );
    this.sshAddress = ssh.ipAddress;
    this.registerOutputs({ address: address.address, sshAddress: this.sshAddress });
  }
}
