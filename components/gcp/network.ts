import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { ClusterPlan } from "../plan/cluster-plan";
import { firewallRules, networkTag } from "../plan/platforms/gcp-resources";

export interface GcpNetworkArgs {
  plan: ClusterPlan;
}

/** Custom-mode VPC, one subnet, Cloud Router + NAT for egress, least-privilege firewall. */
export class GcpNetwork extends pulumi.ComponentResource {
  public readonly network: gcp.compute.Network;
  public readonly subnet: gcp.compute.Subnetwork;
  public readonly nat: gcp.compute.RouterNat;
  public readonly firewalls: gcp.compute.Firewall[];

  constructor(name: string, args: GcpNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:gcp:Network", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };

    this.network = new gcp.compute.Network(`${name}-vpc`, { name: `${name}-vpc`, autoCreateSubnetworks: false, routingMode: "REGIONAL" }, parent);
    this.subnet = new gcp.compute.Subnetwork(
      `${name}-nodes`,
      { name: `${name}-nodes`, region: plan.region, network: this.network.id, ipCidrRange: plan.config.network.nodeCidr, privateIpGoogleAccess: true },
      parent,
    );
    const router = new gcp.compute.Router(`${name}-router`, { name: `${name}-router`, region: plan.region, network: this.network.id }, parent);
    this.nat = new gcp.compute.RouterNat(
      `${name}-nat`,
      {
        name: `${name}-nat`,
        region: plan.region,
        router: router.name,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
        subnetworks: [{ name: this.subnet.id, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      },
      parent,
    );
    this.firewalls = firewallRules(plan).map(
      (r) =>
        new gcp.compute.Firewall(
          `${name}-${r.suffix}`,
          {
            name: `${name}-${r.suffix}`,
            network: this.network.id,
            description: r.description,
            direction: "INGRESS",
            allows: r.allow.map((a) => ({ protocol: a.protocol, ports: a.ports })),
            sourceRanges: r.from.cidrs,
            sourceTags: r.from.roles?.map((role) => networkTag(plan, role)),
            targetTags: r.to.map((role) => networkTag(plan, role)),
          },
          parent,
        ),
    );
    this.registerOutputs({ network: this.network.id, subnet: this.subnet.id });
  }
}
