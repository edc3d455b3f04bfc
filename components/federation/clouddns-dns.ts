import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { GlobalDnsArgs } from "./endpoints";

/** Cloud DNS health checks for external endpoints probe from three source regions. */
export const CLOUD_DNS_CHECK_REGIONS = ["us-central1", "europe-west1", "asia-east1"];

/**
 * Cloud DNS: global names with a geo policy (each member at its region), region and
 * zone names with equal-weight policies; every target is an external endpoint probed
 * by the service's health check (Cloud DNS takes one health check per record set,
 * which probes each endpoint on its own), so an unhealthy member drops out.
 */
export class CloudDns extends pulumi.ComponentResource {
  constructor(name: string, args: GlobalDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:federation:CloudDns", name, {}, opts);
    const { plan, config, endpoints } = args;
    const parent = { parent: this };
    const managedZone = config.dns.managedZone!;
    const checks: Record<string, gcp.compute.HealthCheck> = {};
    for (const hc of plan.healthChecks) {
      checks[hc.serviceKey] ??= new gcp.compute.HealthCheck(
        `${hc.serviceKey}-health`,
        {
          name: `${hc.serviceKey}-health`,
          checkIntervalSec: config.dns.healthCheck.intervalSeconds,
          timeoutSec: 5,
          unhealthyThreshold: config.dns.healthCheck.failureThreshold,
          healthyThreshold: 2,
          sourceRegions: CLOUD_DNS_CHECK_REGIONS,
          httpHealthCheck: { port: hc.port, requestPath: hc.path },
        },
        parent,
      );
    }
    for (const record of plan.records) {
      const targets = (regionOf: (r: string) => string) =>
        [...new Set(record.targets.map((t) => regionOf(t.routingRegion)))].map((key) => ({
          key,
          endpoints: pulumi.all(record.targets.filter((t) => regionOf(t.routingRegion) === key).map((t) => endpoints[t.placement].addresses)).apply((a) => a.flat()),
        }));
      const routingPolicy =
        record.level === "global"
          ? { geos: targets((r) => r).map((t) => ({ location: t.key, healthCheckedTargets: { externalEndpoints: t.endpoints } })), healthCheck: checks[record.serviceKey].id }
          : {
              wrrs: record.targets.map((t) => ({ weight: 1, healthCheckedTargets: { externalEndpoints: endpoints[t.placement].addresses } })),
              healthCheck: checks[record.serviceKey].id,
            };
      new gcp.dns.RecordSet(record.key, { managedZone, name: record.name, type: "A", ttl: config.dns.ttl, routingPolicy }, parent);
    }
    for (const a of plan.aliases) new gcp.dns.RecordSet(a.key, { managedZone, name: a.name, type: "CNAME", ttl: config.dns.ttl, rrdatas: [a.target] }, parent);
    this.registerOutputs({});
  }
}
