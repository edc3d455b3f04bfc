// What a cluster settles when it is made (name, platform, region, networks, endpoint, CNI)
// is recorded as the stack output `settled`; a later config that changes any of it is
// refused before anything is registered, with the key, both values, why, and the safe way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "path";
import { ClusterConfig, fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { settledChanges, settledOf } from "../components/config/settled";
import { readStackFile } from "../render/render";
import { renderInChild, ROOT } from "./helpers";

/** A shipped stack's config, validated, with `edit` applied to its raw config first. */
function configOf(stack: string, edit: (raw: Record<string, any>) => void = () => {}): ClusterConfig {
  const raw = fromRawConfig(readStackFile(join(ROOT, "stacks"), stack).config) as Record<string, any>;
  edit(raw);
  return validateClusterConfig(raw, stack);
}

test("a stack not up yet, or up before the program recorded what it settled, is not refused", () => {
  const c = configOf("gcp-three-zone", (r) => (r.network.podCidr = "10.200.0.0/16"));
  assert.deepEqual(settledChanges(undefined, c), []);
  assert.deepEqual(settledChanges({}, c), []);
});

test("the same config again, and changes one master at a time can make, pass", () => {
  const made = settledOf(configOf("gcp-three-zone"));
  assert.deepEqual(settledChanges(made, configOf("gcp-three-zone")), []);
  const changed = configOf("gcp-three-zone", (r) => {
    r.controlPlane.machineType = "e2-standard-8";
    r.controlPlane.count = 5;
    r.nodePools[0].nodesPerZone = 4;
  });
  assert.deepEqual(settledChanges(made, changed), []);
});

test("a new pod network on a running cluster is refused, naming the key, both values, why, and the safe way", () => {
  const made = settledOf(configOf("gcp-three-zone"));
  const problems = settledChanges(
    made,
    configOf("gcp-three-zone", (r) => (r.network.podCidr = "10.200.0.0/16")),
  );
  assert.equal(problems.length, 1);
  const [p] = problems;
  assert.equal(p.key, "kubeadm-ha:network.podCidr");
  assert.match(p.message, /is "10\.200\.0\.0\/16", but this cluster was made with "10\.244\.0\.0\/16"/);
  assert.match(p.message, /not even one master at a time/);
  assert.match(p.fix, /set it back to "10\.244\.0\.0\/16"/);
  assert.match(p.fix, /new stack/);
});

test("each settled key is refused when changed: name, region, networks, endpoint, CNI", () => {
  const cases: Array<[string, (r: Record<string, any>) => void]> = [
    ["clusterName", (r) => (r.clusterName = "prod2")],
    ["region", (r) => ((r.region = "europe-west4"), (r.zones = ["europe-west4-a", "europe-west4-b", "europe-west4-c"]))],
    ["network.nodeCidr", (r) => (r.network.nodeCidr = "10.20.0.0/20")],
    ["network.serviceCidr", (r) => (r.network.serviceCidr = "10.112.0.0/12")],
    ["endpoint.mode", (r) => (r.endpoint = { mode: "local-proxy" })],
    ["kubernetes.cni.name", (r) => (r.kubernetes.cni = { name: "flannel" })],
  ];
  const made = settledOf(configOf("gcp-three-zone"));
  for (const [key, edit] of cases) {
    const keys = settledChanges(made, configOf("gcp-three-zone", edit)).map((p) => p.key);
    assert.ok(keys.includes(`kubeadm-ha:${key}`), `${key}: refused as ${keys.join(", ") || "nothing"}`);
  }
});

test("a VIP moved on hosts you own is refused", () => {
  const made = settledOf(configOf("onprem-vip"));
  const problems = settledChanges(
    made,
    configOf("onprem-vip", (r) => (r.endpoint.vip = "10.103.97.250")),
  );
  assert.deepEqual(
    problems.map((p) => p.key),
    ["kubeadm-ha:endpoint.vip"],
  );
});

test("the render records what the cluster settled as the stack output `settled`, and reads the stack's own last outputs (none offline)", async () => {
  const r = await renderInChild("gcp-three-zone");
  assert.deepEqual(r.outputs.settled, settledOf(configOf("gcp-three-zone")));
  const self = r.resources.find((x) => x.type === "pulumi:pulumi:StackReference");
  assert.ok(self, "a StackReference to the stack itself");
  assert.equal((self.inputs as { name: string }).name, "organization/kubeadm-ha/gcp-three-zone");
});
