// What the DNS components need to know of each service copy's load balancer.
import * as pulumi from "@pulumi/pulumi";

export interface Endpoint {
  /** Public addresses of the copy's load balancer. */
  addresses: pulumi.Output<string[]>;
  /** What a DNS health check probes: the address (GCP) or the NLB's name (AWS). */
  healthCheckHost: pulumi.Output<{ ip?: string; fqdn?: string }>;
}

export type Endpoints = Record<string, Endpoint>;
