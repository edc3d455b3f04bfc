// Hosts you own after their join: labels follow the stack, and a host that leaves the
// stack (or a destroyed stack) is reset in an order that keeps etcd's quorum to the end.
// Read from the render of the lab stack, as `pulumi preview` and `pulumi destroy` see it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "fs";
import { join } from "path";
import { parse, stringify } from "yaml";
import { readFileSync } from "fs";
import { ChildRender, renderInChild, ROOT, tempDir } from "./helpers";
import { RenderedResource } from "../render/render";

const STACK = "lab-vip";

type HostEntry = { name: string; labels?: Record<string, string>; machine?: string };

/** The lab stack rendered with one host's entry edited. */
function renderWithHost(host: string, edit: (h: HostEntry) => void): Promise<ChildRender> {
  const dir = tempDir("lifecycle-stack-");
  const doc = parse(readFileSync(join(ROOT, "stacks", `Pulumi.${STACK}.yaml`), "utf8"));
  const hosts = doc.config["kubeadm-ha:hosts"];
  const h = [...hosts.masters, ...hosts.workers].find((x: HostEntry) => x.name === host);
  edit(h);
  writeFileSync(join(dir, `Pulumi.${STACK}.yaml`), stringify(doc));
  return renderInChild(STACK, dir);
}

/** The lab stack rendered with one worker's labels edited. */
function renderWithLabel(worker: string, labels: Record<string, string>): Promise<ChildRender> {
  return renderWithHost(worker, (w) => (w.labels = { ...w.labels, ...labels }));
}

/** Steps whose triggers differ between two renders: the ones `pulumi up` runs again (replaces). */
function rerun(before: ChildRender, after: ChildRender): string[] {
  const old = byName(before);
  return commands(after)
    .filter((x) => JSON.stringify((x.inputs as { triggers?: unknown }).triggers) !== JSON.stringify((old.get(x.name)?.inputs as { triggers?: unknown } | undefined)?.triggers))
    .map((x) => x.name)
    .sort();
}

const byName = (r: ChildRender) => new Map(r.resources.map((x) => [x.name, x]));
const commands = (r: ChildRender) => r.resources.filter((x) => x.type === "command:remote:Command");

/** Names of everything `name` depends on, directly or through others: `pulumi destroy` deletes `name` before all of them. */
function dependenciesOf(resources: RenderedResource[], name: string): Set<string> {
  const byUrn = new Map(resources.map((x) => [x.urn, x]));
  const seen = new Set<string>();
  const walk = (urn: string) => {
    for (const d of byUrn.get(urn)?.dependencies ?? []) {
      const n = byUrn.get(d)!.name;
      if (!seen.has(n)) {
        seen.add(n);
        walk(d);
      }
    }
  };
  walk(resources.find((x) => x.name === name)!.urn);
  return seen;
}

test("a label changed on one host you own changes that host's labels step and nothing else", async () => {
  const before = await renderInChild(STACK);
  const after = await renderWithLabel("lab-worker-0", { "example.com/tier": "gold" });
  const old = byName(before);
  const changed = after.resources.filter((x) => JSON.stringify(x.inputs) !== JSON.stringify(old.get(x.name)?.inputs)).map((x) => x.name);
  assert.deepEqual(changed, ["lab-worker-0-labels"]);
  const create = String((byName(after).get("lab-worker-0-labels")!.inputs as { create: string }).create);
  assert.match(create, /kubeadm-ha-node-labels lab-worker-0 'example\.com\/tier=gold' 'topology\.kubernetes\.io\/zone=zone-a'/);
});

test("kubelets register with their zone only; every other label of a host is its labels step's", async () => {
  const r = await renderWithLabel("lab-worker-1", { "example.com/tier": "gold" });
  const config = readFileSync(join(r.dir, "files/lab-worker-1/etc/kubeadm-ha/kubeadm-join.yaml"), "utf8");
  assert.match(config, /value: kubeadm-ha\/pool=static,topology\.kubernetes\.io\/zone=zone-b\n/);
  assert.doesNotMatch(config, /example\.com/);
  for (const host of ["lab-master-0", "lab-master-1", "lab-master-2", "lab-worker-0", "lab-worker-1"]) {
    assert.ok(byName(r).get(`${host}-labels`), `${host} has a labels step`);
  }
});

test("a host's reset runs only when it leaves the stack or the stack is destroyed, never on a replacement", async () => {
  const r = await renderInChild(STACK);
  const resets = commands(r).filter((x) => x.name.endsWith("-reset"));
  assert.equal(resets.length, 5);
  for (const x of resets) {
    const i = x.inputs as { create?: string; delete: string; triggers: unknown[] };
    assert.equal(i.create, undefined, `${x.name} runs nothing on create`);
    assert.deepEqual(i.triggers, [], `${x.name} has no triggers, so nothing replaces it`);
    assert.match(i.delete, /kubeadm-ha-reset lab-(master|worker)-\d/);
  }
});

test("a destroy drains and resets the workers first, then takes the masters out from the last to master-0, each before its reset", async () => {
  const r = await renderInChild(STACK);
  const names = [
    "lab-control-plane-remove-lab-worker-0",
    "lab-worker-0-reset",
    "lab-control-plane-remove-lab-master-2",
    "lab-master-2-reset",
    "lab-control-plane-remove-lab-master-1",
    "lab-master-1-reset",
    "lab-control-plane-remove-lab-master-0",
    "lab-master-0-reset",
  ];
  for (let i = 0; i + 1 < names.length; i++) {
    assert.ok(dependenciesOf(r.resources, names[i]).has(names[i + 1]), `${names[i]} is deleted before ${names[i + 1]}`);
  }
});

