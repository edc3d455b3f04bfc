// The stack's picture (topology.dot / topology.svg): zones as boxes with their masters,
// etcd members and pools, the endpoint, and for a federation its members and DNS names.
// Graphviz's real `dot` draws every one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import { clusterDotOf } from "../render/topology-docs";
import { clusterDotOfConfig, DrawError, drawSvg, endpointLabel, federationDot, planOfConfig } from "../render/topology";
import { readStackFile } from "../render/render";
import { renderInChild, renderOnce, ROOT, SHIPPED_STACKS, tempDir } from "./helpers";

const configOf = (s: string) => readStackFile(join(ROOT, "stacks"), s).config;
const CLUSTERS = SHIPPED_STACKS.filter((s) => configOf(s)["kubeadm-ha:layout"] !== "federation");
/** A label as DOT writes it. */
const dotText = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The text an SVG shows, entities decoded (Graphviz writes '-' as &#45;). */
function svgText(svg: string): string {
  const decode = (t: string) =>
    t
      .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, "&");
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => decode(m[1])).join("\n");
}

/** Graphviz draws it: well-formed SVG holding every given text. */
function assertDrawn(dot: string, texts: string[]) {
  const svg = drawSvg(dot);
  assert.match(svg, /^<\?xml[^>]*>\s*<!DOCTYPE svg[\s\S]*<svg [\s\S]*<\/svg>\s*$/);
  const shown = svgText(svg);
  for (const t of texts) assert.ok(shown.includes(t), `the SVG should show ${JSON.stringify(t)}`);
}

