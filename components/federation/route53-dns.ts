import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { GlobalDnsArgs } from "./endpoints";

/**
 * Route 53: one health check per member endpoint; global names as latency records,
 * region and zone names as equal-weight records, each answer tied to its member's
 * health check so an unhealthy member drops out without anyone acting.
 */
export class Route53Dns extends pulumi.ComponentResource {
  constructor(name: string, args: GlobalDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:federation:Route53Dns", name, {}, opts);
    const { plan, config, endpoints } = args;
    const parent = { parent: this };
    const zone = aws.route53.getZoneOutput({ name: config.dns.domain, privateZone: false }, parent);
    const checks: Record<string, aws.route53.HealthCheck> = {};
    for (const hc of plan.healthChecks) {
      const host = endpoints[hc.placement].healthCheckHost;
      checks[hc.placement] = new aws.route53.HealthCheck(
        hc.key,
        {
          type: "HTTP",
          ipAddress: host.apply((h) => h.ip),
          fqdn: host.apply((h) => h.fqdn),
          port: hc.port,
          resourcePath: hc.path,
          requestInterval: config.dns.healthCheck.intervalSeconds,
          failureThreshold: config.dns.healthCheck.failureThreshold,
          tags: { Name: hc.key, "kubeadm-ha/member": hc.member },
        },
        parent,
      );
    }
    for (const record of plan.records) {
      for (const t of record.targets) {
        const routing = record.level === "global" ? { latencyRoutingPolicies: [{ region: t.routingRegion }] } : { weightedRoutingPolicies: [{ weight: 1 }] };
        new aws.route53.Record(
          `${record.key}-${t.cluster}`,
          {
            zoneId: zone.zoneId,
            name: record.name,
            type: "A",
            ttl: config.dns.ttl,
            records: endpoints[t.placement].addresses,
            setIdentifier: t.member,
            healthCheckId: checks[t.placement].id,
            ...routing,
          },
          parent,
        );
      }
    }
    for (const a of plan.aliases) new aws.route53.Record(a.key, { zoneId: zone.zoneId, name: a.name, type: "CNAME", ttl: config.dns.ttl, records: [a.target] }, parent);
    this.registerOutputs({});
  }
}
