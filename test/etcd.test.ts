// The rendered etcd and validation scripts against a REAL three-member etcd (Debian's etcd-server) on
// loopback. kube-apiserver cannot run here, so `kubectl` is a named stand-in
// (test/fixtures/kubectl-standin) that forwards `kubectl exec etcd-<node> -- etcdctl`
// to that member and reports nodes Ready. Everything etcd answers is real.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { renderOnce, ROOT } from "./helpers";

const NAMES = ["prod-master-0", "prod-master-1", "prod-master-2"];
const BASE_PORT = 23790 + (process.pid % 50) * 20;
const clientUrl = (i: number) => `http://127.0.0.1:${BASE_PORT + i}`;
const peerUrl = (i: number) => `http://127.0.0.1:${BASE_PORT + 10 + i}`;

let dir: string;
let bin: string;
let log: string;
const procs: ChildProcess[] = [];

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, STANDIN_LOG: log, ETCDCTL_API: "3" };
  NAMES.forEach((n, i) => (e[`STANDIN_ETCD_${n.replace(/-/g, "_")}`] = clientUrl(i)));
  // The master the endpoint sent the step to (its etcd manifest names it on a real one).
  e.KUBEADM_HA_LOCAL_NODE = "prod-master-0";
  return e;
}

function run(script: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
  return spawnSync("bash", [join(bin, script), ...args], { encoding: "utf8", env: { ...env(), ...extra }, timeout: 60_000 });
}

function etcdctl(args: string[]) {
  return spawnSync("etcdctl", [`--endpoints=${clientUrl(0)}`, ...args], { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } });
}

/** Adds a learner that never starts, as an interrupted join leaves one. */
function addLearner(name: string, peerUrl: string) {
  // etcd refuses membership changes until every member has been connected for ~5 s.
  const add = () => etcdctl(["member", "add", name, "--learner", `--peer-urls=${peerUrl}`]);
  let r = add();
  for (let i = 0; i < 30 && r.status !== 0 && /unhealthy cluster/.test(r.stderr); i++) {
    spawnSync("sleep", ["0.5"]);
    r = add();
  }
  assert.equal(r.status, 0, r.stderr);
}

async function waitHealthy() {
  for (let i = 0; i < 100; i++) {
    if (etcdctl(["endpoint", "health", "--cluster"]).status === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("etcd did not become healthy");
}

before(async () => {
  assert.ok(!spawnSync("etcd", ["--version"]).error, "etcd is not installed: run ./setup.sh (Debian's etcd-server)");
  assert.ok(!spawnSync("jq", ["--version"]).error, "jq is not installed: run ./setup.sh");
  const r = await renderOnce("gcp-three-zone");
  dir = mkdtempSync(join(tmpdir(), "kubeadm-ha-etcd-"));
  bin = join(dir, "bin");
  log = join(dir, "kubectl.log");
  mkdirSync(bin);
  writeFileSync(log, "");
  for (const s of ["kubeadm-ha-wait-member", "kubeadm-ha-etcd-member", "kubeadm-ha-validate", "kubeadm-ha-refresh-endpoint-pods"]) {
    writeFileSync(join(bin, s), r.files.find((f) => f.path === `prod-master-0/usr/local/sbin/${s}`)!.content);
    chmodSync(join(bin, s), 0o755);
  }
  copyFileSync(join(ROOT, "test/fixtures/kubectl-standin"), join(bin, "kubectl"));
  chmodSync(join(bin, "kubectl"), 0o755);
  const cluster = NAMES.map((n, i) => `${n}=${peerUrl(i)}`).join(",");
  NAMES.forEach((name, i) => {
    procs.push(
      spawn(
        "etcd",
        [
          "--name",
          name,
          "--data-dir",
          join(dir, name),
          "--listen-client-urls",
          clientUrl(i),
          "--advertise-client-urls",
          clientUrl(i),
          "--listen-peer-urls",
          peerUrl(i),
          "--initial-advertise-peer-urls",
          peerUrl(i),
          "--initial-cluster",
          cluster,
          "--initial-cluster-state",
          "new",
          "--initial-cluster-token",
          `t${process.pid}`,
          "--heartbeat-interval",
          "100",
          "--election-timeout",
          "1000",
        ],
        { stdio: "ignore" },
      ),
    );
  });
  await waitHealthy();

  // Three stand-in apiservers: two ready, one answering like an apiserver whose etcd check fails.
  spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    join(dir, "tls.key"),
    "-out",
    join(dir, "tls.crt"),
    "-subj",
    "/CN=127.0.0.1",
    "-days",
    "1",
  ]);
  const answers: Array<[number, string]> = [
    [200, "ok"],
    [200, "ok"],
    [500, "[-]etcd failed: reason withheld"],
  ];
  await Promise.all(
    answers.map(
      ([status, body], i) =>
        new Promise<void>((resolve, reject) => {
          const p = spawn(process.execPath, [
            join(ROOT, "test/fixtures/readyz-standin.js"),
            String(BASE_PORT + 5 + i),
            join(dir, "tls.crt"),
            join(dir, "tls.key"),
            String(status),
            body,
          ]);
          procs.push(p);
          p.stdout.once("data", () => resolve());
          p.once("exit", (code) => reject(new Error(`readyz stand-in exited ${code}`)));
        }),
    ),
  );
});

