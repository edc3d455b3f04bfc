// What the DNS components need to know of each service copy's load balancer.
import * as pulumi from "@pulumi/pulumi";
import { FederationConfig } from "../config/federation";
import { FederationPlan, Placement } from "../plan/federation-plan";

export interface Endpoint {
  /** Public addresses of the copy's load balancer. */
  addresses: pulumi.Output<string[]>;
  /** What a DNS health check probes: the address (GCP) or the NLB's name (AWS). */
  healthCheckHost: pulumi.Output<{ ip?: string; fqdn?: string }>;
}

export type Endpoints = Record<string, Endpoint>;

/** What each global DNS component is given. */
export interface GlobalDnsArgs {
  plan: FederationPlan;
  config: FederationConfig;
  endpoints: Endpoints;
}

/** What each cloud's service load balancer is given: one service copy, and where its member's workers are. */
export interface ServiceLoadBalancerArgs<I> {
  placement: Placement;
  ingress: I;
}
