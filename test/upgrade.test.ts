// Upgrades: which changes of kubernetes.version a running cluster takes, and the order the
// steps of an upgrade run in (the render's order.txt and `pulumi preview` show the same).
// The lab (npm run lab:cluster) runs an upgrade from one minor to the next for real.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import { fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { minorsToGoThrough, newMastersDuringUpgrade, versionChangeProblems } from "../components/config/versions";
import { planCluster } from "../components/plan/cluster-plan";
import { upgradeOrder } from "../components/plan/upgrade";
import { waves } from "../render/order";
import { readStackFile } from "../render/render";
import { renderInChild, ROOT } from "./helpers";

const machineFile = (dir: string, path: string) => readFileSync(join(dir, "files", path), "utf8");

const planOf = (stack: string) => planCluster(validateClusterConfig(fromRawConfig(readStackFile(join(ROOT, "stacks"), stack).config), stack));

test("a downgrade is refused, naming the release the cluster runs and the way back", () => {
  const [p, ...rest] = versionChangeProblems("1.34.2", "1.33.9");
  assert.equal(rest.length, 0);
  assert.equal(p.key, "kubeadm-ha:kubernetes.version");
  assert.match(p.message, /"1\.33\.9", older than "1\.34\.2", which this cluster runs: kubeadm upgrades and never downgrades/);
  assert.match(p.fix, /set it back to "1\.34\.2" or a later release/);
  assert.equal(versionChangeProblems("1.34.2", "1.34.1").length, 1, "a patch back is a downgrade too");
});

test("a skipped minor is refused with the minors to go through, in order", () => {
  const [p] = versionChangeProblems("1.33.4", "1.36.1");
  assert.match(p.message, /"1\.36\.1", 3 minors after "1\.33\.4"/);
  assert.match(p.fix, /upgrade through 1\.34, then 1\.35 first/);
  assert.deepEqual(minorsToGoThrough("1.33.4", "1.36.1"), ["1.34", "1.35", "1.36"]);
});

test("the same release, a patch, or the next minor pass; so does a stack that recorded no release", () => {
  for (const wanted of ["1.34.2", "1.34.7", "1.35.0", "1.35.4"]) assert.deepEqual(versionChangeProblems("1.34.2", wanted), [], wanted);
  assert.deepEqual(versionChangeProblems(undefined, "1.36.0"), []);
  assert.deepEqual(versionChangeProblems({}, "1.36.0"), []);
});

test("a master added in the same up as an upgrade is refused: it would join on the new release before the others move", () => {
  const before = [{ name: "prod-master-0" }, { name: "prod-master-1" }, { name: "prod-master-2" }];
  const five = [...before.map((m) => m.name), "prod-master-3", "prod-master-4"];
  const [p, ...rest] = newMastersDuringUpgrade("1.34.2", "1.35.4", before, five, "controlPlane.count");
  assert.equal(rest.length, 0);
  assert.equal(p.key, "kubeadm-ha:controlPlane.count");
  assert.match(p.message, /adds prod-master-3, prod-master-4 in the same up as the upgrade from "1\.34\.2" to "1\.35\.4"/);
  assert.match(p.fix, /add the masters after the upgrade/);
  // Either change alone passes; so does a stack with no recorded release or masters.
  assert.deepEqual(newMastersDuringUpgrade("1.34.2", "1.34.2", before, five, "controlPlane.count"), []);
  assert.deepEqual(
    newMastersDuringUpgrade(
      "1.34.2",
      "1.35.4",
      before,
      before.map((m) => m.name),
      "controlPlane.count",
    ),
    [],
  );
  assert.deepEqual(newMastersDuringUpgrade(undefined, "1.35.4", undefined, five, "hosts.masters"), []);
});

test("an upgrade fetches the release onto every node first, then takes every master one at a time in plan order, then each worker you own: drained, upgraded, uncordoned, before the next", () => {
  const plan = planOf("onprem-vip");
  const order = upgradeOrder(plan).map((s) => s.resource);
  assert.deepEqual(order, [
    "dc1-master-0-fetch-release",
    "dc1-master-1-fetch-release",
    "dc1-master-2-fetch-release",
    "dc1-worker-0-fetch-release",
    "dc1-worker-1-fetch-release",
    "dc1-master-0-upgrade",
    "dc1-master-1-upgrade",
    "dc1-master-2-upgrade",
    "dc1-control-plane-drain-dc1-worker-0",
    "dc1-worker-0-upgrade",
    "dc1-control-plane-uncordon-dc1-worker-0",
    "dc1-control-plane-drain-dc1-worker-1",
    "dc1-worker-1-upgrade",
    "dc1-control-plane-uncordon-dc1-worker-1",
  ]);
});

test("the render runs the upgrade steps in the planned order: workers never before the last master, never two nodes at once", async () => {
  for (const stack of ["onprem-vip", "gcp-three-zone"]) {
    const r = await renderInChild(stack);
    const plan = planOf(stack);
    const wave = new Map(waves(r.resources).flatMap((w, i) => w.map((x) => [x.name, i] as const)));
    const planned = upgradeOrder(plan).map((s) => s.resource);
    assert.ok(
      planned.every((s) => wave.has(s)),
      `${stack}: every planned step is a resource`,
    );
    // Every node fetches at once; the first master's upgrade waits for all of them.
    const fetches = planned.filter((s) => s.endsWith("-fetch-release"));
    const steps = planned.filter((s) => !fetches.includes(s));
    assert.equal(fetches.length, plan.masters.length + plan.staticWorkers.length);
    for (const f of fetches) assert.ok(wave.get(steps[0])! > wave.get(f)!, `${stack}: ${steps[0]} runs after ${f}`);
    for (let i = 1; i < steps.length; i++) assert.ok(wave.get(steps[i])! > wave.get(steps[i - 1])!, `${stack}: ${steps[i]} runs after ${steps[i - 1]}`);
    // Joins and the validation of the control plane come after the last master's upgrade; workers you own join after it too.
    const lastMaster = wave.get(`${plan.masters[plan.masters.length - 1].name}-upgrade`)!;
    assert.ok(wave.get(`${plan.name}-control-plane-validate`)! > lastMaster, `${stack}: validated after every master's upgrade`);
  }
});

test("every node gets the upgrade script with the stack's release and package source written in", async () => {
  const lab = await renderInChild("lab-vip");
  for (const node of ["lab-master-0", "lab-worker-1"]) {
    const script = machineFile(lab.dir, `${node}/usr/local/sbin/kubeadm-ha-upgrade`);
    assert.match(script, /^want="v1\.34\.2"$/m);
    assert.match(script, /kubeadm upgrade apply "\$want" --yes/);
    assert.match(script, /the bundle at \$src holds Kubernetes \$held, the stack wants 1\.34\.2/);
  }
  const step = lab.resources.find((x) => x.name === "lab-worker-1-upgrade")!;
  assert.match((step.inputs as { create: string }).create, /sudo \/usr\/local\/sbin\/kubeadm-ha-upgrade node lab-worker-1/);
  const owned = await renderInChild("onprem-vip");
  assert.match(machineFile(owned.dir, "dc1-master-2/usr/local/sbin/kubeadm-ha-upgrade"), /pkgs\.k8s\.io\/core:\/stable:\/v1\.34\/deb\//);
});