const apiserverUrls = (n: number) => Array.from({ length: n }, (_, i) => `https://127.0.0.1:${BASE_PORT + 5 + i}`).join(" ");
function validate(apiservers: string, extra: NodeJS.ProcessEnv = {}) {
  return run("kubeadm-ha-validate", [], { KUBEADM_HA_APISERVER_URLS: apiservers, ...extra });
}

after(() => {
  for (const p of procs) p.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("wait-member passes once the node is Ready and a healthy etcd voter", () => {
  const res = run("kubeadm-ha-wait-member", ["prod-master-2", "20"]);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /node prod-master-2 is Ready and a healthy etcd voter; etcd has 3 healthy voting members/);
});

test("a learner, or a member of a master the stack does not list, never holds up a master's turn: wait-member passes and names them", () => {
  // A learner an interrupted join left (its own join clears it), and a fourth master, since
  // dropped from the stack and down (its member is pruned after the turns): neither is the
  // stack's, so neither counts.
  addLearner("learner-x", "http://127.0.0.1:1");
  try {
    const res = run("kubeadm-ha-wait-member", ["prod-master-2", "20"]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /etcd has 3 healthy voting members of the stack's masters \(not counted: \(a learner not started\)\)/);
    // A learner an interrupted join left behind has no name yet; its peer URL says whose it is.
    const show = run("kubeadm-ha-etcd-member", ["show", "learner-x", "http://127.0.0.1:1"]);
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /^learner-x is etcd member [0-9a-f]+ \(asked prod-master-0\)$/m);
  } finally {
    const left = etcdctl(["member", "list"])
      .stdout.split("\n")
      .find((l) => l.includes("http://127.0.0.1:1,"));
    if (left) assert.equal(etcdctl(["member", "remove", left.split(",")[0]]).status, 0);
  }
});

test("wait-member holds a turn while another master of the stack has an etcd that does not answer, naming it", async () => {
  // prod-master-2's etcd frozen (SIGSTOP): the other two keep quorum, its health check times out.
  const frozen = procs[2];
  frozen.kill("SIGSTOP");
  try {
    const res = run("kubeadm-ha-wait-member", ["prod-master-0", "6"]);
    assert.equal(res.status, 1);
    assert.match(res.stderr, new RegExp(`gave up after 6s: etcd reports an unhealthy member among the stack's masters' \\(.*${clientUrl(2).replace(/\./g, "\\.")}.*\\)`));
  } finally {
    frozen.kill("SIGCONT");
  }
  await waitHealthy();
});

test("a learner left by an interrupted join is removed by its peer URL, so the next join is not blocked", () => {
  addLearner("learner-y", "http://127.0.0.1:2");
  const res = run("kubeadm-ha-etcd-member", ["remove", "learner-y", "http://127.0.0.1:2"]);
  assert.equal(res.status, 0, res.stderr);
  assert.ok(!etcdctl(["member", "list"]).stdout.includes("http://127.0.0.1:2,"), "the learner is still a member");
  assert.equal(run("kubeadm-ha-wait-member", ["prod-master-2", "20"]).status, 0);
});

test("a master that leaves the stack after a failed join (a grow reverted) is drained and its learner removed by peer URL; leaving again changes nothing", () => {
  addLearner("prod-master-3", "http://127.0.0.1:3");
  const res = run("kubeadm-ha-etcd-member", ["leave", "prod-master-3", "http://127.0.0.1:3"]);
  assert.equal(res.status, 0, res.stderr);
  assert.match(
    res.stdout,
    /prod-master-3 has left the stack: draining it, then removing its Node and etcd member \(through prod-master-0\)\n[^]*prod-master-3: no Node and no etcd member left\n/,
  );
  assert.ok(!etcdctl(["member", "list"]).stdout.includes("http://127.0.0.1:3,"), "the learner is still a member");
  assert.match(readFileSync(log, "utf8"), /drain prod-master-3 --ignore-daemonsets[^\n]*\ndelete node prod-master-3 --ignore-not-found\n/);
  const again = run("kubeadm-ha-etcd-member", ["leave", "prod-master-3", "http://127.0.0.1:3"]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(etcdctl(["member", "list"]).stdout.trim().split("\n").length, 3);
});

test("the membership step finds a master's member by name", () => {
  const res = run("kubeadm-ha-etcd-member", ["show", "prod-master-1"]);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^prod-master-1 is etcd member [0-9a-f]+ \(asked prod-master-0\)$/m);
  assert.equal(run("kubeadm-ha-etcd-member", ["show", "prod-master-9"]).status, 1);
});

test("a step meant for any master learns which master it runs on from its etcd manifest, and a machine with none refuses it", () => {
  const manifest = join(dir, "etcd.yaml");
  // The lines of kubeadm's etcd static pod manifest that matter here.
  writeFileSync(manifest, "spec:\n  containers:\n  - command:\n    - etcd\n    - --advertise-client-urls=https://10.0.0.11:2379\n    - --name=prod-master-1\n");
  const shown = run("kubeadm-ha-etcd-member", ["show", "prod-master-2"], { KUBEADM_HA_LOCAL_NODE: "", KUBEADM_HA_ETCD_MANIFEST: manifest });
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /\(asked prod-master-1\)$/m);
  const refused = validate(apiserverUrls(2), { KUBEADM_HA_LOCAL_NODE: "", KUBEADM_HA_ETCD_MANIFEST: join(dir, "absent.yaml") });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /runs no etcd member \(no name in .*absent\.yaml\): not a master of this cluster/);
});

