// The picture of a stack (render output `topology.dot` / `topology.svg`): zones (or
// regions) as boxes, masters with their etcd members, the apiserver endpoint, worker
// pools with their sizes; for a federation, its members and DNS names. Built from the
// same pure plan the program builds from; `dot` (Graphviz, Debian) draws the SVG.
import { execFileSync } from "child_process";
import { ClusterPlan, planCluster } from "../components/plan/cluster-plan";
import { fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { LOCAL_PROXY_PORT, VIP_PROXY_PORT } from "../components/plan/onprem-endpoint";
import { PLATFORM_PLANS } from "../components/plan/platforms";

/** A DOT string literal. */
const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
const id = (...parts: string[]) => q(parts.join(":"));
const sized = (n: number) => `${n} node${n === 1 ? "" : "s"}`;

const STYLE = [
  "  graph [fontname=Helvetica, fontsize=11, rankdir=TB, nodesep=0.3, ranksep=0.5, compound=true];",
  '  node [fontname=Helvetica, fontsize=10, shape=box, style="rounded,filled", fillcolor=white];',
  '  edge [fontname=Helvetica, fontsize=9, color="#555555"];',
];

/** What fronts kube-apiserver, as one line of the endpoint node. */
export function endpointLabel(plan: ClusterPlan): string {
  const { mode, vip } = plan.config.endpoint;
  if (mode === "vip") return `keepalived VIP ${vip}\nhaproxy :${VIP_PROXY_PORT} on every master\n${plan.endpoint.hostPort}`;
  if (mode === "local-proxy") return `haproxy 127.0.0.1:${LOCAL_PROXY_PORT} on every node\nto all masters\n${plan.endpoint.hostPort}`;
  const lb = PLATFORM_PLANS[plan.config.platform].loadBalancer?.title ?? "load balancer";
  const at = plan.endpoint.addresses.map((a) => `${a}:${plan.endpoint.port}`);
  const where = at.length === 1 ? `${lb} ${at[0]}` : `${lb}, one address per zone\n${at.join("\n")}`;
  return `${where}\nhealth check HTTPS /readyz\n${plan.endpoint.hostPort}`;
}

/** DOT of one cluster: a box per zone with its masters (and etcd members) and pool groups. */
export function clusterDot(stack: string, plan: ClusterPlan): string {
  const lines = ["digraph topology {", ...STYLE];
  const picture = PLATFORM_PLANS[plan.config.platform].picture;
  const where = picture.where(plan.region);
  const external = plan.etcd.topology === "external";
  const etcd = external ? `external etcd (${plan.etcd.members.length} members)` : "stacked etcd";
  const ha = plan.config.controlPlane.highAvailability
    ? `${plan.masters.length} masters, ${etcd}`
    : `${plan.masters.length} master(s), NOT HA (declared)${external ? `, ${etcd}` : ""}`;
  lines.push(`  label=${q(`stack ${stack}: cluster ${plan.name} (${where}), ${ha}`)}; labelloc=t;`);
  lines.push(`  ${id("endpoint")} [label=${q(endpointLabel(plan))}, shape=box, fillcolor="#dbeafe"];`);
  const bastion = picture.bastion(plan);
  if (bastion !== undefined) {
    lines.push(`  ${id("bastion")} [label=${q(`bastion ${bastion}`)}, fillcolor="#f3f4f6"];`);
  }
  const zones = [
    ...new Set([
      ...plan.masters.map((m) => m.zone),
      ...plan.etcd.members.map((m) => m.zone),
      ...plan.pools.flatMap((p) => p.zones.map((z) => z.zone)),
      ...plan.staticWorkers.map((w) => w.zone),
    ]),
  ];
  for (const zone of zones) {
    lines.push(`  subgraph ${q(`cluster_${zone}`)} {`, `    label=${q(`${picture.failureDomain} ${zone}`)}; style="rounded"; color="#94a3b8";`);
    for (const m of plan.masters.filter((x) => x.zone === zone)) {
      lines.push(
        `    ${id("master", m.name)} [label=${q(`${m.name}\n${m.ip}\napiserver, scheduler, controller-manager${m.index === 0 ? "\nkubeadm init" : `\njoins after ${plan.masters[m.index - 1].name}`}`)}, fillcolor="#fef3c7"];`,
      );
      if (external) continue;
      lines.push(`    ${id("etcd", m.name)} [label=${q(`etcd member\n${m.name}`)}, shape=cylinder, fillcolor="#fde68a"];`);
      lines.push(`    ${id("master", m.name)} -> ${id("etcd", m.name)} [arrowhead=none, style=dashed];`);
    }
    // An external etcd: its machines apart from the masters, each in its own zone.
    for (const e of plan.etcd.members.filter((x) => x.zone === zone)) {
      lines.push(
        `    ${id("etcd", e.name)} [label=${q(`etcd member\n${e.name}\n${e.ip}${e.index === 0 ? "" : `\njoins after ${plan.etcd.members[e.index - 1].name}`}`)}, shape=cylinder, fillcolor="#fde68a"];`,
      );
    }
    for (const p of plan.pools) {
      for (const z of p.zones.filter((x) => x.zone === zone)) {
        lines.push(`    ${id("pool", z.name)} [label=${q(`${z.name}\n${sized(z.nodesPerZone)} (${z.minPerZone}..${z.maxPerZone})\n${p.pool.machineType}`)}, fillcolor="#dcfce7"];`);
      }
    }
    for (const w of plan.staticWorkers.filter((x) => x.zone === zone))
      lines.push(`    ${id("worker", w.name)} [label=${q(`${w.name}\n${w.address}\nworker`)}, fillcolor="#dcfce7"];`);
    lines.push("  }");
  }
  for (const m of plan.masters) lines.push(`  ${id("endpoint")} -> ${id("master", m.name)} [label=":${plan.endpoint.port}"];`);
  // etcd peers: a ring drawn once, without pulling the layout around.
  const peers = external ? plan.etcd.members.map((e) => e.name) : plan.masters.map((m) => m.name);
  for (const [i, m] of peers.entries()) {
    const next = peers[(i + 1) % peers.length];
    if (next !== m && (i < peers.length - 1 || peers.length > 2))
      lines.push(`  ${id("etcd", m)} -> ${id("etcd", next)} [dir=both, color="#d97706", constraint=false${i === 0 ? ', label="raft"' : ""}];`);
  }
  // External: every apiserver is a client of every member.
  if (external) {
    for (const m of plan.masters) {
      for (const [j, e] of plan.etcd.members.entries())
        lines.push(
          `  ${id("master", m.name)} -> ${id("etcd", e.name)} [style=dashed, color="#64748b", constraint=false${m.index === 0 && j === 0 ? ', label="etcd client :2379"' : ""}];`,
        );
    }
  }
  const workers = [...plan.pools.flatMap((p) => p.zones.map((z) => id("pool", z.name))), ...plan.staticWorkers.map((w) => id("worker", w.name))];
  for (const w of workers) lines.push(`  ${w} -> ${id("endpoint")} [style=dotted, arrowhead=open, constraint=false];`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** The plan of a cluster stack from its config map (`ns:key` -> value), through the program's own validation. */
export function planOfConfig(stack: string, config: Record<string, string>): ClusterPlan {
  return planCluster(validateClusterConfig(fromRawConfig(config), stack, config));
}

/** The DOT of a cluster stack from its config map: what the render writes as topology.dot. */
export function clusterDotOfConfig(stack: string, config: Record<string, string>): string {
  return clusterDot(stack, planOfConfig(stack, config));
}

export interface FederationView {
  members: Array<{ stack: string; cluster: string; cloud: string; region: string }>;
  dnsNames: Array<{ name: string; level: string; members: string[] }>;
}

/** DOT of a federation: a box per region with its member cluster; DNS names pointing at members. */
export function federationDot(stack: string, fed: FederationView): string {
  const lines = ["digraph topology {", ...STYLE, `  rankdir=LR;`, `  label=${q(`stack ${stack}: federation of ${fed.members.length} clusters`)}; labelloc=t;`];
  for (const m of fed.members) {
    lines.push(`  subgraph ${q(`cluster_${m.region}`)} {`, `    label=${q(`${m.cloud.toUpperCase()} region ${m.region}`)}; style="rounded"; color="#94a3b8";`);
    lines.push(`    ${id("member", m.stack)} [label=${q(`cluster ${m.cluster}\nstack ${m.stack}`)}, fillcolor="#fef3c7"];`, "  }");
  }
  const fill: Record<string, string> = { global: "#dbeafe", region: "#e0e7ff", zone: "#f3f4f6" };
  for (const d of fed.dnsNames) {
    lines.push(`  ${id("dns", d.name)} [label=${q(`${d.level}: ${d.name}`)}, shape=note, fillcolor=${q(fill[d.level] ?? "white")}];`);
    for (const m of d.members) lines.push(`  ${id("dns", d.name)} -> ${id("member", m)}${d.level === "global" ? "" : " [style=dashed]"};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** `dot` is missing or refused the DOT text. */
export class DrawError extends Error {}

/** Graphviz's SVG of a DOT text. */
export function drawSvg(dot: string): string {
  try {
    return execFileSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") throw new DrawError("Graphviz's dot is not installed: run ./setup.sh (it installs the apt package graphviz)");
    throw new DrawError(`dot could not draw the topology: ${err.stderr ?? err.message}`);
  }
}
