import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import { FederationConfig } from "../config/federation";
import { FederationPlan } from "../plan/federation-plan";
import { AwsServiceLoadBalancer } from "./aws-service-lb";
import { CloudDns } from "./clouddns-dns";
import { Endpoints } from "./endpoints";
import { GcpServiceLoadBalancer } from "./gcp-service-lb";
import { Route53Dns } from "./route53-dns";
import { ServiceCopy } from "./service-copy";

export interface FederationArgs {
  config: FederationConfig;
  plan: FederationPlan;
  /** Admin kubeconfig of each member, by stack name (secret). */
  kubeconfigs: Record<string, pulumi.Input<string>>;
}

/**
 * Services deployed once to every member: per member a Kubernetes provider and a
 * provider for its cloud; per service and member the Deployment, a NodePort Service
 * and a regional load balancer in front of it; then health-checked global DNS.
 */
export class Federation extends pulumi.ComponentResource {
  /** Public addresses of each service copy, by placement key. */
  public readonly endpoints: Endpoints = {};

  constructor(name: string, args: FederationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:federation:Federation", name, {}, opts);
    const { config, plan } = args;
    const parent = { parent: this };
    const providers = new Map<string, { k8s: k8s.Provider; cloud: pulumi.ProviderResource }>();
    for (const p of plan.placements) {
      const m = p.member;
      if (!providers.has(m.stack)) {
        const base = `${name}-${m.export.cluster}`;
        const kube = new k8s.Provider(`${base}-k8s`, { kubeconfig: args.kubeconfigs[m.stack], enableServerSideApply: true }, parent);
        const ingress = m.export.ingress;
        const cloud =
          ingress.cloud === "gcp"
            ? new gcp.Provider(`${base}-gcp`, { project: /\/projects\/([^/]+)\//.exec(ingress.network)?.[1], region: m.export.region }, parent)
            : new aws.Provider(`${base}-aws`, { region: m.export.region as aws.Region }, parent);
        providers.set(m.stack, { k8s: kube, cloud });
      }
      const { k8s: kube, cloud } = providers.get(m.stack)!;
      const ingress = m.export.ingress;
      const lb =
        ingress.cloud === "gcp"
          ? new GcpServiceLoadBalancer(p.key, { placement: p, ingress, region: m.export.region }, { parent: this, providers: [cloud] })
          : new AwsServiceLoadBalancer(p.key, { placement: p, ingress }, { parent: this, providers: [cloud] });
      this.endpoints[p.key] = { addresses: lb.addresses, healthCheckHost: lb.healthCheckHost };
      new ServiceCopy(p.key, { placement: p, externalIPs: ingress.cloud === "gcp" ? lb.addresses : undefined }, { parent: this, providers: [kube] });
    }
    const dnsArgs = { plan, config, endpoints: this.endpoints };
    if (config.dns.provider === "route53") new Route53Dns(`${name}-dns`, dnsArgs, parent);
    else new CloudDns(`${name}-dns`, dnsArgs, parent);
    this.registerOutputs({});
  }
}
