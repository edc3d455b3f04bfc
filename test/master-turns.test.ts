// One master at a time: a change that restarts or replaces masters (a new image or machine
// type, new boot config, a preparation run again on hosts you own) reaches the next master
// only once the previous one is healthy again; the render's order.txt shows the turns.
// Read from renders of the shipped stacks, as `pulumi preview` sees them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { parse, stringify } from "yaml";
import { ChildRender, renderInChild, ROOT, tempDir } from "./helpers";
import { waves } from "../render/order";

/** The resource named `name` (not the component of a machine's steps, which has its machine's name). */
const named = (r: ChildRender, name: string) => {
  const found = r.resources.find((x) => x.name === name && !x.type.startsWith("kubeadm-ha:"));
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};
/** Names of the resources `name` waits for directly. */
const waitsFor = (r: ChildRender, name: string) => named(r, name).dependencies.map((u) => u.split("::").pop()!);
const triggers = (r: ChildRender, name: string) => JSON.stringify((named(r, name).inputs as { triggers?: unknown }).triggers);

/** A shipped stack rendered with its config edited. */
function renderEdited(stack: string, edit: (config: Record<string, any>) => void): Promise<ChildRender> {
  const dir = tempDir("turns-stack-");
  const doc = parse(readFileSync(join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8"));
  edit(doc.config);
  writeFileSync(join(dir, `Pulumi.${stack}.yaml`), stringify(doc));
  return renderInChild(stack, dir);
}

for (const [stack, cluster] of [
  ["gcp-three-zone", "prod"],
  ["aws-three-az", "prod-aws"],
] as const) {
  test(`${stack}: each master's VM waits until the previous master is healthy again; master-0's waits for none`, async () => {
    const r = await renderInChild(stack);
    assert.ok(!waitsFor(r, `${cluster}-master-0`).some((d) => d.endsWith("-healthy")));
    assert.ok(waitsFor(r, `${cluster}-master-1`).includes(`${cluster}-master-0-healthy`));
    assert.ok(waitsFor(r, `${cluster}-master-2`).includes(`${cluster}-master-1-healthy`));
  });

  test(`${stack}: a master's steps wait for its own VM, never for another master's`, async () => {
    const r = await renderInChild(stack);
    const boot = waitsFor(r, `${cluster}-master-0-wait-boot`);
    assert.ok(boot.includes(`${cluster}-master-0`));
    assert.ok(!boot.includes(`${cluster}-master-1`) && !boot.includes(`${cluster}-master-2`));
  });
}

test("on hosts you own, a master's preparation waits until the previous master is healthy again", async () => {
  const r = await renderInChild("onprem-vip");
  assert.deepEqual(waitsFor(r, "dc1-master-0-prepare"), []);
  assert.ok(waitsFor(r, "dc1-master-1-prepare").includes("dc1-master-0-healthy"));
  assert.ok(waitsFor(r, "dc1-master-2-prepare").includes("dc1-master-1-healthy"));
  // Workers do not take turns with the masters: they prepare from the start.
  assert.ok(!waitsFor(r, "dc1-worker-0-prepare").some((d) => d.endsWith("-healthy")));
});

test("the healthy step asks about the master itself: its kubelet, its etcd membership, its own apiserver", async () => {
  const r = await renderInChild("gcp-three-zone");
  const healthy = readFileSync(join(r.dir, "files/prod-master-1/commands/healthy.sh"), "utf8");
  assert.match(healthy, /http:\/\/127\.0\.0\.1:10248\/healthz/);
  assert.match(healthy, /kubeadm-ha-wait-member prod-master-1 \$\(\(deadline - SECONDS\)\)/);
  assert.match(healthy, /--server https:\/\/10\.10\.0\.11:6443 get --raw=\/readyz/);
  assert.ok(waitsFor(r, "prod-master-1-healthy").includes("prod-master-1-join"));
});

test("a new control-plane machine type runs every master's healthy step again, and no master's init or join", async () => {
  const before = await renderInChild("gcp-three-zone");
  const after = await renderEdited("gcp-three-zone", (c) => (c["kubeadm-ha:controlPlane"].machineType = "e2-standard-8"));
  for (const m of ["prod-master-0", "prod-master-1", "prod-master-2"]) {
    assert.equal((named(after, m).inputs as { machineType: string }).machineType, "e2-standard-8");
    assert.notEqual(triggers(after, `${m}-healthy`), triggers(before, `${m}-healthy`), `${m}-healthy runs again`);
    const member = m === "prod-master-0" ? "init" : "join";
    assert.equal(triggers(after, `${m}-${member}`), triggers(before, `${m}-${member}`), `${m}-${member} does not`);
  }
});

test("a worker pool's change leaves every master's healthy step alone", async () => {
  const before = await renderInChild("gcp-three-zone");
  const after = await renderEdited("gcp-three-zone", (c) => (c["kubeadm-ha:nodePools"][0].machineType = "e2-standard-8"));
  for (const m of ["prod-master-0", "prod-master-1", "prod-master-2"]) assert.equal(triggers(after, `${m}-healthy`), triggers(before, `${m}-healthy`));
});

test("on hosts you own, the healthy step runs again whenever the master's preparation does (it follows the preparation's ID)", async () => {
  const r = await renderInChild("onprem-vip");
  const prepare = named(r, "dc1-master-1-prepare");
  // The mock runtime gives each resource the ID `<name>-id`; the engine gives a step a new one each time it runs.
  assert.match(triggers(r, "dc1-master-1-healthy"), new RegExp(`"${prepare.name}-id"`));
});

test("order.txt: each master's VM comes after the previous master's healthy step, in a later wave", async () => {
  const r = await renderInChild("gcp-three-zone");
  const order = waves(r.resources).map((w) => w.map((x) => x.name));
  const waveOf = (name: string) => order.findIndex((w) => w.includes(name));
  for (const i of [1, 2]) {
    assert.ok(waveOf(`prod-master-${i}`) > waveOf(`prod-master-${i - 1}-healthy`), `prod-master-${i} after prod-master-${i - 1}-healthy`);
    assert.ok(waveOf(`prod-master-${i - 1}-healthy`) > waveOf(`prod-master-${i - 1}-${i === 1 ? "init" : "join"}`));
  }
  const text = readFileSync(join(r.dir, "order.txt"), "utf8");
  assert.match(text, /\n {2}prod-master-1 +gcp:compute\/instance:Instance {2}after prod-master-0-healthy, prod-master-1-ip\n/);
  // Components are left out: they do nothing themselves.
  assert.doesNotMatch(text, /kubeadm-ha:/);
});

test("a master's preparation run again points the endpoint name where its join left it; one still to join, at the master it joins", async () => {
  const r = await renderInChild("onprem-vip");
  const prepare = readFileSync(join(r.dir, "files/dc1-master-1/commands/prepare.sh"), "utf8");
  const config = parse(readFileSync(join(ROOT, "stacks", "Pulumi.onprem-vip.yaml"), "utf8")).config;
  const vip: string = config["kubeadm-ha:endpoint"].vip;
  const master0: string = config["kubeadm-ha:hosts"].masters[0].address;
  assert.match(
    prepare,
    new RegExp(
      `if sudo test -f /var/lib/kubeadm-ha/member; then\\n  sudo /usr/local/sbin/kubeadm-ha-set-endpoint ${vip.replace(/\./g, "\\.")}\\nelse\\n  sudo /usr/local/sbin/kubeadm-ha-set-endpoint ${master0.replace(/\./g, "\\.")}\\nfi\\n`,
    ),
  );
  // Workers always point it at the same place.
  assert.doesNotMatch(readFileSync(join(r.dir, "files/dc1-worker-0/commands/prepare.sh"), "utf8"), /kubeadm-ha\/member/);
});

test("the endpoint's services are started when stopped and reloaded only when their configs changed: a re-run restarts nothing", async () => {
  const r = await renderInChild("onprem-vip");
  const setup = readFileSync(join(r.dir, "files/dc1-master-0/usr/local/sbin/kubeadm-ha-endpoint"), "utf8");
  assert.doesNotMatch(setup, /systemctl restart (haproxy|keepalived)/);
  assert.match(setup, /command -v "\$p" >\/dev\/null \|\| missing\+=\("\$p"\)/);
  assert.match(setup, /\napply haproxy \/etc\/haproxy\/haproxy\.cfg\napply keepalived \/etc\/keepalived\/keepalived\.conf \/etc\/keepalived\/check-apiserver-proxy\.sh\n/);
});

test("five masters on hosts you own: the two added take their turns after the three, one at a time, and every endpoint config names all five", async () => {
  const added = [
    { name: "dc1-master-3", address: "10.103.97.203", zone: "rack-a" },
    { name: "dc1-master-4", address: "10.103.97.204", zone: "rack-b" },
  ];
  const r = await renderEdited("onprem-vip", (config) => config["kubeadm-ha:hosts"].masters.push(...added));
  assert.ok(waitsFor(r, "dc1-master-3-prepare").includes("dc1-master-2-healthy"));
  assert.ok(waitsFor(r, "dc1-master-4-prepare").includes("dc1-master-3-healthy"));
  assert.ok(waitsFor(r, "dc1-master-4-join").includes("dc1-master-3-join"));
  const all = ["200", "201", "202", "203", "204"].map((x) => `10.103.97.${x}`);
  for (const m of [0, 1, 2, 3, 4]) {
    const haproxy = readFileSync(join(r.dir, `files/dc1-master-${m}/etc/haproxy/haproxy.cfg`), "utf8");
    assert.deepEqual(
      [...haproxy.matchAll(/^ {4}server \S+ ([\d.]+):6443 /gm)].map((x) => x[1]),
      all,
    );
    const keepalived = readFileSync(join(r.dir, `files/dc1-master-${m}/etc/keepalived/keepalived.conf`), "utf8");
    const peers = /unicast_peer \{([^}]*)\}/.exec(keepalived)![1].split(/\s+/).filter(Boolean);
    assert.deepEqual(
      peers,
      all.filter((_, i) => i !== m),
    );
  }
  // Pruning waits for the last master's turn and keeps all five.
  assert.ok(waitsFor(r, "dc1-control-plane-prune-members").includes("dc1-master-4-healthy"));
  assert.match(readFileSync(join(r.dir, "files/dc1-control-plane/commands/prune-members.sh"), "utf8"), /prune dc1-master-0 dc1-master-1 dc1-master-2 dc1-master-3 dc1-master-4\n/);
});
