// The stack config of a federation (`kubeadm-ha:layout: federation`): members,
// services and global DNS. Same error discipline as a cluster: every problem at
// once, naming the key, the value and the fix. Pure: no Pulumi imports.
import { z } from "zod";
import { ConfigError, ConfigProblem, fromRawConfig, hintFor } from "./validate";
import { keyOf, NAMESPACE } from "./schema";
import { rulesNamed } from "./platforms";

/** TTL of the federation's DNS records when none is given, seconds. */
export const DEFAULT_DNS_TTL = 30;
/** Route 53 "fast" health checks: every 10 s; Cloud DNS health checks use the same interval. */
export const DEFAULT_DNS_CHECK_INTERVAL_S = 10;
/** Consecutive failures before an endpoint drops out of DNS. */
export const DEFAULT_DNS_FAILURE_THRESHOLD = 3;

const dns1123 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const serviceSchema = z
  .object({
    /** Service and Deployment name; part of every DNS name. */
    name: z.string().regex(dns1123, "must be lower-case letters, digits and '-'").max(16),
    /** @default "default" */
    namespace: z.string().regex(dns1123, "must be lower-case letters, digits and '-'").max(40).default("default"),
    image: z.string().min(1),
    /** Replicas in every member. @default 2 */
    replicas: z.number().int().min(1).default(2),
    /** Ports clients use; each is a fixed NodePort on every member, behind that member's load balancer. */
    ports: z.array(z.object({ port: z.number().int().min(1).max(65535), nodePort: z.number().int().min(30000).max(32767) }).strict()).min(1),
    /** HTTP path that answers 200 when the copy is healthy; DNS health checks probe it. Required. */
    healthCheckPath: z.string({ error: "is required: DNS drops a member whose copy fails it" }).regex(/^\//, "must start with /"),
    /** Per member (by stack name): other replicas, or exclusion. @default {} */
    overrides: z.record(z.string(), z.object({ replicas: z.number().int().min(1).optional(), exclude: z.boolean().optional() }).strict()).default({}),
  })
  .strict();

export const federationConfigSchema = z
  .object({
    layout: z.literal("federation"),
    /** Federation name: part of every DNS name. @default the stack name */
    federationName: z.string().regex(dns1123, "must be lower-case letters, digits and '-'").max(12).optional(),
    /** Member cluster stacks: `stack`, `project/stack` or `org/project/stack`. */
    members: z
      .array(z.object({ stack: z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/, "must be a stack name such as fed-europe-west1 or org/project/stack") }).strict())
      .min(1),
    dns: z
      .object({
        /** Where the records live. */
        provider: z.enum(["route53", "clouddns"]),
        /** The DNS zone's domain, e.g. `acme.com.` (Cloud DNS needs the trailing dot). */
        domain: z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}\.?$/, "must be a domain such as acme.com (a trailing dot is allowed)"),
        /** Cloud DNS: name of the existing managed zone for `domain`. */
        managedZone: z.string().regex(dns1123).optional(),
        /** @default DEFAULT_DNS_TTL */
        ttl: z.number().int().min(5).max(86400).default(DEFAULT_DNS_TTL),
        healthCheck: z
          .object({
            /** Route 53 allows 10 or 30. @default DEFAULT_DNS_CHECK_INTERVAL_S */
            intervalSeconds: z
              .union([z.literal(10), z.literal(30)], { error: "must be 10 or 30, the intervals Route 53 health checks offer" })
              .default(DEFAULT_DNS_CHECK_INTERVAL_S),
            /** @default DEFAULT_DNS_FAILURE_THRESHOLD */
            failureThreshold: z.number().int().min(1).max(10).default(DEFAULT_DNS_FAILURE_THRESHOLD),
          })
          .strict()
          .default({ intervalSeconds: DEFAULT_DNS_CHECK_INTERVAL_S, failureThreshold: DEFAULT_DNS_FAILURE_THRESHOLD }),
      })
      .strict(),
    services: z.array(serviceSchema).min(1),
    /** Short names: a CNAME to a service's region (or global) record, e.g. eu.nginx.acme.com. */
    aliases: z
      .array(
        z
          .object({
            name: z.string().regex(/^([a-z0-9*]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}\.?$/, "must be a DNS name"),
            service: z.string(),
            namespace: z.string().default("default"),
            region: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type FederationConfig = Omit<z.output<typeof federationConfigSchema>, "federationName"> & { federationName: string };
export type FederatedService = z.output<typeof serviceSchema>;

const HINTS: Record<string, string> = {
  federationName: "use up to 12 lower-case letters, digits and '-', e.g. acme",
  members: "list member cluster stacks, e.g. [{stack: fed-europe-west1}, {stack: fed-us-east1}]",
  dns: "set dns.provider (route53 or clouddns), dns.domain (e.g. acme.com) and dns.healthCheck.intervalSeconds 10 or 30",
  services: "see the federation section of README.md",
  "services.ports.nodePort": "use a nodePort in Kubernetes' NodePort range 30000-32767, one per port of every service, e.g. 30080",
  "services.ports.port": "use the port clients connect to, 1-65535, e.g. 80",
  "services.healthCheckPath": "set it to an HTTP path that answers 200 while the copy is healthy, e.g. /healthz",
  aliases: "e.g. {name: eu.nginx.acme.com., service: nginx, region: europe-west1}",
};

/** True when the stack config says it is a federation. */
export function isFederation(all: Record<string, string>): boolean {
  return fromRawConfig(all).layout === "federation";
}

export function validateFederationConfig(raw: Record<string, unknown>, stackName: string): FederationConfig {
  const problems: ConfigProblem[] = [];
  const add = (path: PropertyKey[], message: string, fix: string) => problems.push({ key: keyOf(path), message, fix });
  const parsed = federationConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) add([...issue.path, k], "unknown key", "remove it or check its spelling; known keys are listed in README.md");
        continue;
      }
      let v: unknown = raw;
      for (const p of issue.path) v = v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p as string] : undefined;
      add(issue.path, `${issue.message} (got ${v === undefined ? "(missing)" : JSON.stringify(v)})`, hintFor(HINTS, issue.path, "see README.md"));
    }
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  const federationName = c.federationName ?? stackName;
  if (!dns1123.test(federationName) || federationName.length > 12)
    add(
      ["federationName"],
      `the federation name defaults to the stack name ${JSON.stringify(stackName)}, which is not a valid name (up to 12 lower-case letters, digits and '-')`,
      "set kubeadm-ha:federationName, e.g. acme",
    );

  const seen = new Set<string>();
  c.members.forEach((m, i) => {
    if (seen.has(m.stack)) add(["members", i, "stack"], `member ${JSON.stringify(m.stack)} is listed twice`, "list each member stack once");
    seen.add(m.stack);
    if (m.stack === stackName || (m.stack.endsWith(`/${stackName}`) && m.stack.split("/").length === 2)) {
      add(
        ["members", i, "stack"],
        `${JSON.stringify(m.stack)} is this federation itself: a federation's members are cluster stacks`,
        "name the cluster stacks it spreads over, e.g. fed-europe-west1",
      );
    }
  });

  if (c.dns.provider === "clouddns") {
    if (!c.dns.domain.endsWith("."))
      add(["dns", "domain"], `${JSON.stringify(c.dns.domain)} has no trailing dot; Cloud DNS names are fully qualified`, `write ${JSON.stringify(c.dns.domain + ".")}`);
    if (!c.dns.managedZone)
      add(["dns", "managedZone"], "Cloud DNS needs the managed zone that holds dns.domain (missing)", "set dns.managedZone to the zone's name, e.g. acme-com");
  } else if (c.dns.managedZone) add(["dns", "managedZone"], "managedZone is for Cloud DNS; Route 53 finds the hosted zone by dns.domain", "remove dns.managedZone");

  const names = new Set<string>();
  const nodePorts = new Map<number, string>();
  c.services.forEach((s, i) => {
    const id = `${s.namespace}/${s.name}`;
    if (names.has(id)) add(["services", i, "name"], `service ${id} is declared twice`, "declare each service once");
    names.add(id);
    s.ports.forEach((p, j) => {
      const other = nodePorts.get(p.nodePort);
      if (other) add(["services", i, "ports", j, "nodePort"], `nodePort ${p.nodePort} is already used by ${other}`, "give every port of every service its own nodePort");
      nodePorts.set(p.nodePort, id);
    });
    for (const member of Object.keys(s.overrides)) {
      if (!seen.has(member)) add(["services", i, "overrides", member], `${JSON.stringify(member)} is not a member`, `use one of ${[...seen].join(", ")}`);
    }
    if (c.members.every((m) => s.overrides[m.stack]?.exclude))
      add(["services", i, "overrides"], `service ${id} is excluded from every member`, "keep it in at least one member, or remove the service");
  });
  c.aliases.forEach((a, i) => {
    if (!names.has(`${a.namespace}/${a.service}`))
      add(["aliases", i, "service"], `${JSON.stringify(`${a.namespace}/${a.service}`)} is not a federated service`, "name a service from kubeadm-ha:services");
    if (c.dns.provider === "clouddns" && !a.name.endsWith("."))
      add(["aliases", i, "name"], `${JSON.stringify(a.name)} has no trailing dot; Cloud DNS names are fully qualified`, `write ${JSON.stringify(a.name + ".")}`);
    const fqdn = (n: string) => (n.endsWith(".") ? n : `${n}.`).toLowerCase();
    const domain = fqdn(c.dns.domain);
    if (!fqdn(a.name).endsWith(`.${domain}`))
      add(
        ["aliases", i, "name"],
        `${JSON.stringify(a.name)} is outside dns.domain ${JSON.stringify(c.dns.domain)}: the federation's zone cannot hold it`,
        `use a name under ${domain}, e.g. ${JSON.stringify(`${a.service}.${domain}`)}`,
      );
  });
  if (problems.length) throw new ConfigError(problems);
  return { ...c, federationName, dns: { ...c.dns, domain: c.dns.domain.endsWith(".") ? c.dns.domain : c.dns.domain + "." } };
}

/** What a member stack is, as far as a federation can tell before using it. */
export type MemberKind = { layout: "federation" } | { layout: "cluster"; platform: string } | { layout: "unknown" };

/**
 * Members that cannot be members: another federation, or a cluster on hosts you own (no
 * cloud load balancer for the federation's global DNS to send traffic to). Checked before
 * any member is read for its outputs or rendered.
 */
export function memberKindProblems(members: string[], kindOf: (stack: string) => MemberKind): ConfigProblem[] {
  return members.flatMap((stack, i): ConfigProblem[] => {
    const kind = kindOf(stack);
    const key = `${NAMESPACE}:members[${i}].stack`;
    if (kind.layout === "federation")
      return [{ key, message: `${JSON.stringify(stack)} is a federation, not a cluster: federations do not nest`, fix: "list the cluster stacks of that federation here instead" }];
    if (kind.layout === "cluster" && rulesNamed(kind.platform)?.makesMachines === false) {
      return [
        {
          key,
          message: `${JSON.stringify(stack)} is a cluster on hosts you own: it has no cloud load balancer for the federation's health-checked DNS`,
          fix: "name GCP or AWS cluster stacks (platform gcp or aws)",
        },
      ];
    }
    return [];
  });
}