test("validation passes on whichever master it runs when every node is Ready, every apiserver is ready and etcd has three healthy voters", () => {
  const res = validate(apiserverUrls(2), { KUBEADM_HA_LOCAL_NODE: "prod-master-1" });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /control plane healthy: 3 nodes Ready/);
});

test("validation fails pulumi up naming the apiserver that is not ready", () => {
  const res = validate(apiserverUrls(3));
  assert.equal(res.status, 1);
  assert.match(res.stderr, new RegExp(`apiserver https://127\\.0\\.0\\.1:${BASE_PORT + 7} does not answer /readyz with ok \\(got: \\[-\\]etcd failed`));
});

test("fewer masters: the members and control-plane Nodes the stack no longer has are drained and pruned, even by the master being removed, and writes go on", () => {
  // Three masters to one. The endpoint sent the step to prod-master-1, one of the masters the
  // stack dropped: its own member goes last, so its etcd answers for the other removals. A
  // control-plane Node of an older master, long down, is left over too.
  const res = run("kubeadm-ha-etcd-member", ["prune", "prod-master-0"], {
    KUBEADM_HA_LOCAL_NODE: "prod-master-1",
    STANDIN_CONTROL_PLANE_NODES: "prod-master-0 prod-master-1 prod-master-2 prod-master-7",
    STANDIN_NOT_READY_NODES: "prod-master-7",
  });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /prod-master-2 is a master this stack no longer has[^]*prod-master-7 is a master[^]*prod-master-1 \(this master\) is a master this stack no longer has/);
  assert.match(res.stdout, /pruned 3 former masters; the stack's masters: prod-master-0 \(on prod-master-1\)\n/);
  const left = etcdctl(["member", "list"]).stdout;
  assert.deepEqual(
    left
      .trim()
      .split("\n")
      .map((l) => l.split(", ")[2]),
    ["prod-master-0"],
    left,
  );
  const deleted = readFileSync(log, "utf8");
  for (const n of ["prod-master-2", "prod-master-7", "prod-master-1"]) assert.match(deleted, new RegExp(`delete node ${n} --ignore-not-found`));
  assert.doesNotMatch(deleted, /delete node prod-master-0/);
  // The masters still Ready hand their pods over first; the one that is down has none to hand over.
  assert.match(deleted, /drain prod-master-2 --ignore-daemonsets[^\n]*\ndelete node prod-master-2 /);
  assert.match(deleted, /drain prod-master-1 --ignore-daemonsets[^\n]*\ndelete node prod-master-1 /);
  assert.doesNotMatch(deleted, /drain prod-master-7|drain prod-master-0/);
  // Run again: nothing left to prune.
  const again = run("kubeadm-ha-etcd-member", ["prune", "prod-master-0"], { STANDIN_CONTROL_PLANE_NODES: "prod-master-0" });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /pruned 0 former masters/);
  // Removing the leader triggers an election (~1 s with these timings): writes resume after it.
  let put = etcdctl(["--command-timeout=2s", "put", "k", "v"]);
  for (let i = 0; i < 10 && put.status !== 0; i++) put = etcdctl(["--command-timeout=2s", "put", "k", "v"]);
  assert.equal(put.status, 0, put.stderr);
  // The removed master is no member any more; a re-run of a survivor's wait passes in the smaller cluster.
  const gone = run("kubeadm-ha-wait-member", ["prod-master-2", "6"]);
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /prod-master-2 is not a voting etcd member \(it is absent\)/);
  assert.equal(run("kubeadm-ha-wait-member", ["prod-master-0", "20"]).status, 0);
  const v = validate(apiserverUrls(2));
  assert.equal(v.status, 1);
  assert.match(v.stderr, /etcd has 1 voting members, want 3/);
});

