// The rendered kubeadm-ha-upgrade script decides, on the node, what an upgrade step does
// from what the node and the cluster run. These tests run it for real (bash, the rendered
// text) with the node's paths under a temporary root and named stand-ins for kubectl,
// the kubelet and kubeadm (test/fixtures/upgrade-standins) that answer from files and
// record every write. The lab (npm run lab:cluster) runs the same script with the real
// programs on a real cluster, upgrading it from one minor to the next.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { renderInChild, ROOT, tempDir } from "./helpers";

let script: string;
before(async () => {
  const r = await renderInChild("lab-vip");
  script = readFileSync(join(r.dir, "files/lab-master-0/usr/local/sbin/kubeadm-ha-upgrade"), "utf8");
});

const RELEASE = "v1.34.2"; // the lab stack's

/** A cluster as the stand-ins see it: the release in kubeadm-config, each node's kubelet, this node's kubelet and apiserver. */
function cluster(s: {
  cluster: string;
  nodes: Record<string, { kubelet: string; master?: boolean; cordoned?: boolean; annotated?: boolean; notReady?: boolean }>;
  local?: { kubelet: string; apiserver: string };
  leaderless?: boolean;
  kubeProxyRolling?: number;
}) {
  const root = tempDir("kubeadm-ha-upgrade-");
  const state = join(root, "state");
  mkdirSync(join(root, "etc/kubernetes/manifests"), { recursive: true });
  mkdirSync(state);
  writeFileSync(join(state, "cluster"), s.cluster);
  writeFileSync(join(state, "calls"), "");
  for (const [name, n] of Object.entries(s.nodes)) {
    const dir = join(state, "nodes", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "kubelet"), n.kubelet);
    if (n.master) writeFileSync(join(dir, "master"), "");
    if (n.cordoned) writeFileSync(join(dir, "cordoned"), "");
    if (n.notReady) writeFileSync(join(dir, "notready"), "");
    if (n.annotated) writeFileSync(join(dir, "annotation"), RELEASE);
  }
  writeFileSync(join(state, "local-kubelet"), s.local?.kubelet ?? "v0.0.0");
  if (s.leaderless) writeFileSync(join(state, "leaderless"), "");
  if (s.kubeProxyRolling) writeFileSync(join(state, "kube-proxy-rolling"), String(s.kubeProxyRolling));
  writeFileSync(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"), `spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:${s.local?.apiserver ?? "v0.0.0"}\n`);
  const path = join(root, "kubeadm-ha-upgrade");
  writeFileSync(path, script.split("/etc/kubernetes").join(join(root, "etc/kubernetes")));
  chmodSync(path, 0o755);
  return {
    /** Runs the script; its waits give up after 3 s (a wait that must end well gets more in `env`). */
    run: (action: string, node: string, env: Record<string, string> = {}) =>
      spawnSync("bash", [path, action, node], {
        encoding: "utf8",
        env: {
          ...process.env,
          PATH: `${join(ROOT, "test/fixtures/upgrade-standins")}:${process.env.PATH}`,
          STANDIN_STATE: state,
          KUBEADM_HA_API_RETRY_S: "2",
          KUBEADM_HA_UPGRADE_TIMEOUT_S: "3",
          KUBEADM_HA_CONTROLLERS_WAIT_S: "3",
          KUBEADM_HA_KUBE_PROXY_WAIT_S: "3",
          ...env,
        },
      }),
    /** The node's kubelet now runs `version` (what its own upgrade step does). */
    upgraded: (node: string, version: string) => writeFileSync(join(state, "nodes", node, "kubelet"), version),
    calls: () => readFileSync(join(state, "calls"), "utf8").split("\n").filter(Boolean),
    writes: () =>
      readFileSync(join(state, "calls"), "utf8")
        .split("\n")
        .filter((l) => /^kubeadm |kubectl (annotate|drain|uncordon)/.test(l)),
    cordoned: (node: string) => existsSync(join(state, "nodes", node, "cordoned")),
  };
}