/** The statements of each zone box (`subgraph "cluster_<zone>"`), by zone. */
function boxes(dot: string): Map<string, string> {
  return new Map([...dot.matchAll(/^ {2}subgraph "cluster_([^"]+)" \{\n([\s\S]*?)^ {2}\}$/gm)].map((m) => [m[1], m[2]]));
}

test("the default stack's picture shows three zones, each with its master, etcd member and pool group", () => {
  const dot = clusterDotOf("gcp-three-zone");
  const zones = boxes(dot);
  assert.deepEqual([...zones.keys()], ["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
  for (const [i, z] of ["b", "c", "d"].entries()) {
    const box = zones.get(`europe-west1-${z}`)!;
    assert.match(box, new RegExp(`"master:prod-master-${i}" \\[label="prod-master-${i}\\\\n10\\.10\\.0\\.1${i}\\\\n`));
    assert.match(box, new RegExp(`"etcd:prod-master-${i}" \\[label="etcd member\\\\nprod-master-${i}"`));
    assert.match(box, new RegExp(`"pool:prod-general-${z}" \\[label="prod-general-${z}\\\\n3 nodes \\(1\\.\\.5\\)`));
  }
  assert.match(dot, /internal passthrough LB 10\.10\.0\.5:6443\\nhealth check HTTPS \/readyz/);
  assert.match(dot, /"bastion" \[label="bastion prod-bastion 10\.10\.0\.6/);
  assertDrawn(dot, ["zone europe-west1-b", "prod-master-2", "etcd member", "internal passthrough LB 10.10.0.5:6443", "3 nodes (1..5)", "bastion prod-bastion"]);
});

test("every shipped cluster stack's picture puts each master, etcd member (on its master, or its own machine) and pool group in its zone, behind its endpoint", () => {
  assert.ok(CLUSTERS.length >= 8, `cluster stacks: ${CLUSTERS.join(", ")}`);
  const kinds = new Set<string>();
  for (const stack of CLUSTERS) {
    const plan = planOfConfig(stack, configOf(stack));
    const dot = clusterDotOf(stack);
    const zones = boxes(dot);
    for (const m of plan.masters) {
      const box = zones.get(m.zone) ?? assert.fail(`${stack}: no box for zone ${m.zone}`);
      assert.ok(box.includes(`"master:${m.name}" [label="${m.name}\\n${m.ip}\\n`), `${stack}: ${m.name} (${m.ip}) in ${m.zone}`);
      if (plan.etcd.topology === "stacked") assert.ok(box.includes(`"etcd:${m.name}" [label="etcd member\\n${m.name}"`), `${stack}: etcd member ${m.name} in ${m.zone}`);
      assert.ok(dot.includes(`"endpoint" -> "master:${m.name}"`), `${stack}: endpoint -> ${m.name}`);
    }
    for (const e of plan.etcd.topology === "external" ? plan.etcd.members : []) {
      assert.ok(zones.get(e.zone)?.includes(`"etcd:${e.name}" [label="etcd member\\n${e.name}\\n${e.ip}`), `${stack}: etcd member ${e.name} (${e.ip}) in ${e.zone}`);
      kinds.add("external etcd");
    }
    for (const z of plan.pools.flatMap((p) => p.zones)) {
      const size = `${z.nodesPerZone} node${z.nodesPerZone === 1 ? "" : "s"} (${z.minPerZone}..${z.maxPerZone})`;
      assert.ok(zones.get(z.zone)?.includes(`[label="${z.name}\\n${size}\\n`), `${stack}: ${z.name} with ${size} in ${z.zone}`);
    }
    const kind = /^(internal passthrough LB|internal NLB|keepalived VIP|haproxy 127\.0\.0\.1:\d+ on every node)/.exec(endpointLabel(plan))?.[1];
    assert.ok(kind, `${stack}: endpoint kind in ${JSON.stringify(endpointLabel(plan))}`);
    kinds.add(kind.replace(/:\d+/, ""));
    assert.ok(dot.includes(`"endpoint" [label="${dotText(endpointLabel(plan))}"`), `${stack}: endpoint node`);
    assertDrawn(dot, [...zones.keys(), ...plan.masters.map((m) => m.name), "etcd member", kind]);
  }
  assert.deepEqual([...kinds].sort(), ["external etcd", "haproxy 127.0.0.1 on every node", "internal NLB", "internal passthrough LB", "keepalived VIP"]);
});

test("on AWS the NLB shows one address per zone, each with the apiserver port", () => {
  const label = endpointLabel(planOfConfig("aws-three-az", configOf("aws-three-az")));
  assert.match(label, /^internal NLB, one address per zone\n10\.20\.0\.5:6443\n10\.20\.2\.5:6443\n10\.20\.4\.5:6443\nhealth check HTTPS \/readyz\n/);
});

test("hosts you own: failure domains as boxes, the VIP or the per-node proxies, and the workers", () => {
  const vip = clusterDotOf("onprem-vip");
  assert.match(vip, /label="failure domain rack-a"/);
  assert.match(vip, /keepalived VIP 10\.103\.97\.2\\nhaproxy :8443 on every master/);
  assert.match(boxes(vip).get("rack-a")!, /"worker:dc1-worker-0" \[label="dc1-worker-0\\n10\.103\.97\.210\\nworker"/);
  assert.match(clusterDotOf("onprem-local-proxy"), /haproxy 127\.0\.0\.1:16443 on every node/);
});

test("a cluster with no worker pools and a declared non-HA control plane still has a picture", () => {
  const config = {
    "kubeadm-ha:region": "europe-west1",
    "kubeadm-ha:zones": JSON.stringify(["europe-west1-b"]),
    "kubeadm-ha:controlPlane": JSON.stringify({ count: 1, highAvailability: false }),
    "kubeadm-ha:adminCidrs": JSON.stringify(["198.51.100.0/24"]),
  };
  const dot = clusterDotOfConfig("dev", config);
  assert.match(dot, /NOT HA \(declared\)/);
  assert.doesNotMatch(dot, /"pool:/);
  assert.doesNotMatch(dot, /"etcd:[^"]*" -> "etcd:/, "a single etcd member has no peers");
  assertDrawn(dot, ["dev-master-0", "etcd member", "zone europe-west1-b"]);
});

test("labels are escaped for DOT: quotes, backslashes and line breaks reach the SVG as written", () => {
  const odd = { stack: 'we"ird\\stack', cluster: "a\\nb", cloud: "gcp", region: "r-1" };
  const dot = federationDot("odd", { members: [odd], dnsNames: [{ name: 'x"y.example.', level: "global", members: [odd.stack] }] });
  assertDrawn(dot, ['stack we"ird\\stack', "cluster a\\nb", 'global: x"y.example.']);
  assert.equal(dot, federationDot("odd", { members: [odd], dnsNames: [{ name: 'x"y.example.', level: "global", members: [odd.stack] }] }));
});

test("without Graphviz the render says to run ./setup.sh", () => {
  const path = process.env.PATH;
  process.env.PATH = tempDir("no-dot-");
  try {
    assert.throws(
      () => drawSvg("digraph {}"),
      (e: Error) => e instanceof DrawError && /run \.\/setup\.sh .*graphviz/.test(e.message),
    );
  } finally {
    process.env.PATH = path;
  }
  assert.throws(
    () => drawSvg("digraph {"),
    (e: Error) => e instanceof DrawError && /dot could not draw the topology/.test(e.message),
  );
});

test("the render's picture of the default stack is the one drawn from its plan, and agrees with its outputs", async () => {
  const r = await renderOnce("gcp-three-zone");
  assert.equal(r.topology, clusterDotOf("gcp-three-zone"));
  const zones = boxes(r.topology);
  for (const m of r.outputs.masters as Array<{ name: string; zone: string; address: string }>)
    assert.ok(zones.get(m.zone)?.includes(`"master:${m.name}" [label="${m.name}\\n${m.address}\\n`), m.name);
  for (const z of (r.outputs.pools as Array<{ zones: Array<{ zone: string; group: string; nodes: number; min: number; max: number }> }>).flatMap((p) => p.zones)) {
    assert.ok(zones.get(z.zone)?.includes(`"pool:${z.group}" [label="${z.group}\\n${z.nodes} nodes (${z.min}..${z.max})`), z.group);
  }
  assert.ok(r.topology.includes(`${(r.outputs.endpointAddresses as string[])[0]}:6443`));
});

test("the render writes topology.dot and topology.svg; a federation's shows its members and DNS names", async () => {
  const { dir, outputs } = await renderInChild("fed-global");
  const dot = readFileSync(join(dir, "topology.dot"), "utf8");
  const svg = readFileSync(join(dir, "topology.svg"), "utf8");
  assert.match(svg, /^<\?xml[\s\S]*<\/svg>\s*$/);
  const shown = svgText(svg);
  const members = outputs.members as Array<{ stack: string; cluster: string; cloud: string; region: string }>;
  assert.equal(members.length, 4);
  for (const m of members) {
    assert.ok(boxes(dot).get(m.region)?.includes(`"member:${m.stack}"`), `${m.stack} in the box of ${m.region}`);
    assert.ok(shown.includes(`cluster ${m.cluster}`) && shown.includes(`${m.cloud.toUpperCase()} region ${m.region}`), `member ${m.cluster}`);
  }
  const dns = outputs.dnsNames as Array<{ name: string; level: string; members: string[] }>;
  assert.deepEqual([...new Set(dns.map((d) => d.level))].sort(), ["global", "region", "zone"]);
  for (const d of dns) {
    assert.ok(shown.includes(`${d.level}: ${d.name}`), d.name);
    for (const m of d.members) assert.ok(dot.includes(`"dns:${d.name}" -> "member:${m}"`), `${d.name} -> ${m}`);
  }
  const targets = [...dot.matchAll(/-> "(member:[^"]+)"/g)].map((m) => m[1]);
  for (const t of targets)
    assert.ok(
      members.some((m) => `member:${m.stack}` === t),
      `${t} is a drawn member`,
    );
});

test("README's picture of the default stack is current (refresh: npm run topology:docs)", () => {
  const committed = readFileSync(join(ROOT, "docs/topology-gcp-three-zone.dot"), "utf8");
  assert.equal(committed, clusterDotOf("gcp-three-zone"), "docs/topology-gcp-three-zone.dot is stale: run `npm run topology:docs` and commit docs/");
  const svg = readFileSync(join(ROOT, "docs/topology-gcp-three-zone.svg"), "utf8");
  for (const t of ["prod-master-0", "etcd member", "internal passthrough LB", "3 nodes (1..5)"])
    assert.ok(svgText(svg).includes(t), `docs/topology-gcp-three-zone.svg should show ${t}: run \`npm run topology:docs\``);
  // Byte for byte when this machine's Graphviz is the one that drew it (the SVG names its version).
  const version = (x: string) => /Generated by graphviz version ([^\s]+)/.exec(x)?.[1];
  const drawn = drawSvg(committed);
  if (version(drawn) === version(svg)) assert.equal(svg, drawn, "docs/topology-gcp-three-zone.svg is stale: run `npm run topology:docs` and commit docs/");
  assert.match(readFileSync(join(ROOT, "README.md"), "utf8"), /!\[[^\]]+\]\(docs\/topology-gcp-three-zone\.svg\)/);
});