test("a master whose join failed is still taken out when it leaves the stack: its removal and reset are made before its join, and run on another master", async () => {
  // A grow to five that failed at master-4 and was reverted: the steps of master-3 and
  // master-4 that were made are deleted, and those deletes remove their members and Nodes.
  const r = await renderInChild(STACK);
  const remove = byName(r).get("lab-control-plane-remove-lab-master-1")!;
  const deps = dependenciesOf(r.resources, remove.name);
  for (const step of ["join", "files", "secrets", "healthy"]) assert.ok(!deps.has(`lab-master-1-${step}`), `the removal waits for nothing of lab-master-1's ${step} step`);
  assert.ok(deps.has("lab-master-1-reset"), "the removal runs before lab-master-1's reset");
  assert.ok(!dependenciesOf(r.resources, "lab-master-1-reset").has("lab-master-1-join"));
  const i = remove.inputs as { create?: string; delete: string; triggers: unknown[]; connection: { host: string } };
  assert.equal(i.create, undefined);
  assert.deepEqual(i.triggers, [], "never replaced: a new machine for lab-master-1 clears its predecessor as it joins");
  assert.match(i.delete, /sudo \/usr\/local\/sbin\/kubeadm-ha-etcd-member leave lab-master-1 https:\/\/10\.199\.96\.11:2380\n/);
  assert.notEqual(i.connection.host, "10.199.96.11", "the removal never runs on the master it removes");
});

test("the reset removes every file the steps write on the host, and only resets the node it was made for", async () => {
  const r = await renderInChild(STACK);
  const script = readFileSync(join(r.dir, "files/lab-master-1/usr/local/sbin/kubeadm-ha-reset"), "utf8");
  for (const f of [
    "/etc/kubeadm-ha/kubeadm-join.yaml",
    "/usr/local/sbin/kubeadm-ha-prepare",
    "/etc/haproxy/haproxy.cfg",
    "/etc/keepalived/keepalived.conf",
    "/usr/local/sbin/kubeadm-ha-node-labels",
  ]) {
    assert.ok(script.includes(`rm -f ${f}\n`), `reset removes ${f}`);
  }
  assert.match(script, /kubeadm reset --force/);
  assert.equal(readFileSync(join(r.dir, "files/lab-master-1/etc/kubeadm-ha/node-name"), "utf8"), "lab-master-1\n");
  assert.match(script, /if \[ "\$here" != "\$node" \]; then/);
});

test("a master replaced at the same address (its machine changed): its steps run again, the control plane is checked again, the rest stay", async () => {
  const before = await renderInChild(STACK);
  const after = await renderWithHost("lab-master-0", (m) => (m.machine = "rebuilt-2026-12-01"));
  assert.deepEqual(rerun(before, after), [
    // The control plane's steps run again with any master's machine: no-ops where done.
    "lab-control-plane-bootstrap-token",
    "lab-control-plane-bootstrap-token-prune",
    // Until its encryption step, the new machine's apiserver wrote with the key before: every Secret written again.
    "lab-control-plane-encryption-rewrite",
    "lab-control-plane-etcd-member-lab-master-0",
    "lab-control-plane-kubeconfig",
    "lab-control-plane-prune-members",
    "lab-control-plane-validate",
    "lab-master-0-backups",
    "lab-master-0-certificates",
    "lab-master-0-control-plane-config",
    "lab-master-0-encryption",
    "lab-master-0-encryption-read",
    "lab-master-0-fetch-release",
    "lab-master-0-files",
    "lab-master-0-healthy",
    "lab-master-0-init",
    "lab-master-0-labels",
    "lab-master-0-prepare",
    "lab-master-0-secrets",
    // A no-op on a new machine prepared at the stack's release.
    "lab-master-0-upgrade",
  ]);
  // Nothing removes the old member on the way out: the new machine clears it as it joins,
  // through whichever master answers then.
  const membership = byName(after).get("lab-control-plane-etcd-member-lab-master-0")!;
  assert.equal((membership.inputs as { delete?: string }).delete, undefined);
  assert.match(String((membership.inputs as { create: string }).create), /kubeadm-ha-etcd-member show lab-master-0 https:\/\/10\.199\.96\.10:2380\n/);
});

test("a stack without machine keys keeps the address alone as each host's identity: nothing runs again", async () => {
  const before = await renderInChild(STACK);
  const same = await renderWithHost("lab-worker-1", (w) => (w.machine = undefined));
  assert.deepEqual(rerun(before, same), []);
  const rebuilt = await renderWithHost("lab-worker-1", (w) => (w.machine = "asset-4711"));
  // Its upgrade steps too: no-ops on a new machine prepared at the stack's release.
  assert.deepEqual(rerun(before, rebuilt), [
    "lab-control-plane-drain-lab-worker-1",
    "lab-control-plane-uncordon-lab-worker-1",
    "lab-worker-1-fetch-release",
    "lab-worker-1-files",
    "lab-worker-1-join",
    "lab-worker-1-labels",
    "lab-worker-1-prepare",
    "lab-worker-1-secrets",
    "lab-worker-1-upgrade",
  ]);
});