const MASTERS = { "lab-master-0": { kubelet: RELEASE, master: true }, "lab-master-1": { kubelet: RELEASE, master: true }, "lab-master-2": { kubelet: RELEASE, master: true } };

test("a master that runs the release already changes nothing: no kubeadm, no drain", () => {
  const c = cluster({ cluster: RELEASE, nodes: MASTERS, local: { kubelet: RELEASE, apiserver: RELEASE } });
  const r = c.run("master", "lab-master-1");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /lab-master-1 runs v1\.34\.2 already: nothing to upgrade/);
  assert.deepEqual(c.writes(), []);
});

test("a master on a newer release than the stack's stops the step: kubeadm cannot downgrade", () => {
  const c = cluster({ cluster: "v1.35.0", nodes: MASTERS, local: { kubelet: "v1.35.0", apiserver: "v1.35.0" } });
  const r = c.run("master", "lab-master-0");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the cluster \(kubeadm-config\) runs v1\.35\.0, newer than the stack's v1\.34\.2: kubeadm cannot downgrade; set kubernetes\.version to 1\.35\.0/);
  assert.deepEqual(c.writes(), []);
});

test("workers are never newer than the apiserver: a worker is not drained while a master runs an older kubelet", () => {
  const c = cluster({ cluster: RELEASE, nodes: { ...MASTERS, "lab-master-2": { kubelet: "v1.33.7", master: true }, "lab-worker-0": { kubelet: "v1.33.7" } } });
  const r = c.run("drain", "lab-worker-0");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not every master runs v1\.34\.2 yet \(lab-master-2=v1\.33\.7 \): workers are upgraded after every master/);
  assert.deepEqual(c.writes(), []);
  assert.equal(c.cordoned("lab-worker-0"), false);
});

test("once every master runs the release, a worker on the old one is marked, cordoned and drained; its uncordon undoes exactly that", () => {
  const c = cluster({ cluster: RELEASE, nodes: { ...MASTERS, "lab-worker-0": { kubelet: "v1.33.7" } } });
  const drained = c.run("drain", "lab-worker-0");
  assert.equal(drained.status, 0, drained.stderr);
  assert.deepEqual(
    c.writes().map((l) => l.split(" ").slice(0, 3).join(" ")),
    ["kubectl annotate node", "kubectl drain lab-worker-0"],
  );
  assert.ok(c.cordoned("lab-worker-0"));
  assert.match(c.writes()[1], /--ignore-daemonsets --delete-emptydir-data --timeout=600s/);
  // Not upgraded: the uncordon waits for it, then fails and leaves it cordoned.
  const early = c.run("uncordon", "lab-worker-0");
  assert.equal(early.status, 1);
  assert.match(early.stderr, /lab-worker-0 is not Ready on v1\.34\.2 after 3s/);
  assert.ok(c.cordoned("lab-worker-0"));
  // Upgraded by its own step: Ready on the release, uncordoned, the mark gone.
  c.upgraded("lab-worker-0", RELEASE);
  const r = c.run("uncordon", "lab-worker-0");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(c.cordoned("lab-worker-0"), false);
  assert.deepEqual(
    c
      .writes()
      .slice(2)
      .map((l) => l.split(" ").slice(0, 2).join(" ")),
    ["kubectl uncordon", "kubectl annotate"],
  );
  assert.match(c.writes()[3], /kubeadm-ha\.io\/upgrading-to-$/);
});

test("an operator's cordon stays: the uncordon leaves a node it did not cordon unschedulable", () => {
  const c = cluster({ cluster: RELEASE, nodes: { ...MASTERS, "lab-worker-1": { kubelet: RELEASE, cordoned: true } } });
  const r = c.run("uncordon", "lab-worker-1");
  assert.equal(r.status, 0, r.stderr);
  assert.ok(c.cordoned("lab-worker-1"));
  assert.deepEqual(c.writes(), []);
});

