// The pure plan of a federation: which member runs which service, the DNS names at
// KubeFed's three levels, one health check per member endpoint. No Pulumi imports.
import { ConfigError, ConfigProblem } from "../config/validate";
import { FederatedService, FederationConfig } from "../config/federation";
import { NAMESPACE } from "../config/schema";
import { MemberExport } from "./member";

/**
 * Route 53 latency records name AWS regions; a GCP member is placed at the nearest
 * one. Cloud DNS geo policies name GCP regions; an AWS member is placed at the nearest.
 */
export const NEAREST_AWS_REGION: Record<string, string> = {
  "asia-east1": "ap-east-1",
  "asia-east2": "ap-east-1",
  "asia-northeast1": "ap-northeast-1",
  "asia-northeast2": "ap-northeast-3",
  "asia-northeast3": "ap-northeast-2",
  "asia-south1": "ap-south-1",
  "asia-southeast1": "ap-southeast-1",
  "australia-southeast1": "ap-southeast-2",
  "europe-north1": "eu-north-1",
  "europe-west1": "eu-west-3",
  "europe-west2": "eu-west-2",
  "europe-west3": "eu-central-1",
  "europe-west4": "eu-central-1",
  "europe-west6": "eu-central-2",
  "europe-west9": "eu-west-3",
  "northamerica-northeast1": "ca-central-1",
  "southamerica-east1": "sa-east-1",
  "us-central1": "us-east-2",
  "us-east1": "us-east-1",
  "us-east4": "us-east-1",
  "us-west1": "us-west-2",
  "us-west2": "us-west-1",
  "us-west4": "us-west-1",
};
export const NEAREST_GCP_REGION: Record<string, string> = {
  "ap-east-1": "asia-east2",
  "ap-northeast-1": "asia-northeast1",
  "ap-northeast-2": "asia-northeast3",
  "ap-northeast-3": "asia-northeast2",
  "ap-south-1": "asia-south1",
  "ap-southeast-1": "asia-southeast1",
  "ap-southeast-2": "australia-southeast1",
  "ca-central-1": "northamerica-northeast1",
  "eu-central-1": "europe-west3",
  "eu-central-2": "europe-west6",
  "eu-north-1": "europe-north1",
  "eu-west-1": "europe-west2",
  "eu-west-2": "europe-west2",
  "eu-west-3": "europe-west9",
  "sa-east-1": "southamerica-east1",
  "us-east-1": "us-east4",
  "us-east-2": "us-central1",
  "us-west-1": "us-west2",
  "us-west-2": "us-west1",
};

/** The cloud whose regions each DNS provider's latency or geo routing names, and the nearest of them to another cloud's region. */
const DNS_ROUTING: Record<FederationConfig["dns"]["provider"], { cloud: MemberExport["cloud"]; title: string; nearest: Record<string, string> }> = {
  route53: { cloud: "aws", title: "AWS", nearest: NEAREST_AWS_REGION },
  clouddns: { cloud: "gcp", title: "GCP", nearest: NEAREST_GCP_REGION },
};

export interface MemberInfo {
  /** Stack name as listed in kubeadm-ha:members. */
  stack: string;
  export: MemberExport;
}

/** One copy of one service in one member, behind that member's own load balancer. */
export interface Placement {
  /** Resource-name key, e.g. acme-nginx-eu (federation, service, member cluster). */
  key: string;
  service: FederatedService;
  member: MemberInfo;
  replicas: number;
}

export interface DnsTarget {
  placement: string;
  member: string;
  /** The member's cluster name (part of resource names). */
  cluster: string;
  /** Where latency (Route 53) or geo (Cloud DNS) routing places this target. */
  routingRegion: string;
}

export interface DnsRecordPlan {
  level: "global" | "region" | "zone";
  /** Fully qualified, with the trailing dot. */
  name: string;
  /** Resource-name key. */
  key: string;
  service: string;
  /** Resource-name key of the service in this federation, e.g. acme-nginx. */
  serviceKey: string;
  targets: DnsTarget[];
}

export interface HealthCheckPlan {
  key: string;
  serviceKey: string;
  placement: string;
  member: string;
  port: number;
  path: string;
}

export interface FederationPlan {
  name: string;
  domain: string;
  placements: Placement[];
  records: DnsRecordPlan[];
  healthChecks: HealthCheckPlan[];
  aliases: Array<{ key: string; name: string; target: string }>;
}