test("the cluster's last etcd member stays when its master leaves (a destroy's last removal): its host's reset ends it", () => {
  const res = run("kubeadm-ha-etcd-member", ["leave", "prod-master-0", clientUrl(0).replace(/\d+$/, String(BASE_PORT + 10))]);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^prod-master-0 holds the cluster's last etcd member: it stays/m);
  assert.deepEqual(
    etcdctl(["member", "list"])
      .stdout.trim()
      .split("\n")
      .map((l) => l.split(", ")[2]),
    ["prod-master-0"],
  );
});

test("a removal that cannot reach etcd fails the step, naming the member, so the next pulumi up runs it again", () => {
  const res = run("kubeadm-ha-etcd-member", ["remove", "prod-master-1"], { STANDIN_ETCD_prod_master_0: "http://127.0.0.1:1", KUBEADM_HA_REMOVE_TIMEOUT_S: "3" });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /could not remove the etcd member of prod-master-1 through prod-master-0 in \d+s/);
});

test("after a join, the host-network DaemonSet pods that started with the peer's endpoint address are restarted, and only those", () => {
  const pods = join(dir, "kubelet-pods");
  const hosts = join(dir, "hosts");
  const entry = (address: string) => `127.0.0.1 localhost\n${address} api.prod.internal # kubeadm-ha endpoint\n`;
  writeFileSync(hosts, entry("10.10.0.11"));
  // kube-proxy started while the name pointed at master-0 (the peer it joined through); a
  // CNI pod started after the switch; the apiserver's mirror pod (owned by its Node) with the old copy.
  const copies: Record<string, string> = { "uid-proxy": "10.10.0.10", "uid-cni": "10.10.0.11", "uid-apiserver": "10.10.0.10" };
  for (const [uid, address] of Object.entries(copies)) {
    mkdirSync(join(pods, uid), { recursive: true });
    writeFileSync(join(pods, uid, "etc-hosts"), entry(address));
  }
  const listing = join(dir, "pods.txt");
  writeFileSync(
    listing,
    "uid-proxy kube-proxy-x7k2p DaemonSet kube-proxy\nuid-cni cni-node-4hd8s DaemonSet cni-node\nuid-apiserver kube-apiserver-prod-master-1 Node prod-master-1\n",
  );
  writeFileSync(log, "");
  const env = { KUBEADM_HA_KUBELET_PODS: pods, KUBEADM_HA_HOSTS_FILE: hosts, STANDIN_PODS: listing };
  const res = run("kubeadm-ha-refresh-endpoint-pods", ["prod-master-1"], env);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /kube-proxy-x7k2p started with the endpoint at 10\.10\.0\.10, not 10\.10\.0\.11: restarting it/);
  assert.match(res.stdout, /1 restarted\n$/);
  assert.equal(readFileSync(log, "utf8"), "delete pod kube-proxy-x7k2p --wait=true\n");
  // The restarted pod has a fresh copy: run again, nothing to do.
  writeFileSync(join(pods, "uid-proxy", "etc-hosts"), entry("10.10.0.11"));
  const again = run("kubeadm-ha-refresh-endpoint-pods", ["prod-master-1"], env);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /0 restarted\n$/);
});
