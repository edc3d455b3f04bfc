// The stack's picture (topology.dot / topology.svg): zones as boxes with their masters,
// etcd members and pools, the endpoint, and for a federation its members and DNS names.
// Graphviz's real `dot` draws every one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { clusterDotOf } from "../render/topology-docs";
import { clusterDotOfConfig, drawSvg } from "../render/topology";
import { readStackFile } from "../render/render";
import { renderInChild, ROOT, SHIPPED_STACKS } from "./helpers";

const isFederation = (s: string) => readStackFile(join(ROOT, "stacks"), s).config["kubeadm-ha:layout"] === "federation";
const CLUSTERS = SHIPPED_STACKS.filter((s) => !isFederation(s));

/** The text an SVG shows, entities decoded (Graphviz writes '-' as &#45;). */
function svgText(svg: string): string {
  const decode = (t: string) => t.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => decode(m[1])).join("\n");
}

/** Graphviz draws it: well-formed SVG holding every given text. */
function assertDrawn(dot: string, texts: string[]) {
  const svg = drawSvg(dot);
  assert.match(svg, /^<\?xml[^>]*>\s*<!DOCTYPE svg[\s\S]*<svg [\s\S]*<\/svg>\s*$/);
  const shown = svgText(svg);
  for (const t of texts) assert.ok(shown.includes(t), `the SVG should show ${JSON.stringify(t)}`);
}

test("the default stack's picture shows three zones, each with its master, etcd member and pool group", () => {
  const dot = clusterDotOf("gcp-three-zone");
  for (const z of ["b", "c", "d"]) assert.match(dot, new RegExp(`label="zone europe-west1-${z}"`));
  for (const i of [0, 1, 2]) {
    assert.match(dot, new RegExp(`"master:prod-master-${i}" \\[label="prod-master-${i}\\\\n10\\.10\\.0\\.1${i}`));
    assert.match(dot, new RegExp(`"etcd:prod-master-${i}" \\[label="etcd member`));
  }
  assert.match(dot, /internal passthrough LB 10\.10\.0\.5:6443\\nhealth check HTTPS \/readyz/);
  assert.match(dot, /prod-general-b\\n3 nodes \(1\.\.5\)/);
  assertDrawn(dot, ["zone europe-west1-b", "prod-master-2", "etcd member", "internal passthrough LB", "3 nodes (1..5)"]);
});

test("every shipped cluster stack has a picture with its masters, etcd members and endpoint", () => {
  assert.ok(CLUSTERS.length >= 8);
  for (const stack of CLUSTERS) {
    const dot = clusterDotOf(stack);
    assert.equal((dot.match(/\[label="etcd member/g) ?? []).length, 3, `${stack}: three etcd members`);
    const endpoint = readStackFile(join(ROOT, "stacks"), stack).config["kubeadm-ha:platform"] === "aws" ? "internal NLB" : /mode: vip/.test(readFileSync(join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) ? "keepalived VIP" : null;
    if (endpoint) assert.ok(dot.includes(endpoint), `${stack}: ${endpoint}`);
    assertDrawn(dot, ["etcd member"]);
  }
});

test("hosts you own: failure domains as boxes, the VIP or the per-node proxies, and the workers", () => {
  const vip = clusterDotOf("onprem-vip");
  assert.match(vip, /label="failure domain rack-a"/);
  assert.match(vip, /keepalived VIP 10\.103\.97\.2\\nhaproxy :8443 on every master/);
  assert.match(vip, /"worker:dc1-worker-0" \[label="dc1-worker-0\\n10\.103\.97\.210\\nworker"/);
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
  assertDrawn(dot, ["dev-master-0"]);
});

test("the render writes topology.dot and topology.svg; a federation's shows its members and DNS names", async () => {
  const { dir, outputs } = await renderInChild("fed-global");
  const svg = svgText(readFileSync(join(dir, "topology.svg"), "utf8"));
  assert.ok(existsSync(join(dir, "topology.dot")));
  const members = outputs.members as Array<{ cluster: string; region: string }>;
  assert.equal(members.length, 4);
  for (const m of members) assert.ok(svg.includes(`cluster ${m.cluster}`) && svg.includes(`region ${m.region}`), `member ${m.cluster}`);
  for (const d of outputs.dnsNames as Array<{ name: string; level: string }>) assert.ok(svg.includes(`${d.level}: ${d.name}`), d.name);
});

test("README's picture of the default stack is current (refresh: npm run topology:docs)", () => {
  const committed = readFileSync(join(ROOT, "docs/topology-gcp-three-zone.dot"), "utf8");
  assert.equal(committed, clusterDotOf("gcp-three-zone"), "docs/topology-gcp-three-zone.dot is stale: run npm run topology:docs and commit docs/");
  const svg = svgText(readFileSync(join(ROOT, "docs/topology-gcp-three-zone.svg"), "utf8"));
  for (const t of ["prod-master-0", "etcd member", "internal passthrough LB"]) assert.ok(svg.includes(t), `docs SVG should show ${t}`);
  assert.match(readFileSync(join(ROOT, "README.md"), "utf8"), /!\[[^\]]+\]\(docs\/topology-gcp-three-zone\.svg\)/);
});