test("no worker is drained while the controller-manager has no leader renewing its Lease (its evicted pods would keep their Service endpoints)", () => {
  const c = cluster({ cluster: RELEASE, nodes: { ...MASTERS, "lab-worker-0": { kubelet: "v1.33.7" } }, leaderless: true });
  const r = c.run("drain", "lab-worker-0");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /kube-controller-manager has no leader renewing its Lease after 3s \(last: gone-leader\/2026-12-04T10:00:00\.000000Z\): no drain/);
  assert.deepEqual(c.writes(), [], "nothing cordoned or drained");
});

test("a worker is drained only once kube-proxy's roll to the release has finished (a node between two kube-proxy pods keeps its old Service rules)", () => {
  const c = cluster({ cluster: RELEASE, nodes: { ...MASTERS, "lab-worker-0": { kubelet: "v1.33.7" }, "lab-worker-1": { kubelet: "v1.33.7" } }, kubeProxyRolling: 2 });
  // (The stand-in's roll finishes at the third look: time enough for three looks on a busy machine.)
  const r = c.run("drain", "lab-worker-0", { KUBEADM_HA_KUBE_PROXY_WAIT_S: "120" });
  assert.equal(r.status, 0, r.stderr);
  const calls = c.calls();
  const looks = calls.filter((l) => l.includes(" get daemonset kube-proxy "));
  assert.equal(looks.length, 3, "looked until the roll was seen finished");
  const drainAt = calls.findIndex((l) => l.startsWith("kubectl drain lab-worker-0"));
  assert.ok(drainAt > calls.lastIndexOf(looks[2]), "drained after the roll finished");
  assert.match(
    r.stdout,
    /kube-proxy's DaemonSet is rolling \(4 of 5 pods updated, 4 available\): waiting for it before the drain\n(.*\n)*kube-proxy's roll finished after \d+s of waiting/,
  );
});

test("no worker is drained while kube-proxy's roll does not finish: the step fails saying how far it is", () => {
  const c = cluster({ cluster: RELEASE, nodes: { ...MASTERS, "lab-worker-0": { kubelet: "v1.33.7" } }, kubeProxyRolling: 1000 });
  const r = c.run("drain", "lab-worker-0");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /kube-proxy's DaemonSet is still rolling after 3s \(generation\/observed\/desired\/updated\/available: 7\/7\/5\/4\/4\): no drain/);
  assert.deepEqual(c.writes(), [], "nothing cordoned or drained");
});

test("a kube-proxy roll held by a node that is not Ready does not hold the drain: it names the node and goes on", () => {
  const c = cluster({
    cluster: RELEASE,
    nodes: { ...MASTERS, "lab-worker-0": { kubelet: "v1.33.7" }, "lab-worker-1": { kubelet: "v1.33.7", notReady: true } },
    kubeProxyRolling: 1000,
  });
  const r = c.run("drain", "lab-worker-0");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /kube-proxy's roll is held by nodes that are not Ready \(lab-worker-1\): not waiting for it/);
  assert.ok(c.cordoned("lab-worker-0"));
});

test("a worker whose kubelet runs the release already fetches nothing, and is neither drained nor upgraded", () => {
  const c = cluster({ cluster: RELEASE, nodes: { ...MASTERS, "lab-worker-1": { kubelet: RELEASE } }, local: { kubelet: RELEASE, apiserver: RELEASE } });
  const drain = c.run("drain", "lab-worker-1");
  assert.equal(drain.status, 0, drain.stderr);
  assert.match(drain.stdout, /lab-worker-1 runs v1\.34\.2 already: no drain/);
  const fetch = c.run("fetch", "lab-worker-1");
  assert.equal(fetch.status, 0, fetch.stderr);
  assert.match(fetch.stdout, /lab-worker-1 runs v1\.34\.2 already: nothing to fetch/);
  const node = c.run("node", "lab-worker-1");
  assert.equal(node.status, 0, node.stderr);
  assert.match(node.stdout, /lab-worker-1 runs v1\.34\.2 already: nothing to upgrade/);
  assert.deepEqual(c.writes(), []);
});