/** KubeFed's names: global, region and zone level. */
export function serviceDnsNames(fed: string, service: string, namespace: string, domain: string) {
  const base = `${service}.${namespace}.${fed}.svc`;
  return {
    global: `${base}.${domain}`,
    region: (region: string) => `${base}.${region}.${domain}`,
    zone: (zone: string, region: string) => `${base}.${zone}.${region}.${domain}`,
  };
}

export function planFederation(config: FederationConfig, members: MemberInfo[]): FederationPlan {
  const problems: ConfigProblem[] = [];
  const fed = config.federationName;
  const domain = config.dns.domain;
  const provider = config.dns.provider;
  const routing = DNS_ROUTING[provider];
  const routingRegion = (m: MemberExport): string | undefined => (m.cloud === routing.cloud ? m.region : routing.nearest[m.region]);
  members.forEach((m, i) => {
    if (!m.export.ingress.workerGroups.length)
      problems.push({ key: `${NAMESPACE}:members[${i}]`, message: `member ${m.stack} has no worker pools to run services on`, fix: "give the member stack a nodePools entry" });
    if (!routingRegion(m.export))
      problems.push({
        key: `${NAMESPACE}:members[${i}]`,
        message: `member ${m.stack} is in ${m.export.cloud} region ${m.export.region}, which has no nearest ${routing.title} region for ${provider} routing`,
        fix: "add the region to NEAREST_AWS_REGION / NEAREST_GCP_REGION in components/plan/federation-plan.ts",
      });
  });

  const placements: Placement[] = [];
  const records: DnsRecordPlan[] = [];
  const healthChecks: HealthCheckPlan[] = [];
  for (const service of config.services) {
    const names = serviceDnsNames(fed, service.name, service.namespace, domain);
    const svcKey = `${fed}-${service.name}${service.namespace === "default" ? "" : "-" + service.namespace}`;
    const mine = members
      .filter((m) => !service.overrides[m.stack]?.exclude)
      .map((member) => ({ key: `${svcKey}-${member.export.cluster}`, service, member, replicas: service.overrides[member.stack]?.replicas ?? service.replicas }));
    placements.push(...mine);
    const target = (p: Placement): DnsTarget => ({
      placement: p.key,
      member: p.member.stack,
      cluster: p.member.export.cluster,
      routingRegion: routingRegion(p.member.export) ?? "",
    });
    for (const p of mine)
      healthChecks.push({ key: `${p.key}-health`, serviceKey: svcKey, placement: p.key, member: p.member.stack, port: service.ports[0].port, path: service.healthCheckPath });
    records.push({ level: "global", name: names.global, key: `${svcKey}-global`, service: service.name, serviceKey: svcKey, targets: mine.map(target) });
    for (const region of [...new Set(mine.map((p) => p.member.export.region))].sort()) {
      records.push({
        level: "region",
        name: names.region(region),
        key: `${svcKey}-${region}`,
        service: service.name,
        serviceKey: svcKey,
        targets: mine.filter((p) => p.member.export.region === region).map(target),
      });
    }
    const zones = [...new Set(mine.flatMap((p) => p.member.export.zones.map((z) => `${z}|${p.member.export.region}`)))].sort();
    for (const zr of zones) {
      const [zone, region] = zr.split("|");
      records.push({
        level: "zone",
        name: names.zone(zone, region),
        key: `${svcKey}-${zone}`,
        service: service.name,
        serviceKey: svcKey,
        targets: mine.filter((p) => p.member.export.zones.includes(zone)).map(target),
      });
    }
  }

  const aliases = config.aliases.map((a, i) => {
    const names = serviceDnsNames(fed, a.service, a.namespace, domain);
    const name = a.name.endsWith(".") ? a.name : a.name + ".";
    if (a.region && !records.some((r) => r.name === names.region(a.region!))) {
      problems.push({
        key: `${NAMESPACE}:aliases[${i}].region`,
        message: `no member runs ${a.namespace}/${a.service} in region ${JSON.stringify(a.region)}`,
        fix: `use a region of a member: ${[...new Set(members.map((m) => m.export.region))].join(", ")}`,
      });
    }
    return { key: `${fed}-alias-${name.replace(/\.$/, "").replace(/[^a-z0-9]+/g, "-")}`, name, target: a.region ? names.region(a.region) : names.global };
  });
  if (problems.length) throw new ConfigError(problems);
  return { name: fed, domain, placements, records, healthChecks, aliases };
}
