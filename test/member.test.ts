// The rendered kubeadm-ha-member script decides on the machine whether a master inits or
// joins, from what the other masters answer; these tests run it for real (bash, curl, real
// TCP on loopback addresses, the real rendered set-endpoint and render-config scripts) with
// the machine's paths moved under a temporary root. kubeadm itself cannot run here: `kubeadm`
// is a named stand-in (test/fixtures/kubeadm-standin) that records what it was asked to do
// and writes or removes the files the real one would. The lab (npm run lab:cluster) runs the
// same script with the real kubeadm on real hosts.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "fs";
import { createServer, Server } from "https";
import { createServer as createTcpServer, Server as TcpServer } from "net";
import { join } from "path";
import { waitUntil } from "../lab/lab";
import { makeCa, sharedCaSpecs } from "../lab/pki";
import { MEMBER_STARTED, POD_LOGS } from "../components/plan/control-plane-member";
import { MEMBER_DONE } from "../components/plan/scripts";
import { SHARED_PKI_NAMES } from "../components/plan/pki";
import { file, freePort, renderOnce, ROOT, tempDir } from "./helpers";

const MASTERS = ["prod-master-0", "prod-master-1", "prod-master-2"];
// Each master on its own loopback address: the script probes the same ports on each.
const ADDRESS = (i: number) => `127.0.0.${i + 2}`;
const MOVED = ["/usr/local/sbin", "/etc/kubernetes", "/etc/kubeadm-ha", "/var/lib/kubeadm-ha", "/var/lib/etcd", "/run/kubeadm-ha", POD_LOGS];

let work: string;
let apiserverPort: number;
let etcdPorts: number[];
let scripts: Record<string, string>;
const servers: Array<Server | TcpServer> = [];

before(async () => {
  const r = await renderOnce("gcp-three-zone");
  scripts = Object.fromEntries(["kubeadm-ha-member", "kubeadm-ha-set-endpoint", "kubeadm-ha-render-config"].map((s) => [s, file(r, `prod-master-0/usr/local/sbin/${s}`)]));
  work = tempDir("kubeadm-ha-member-");
  apiserverPort = await freePort();
  etcdPorts = [await freePort(), await freePort()];
});
after(() => {
  for (const s of servers) s.close();
  rmSync(work, { recursive: true, force: true });
});

/** One master's machine: its paths under a root of its own, the shared PKI and token in place. */
function machine(name: string) {
  const root = join(work, name);
  rmSync(root, { recursive: true, force: true });
  const at = (p: string) => join(root, p);
  const bin = at("bin");
  for (const d of [...MOVED, "/etc/kubernetes/manifests", "/etc/kubeadm-ha/secrets"]) mkdirSync(at(d), { recursive: true });
  mkdirSync(bin);
  const moved = (text: string) => MOVED.reduce((t, p) => t.split(p).join(at(p)), text);
  for (const [s, text] of Object.entries(scripts)) {
    writeFileSync(at(`/usr/local/sbin/${s}`), moved(text));
    chmodSync(at(`/usr/local/sbin/${s}`), 0o755);
  }
  copyFileSync(join(ROOT, "test/fixtures/kubeadm-standin"), join(bin, "kubeadm"));
  chmodSync(join(bin, "kubeadm"), 0o755);
  for (const n of SHARED_PKI_NAMES) {
    mkdirSync(join(at("/etc/kubernetes/pki"), n, ".."), { recursive: true });
    writeFileSync(join(at("/etc/kubernetes/pki"), n), `shared ${n}\n`);
  }
  writeFileSync(at("/etc/kubeadm-ha/secrets/bootstrap-token"), "abcdef.0123456789abcdef\n");
  writeFileSync(at("/etc/kubeadm-ha/kubeadm-init.yaml"), "kind: InitConfiguration # token @@KUBEADM_HA_BOOTSTRAP_TOKEN@@\n");
  writeFileSync(at("/etc/kubeadm-ha/kubeadm-join.yaml"), "kind: JoinConfiguration # token @@KUBEADM_HA_BOOTSTRAP_TOKEN@@\n");
  writeFileSync(at("/hosts"), "127.0.0.1 localhost\n");
  const log = at("/kubeadm.log");
  writeFileSync(log, "");
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const p = spawn("bash", [at("/usr/local/sbin/kubeadm-ha-member"), name, ...args], {
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          KUBEADM_HA_MASTERS: MASTERS.map((m, i) => `${m}=${ADDRESS(i)}`).join(" "),
          KUBEADM_HA_APISERVER_PORT: String(apiserverPort),
          KUBEADM_HA_ETCD_PORTS: etcdPorts.join(" "),
          KUBEADM_HA_MEMBER_TIMEOUT_S: "6",
          KUBEADM_HA_HOSTS_FILE: at("/hosts"),
          KUBEADM_HA_TOKEN_FILE: at("/etc/kubeadm-ha/secrets/bootstrap-token"),
          STANDIN_ROOT: root,
          STANDIN_LOG: log,
          ...env,
        },
      });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += d));
      p.stderr.on("data", (d) => (stderr += d));
      p.on("close", (status) => done({ status, stdout, stderr }));
    });
  // kubectl finds no bootstrap token in the cluster: a joining master creates its own.
  writeFileSync(join(bin, "kubectl"), '#!/bin/sh\necho "Error from server (NotFound): secrets not found" >&2\nexit 1\n');
  chmodSync(join(bin, "kubectl"), 0o755);
  return {
    name,
    at,
    run,
    kubeadm: () => readFileSync(log, "utf8").trim().split("\n").filter(Boolean),
    endpoint: () => /^(\S+) \S+ # kubeadm-ha endpoint$/m.exec(readFileSync(at("/hosts"), "utf8"))?.[1],
  };
}

/** An apiserver that answers /readyz on a master's address: https, as the real one. */
async function apiserver(i: number, answer = "ok"): Promise<Server> {
  const { certPem, keyPem } = makeCa(sharedCaSpecs("member-test")[0]);
  const s = createServer({ cert: certPem, key: keyPem }, (req, res) => res.end(req.url === "/readyz" ? answer : "not found"));
  await new Promise<void>((ok) => s.listen(apiserverPort, ADDRESS(i), ok));
  servers.push(s);
  return s;
}

/** Something listening on an etcd port of a master (a member whose apiserver is not ready). */
async function listening(i: number, port: number): Promise<TcpServer> {
  const s = createTcpServer((c) => c.destroy());
  await new Promise<void>((ok) => s.listen(port, ADDRESS(i), ok));
  servers.push(s);
  return s;
}

/** What kubeadm is asked on a join: the node's certificates, then the join. */
const joined = (m: { name: string; at: (p: string) => string }) => [
  // The token it joins with exists in the cluster first, made with a credential minted from the shared CA.
  `kubeconfig user --config ${m.at("/etc/kubeadm-ha/certificates.yaml")} --client-name kubeadm-ha:token:${m.name} --org kubeadm:cluster-admins --validity-period 1h`,
  `token create abcdef.0123456789abcdef --kubeconfig ${m.at("/run/kubeadm-ha/token-admin.conf")} --ttl 720h --description kubeadm-ha: nodes join with this token; pulumi up rotates it --groups system:bootstrappers:kubeadm:default-node-token --usages signing,authentication`,
  `join phase control-plane-prepare certs --config ${m.at("/run/kubeadm-ha/kubeadm.yaml")}`,
  `join --config ${m.at("/run/kubeadm-ha/kubeadm.yaml")}`,
];

const closeAll = async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((ok) => s.close(ok))));
};

describe("kubeadm-ha-member decides on the machine", () => {
  afterEach(closeAll);
  test("on a new cluster (every other master refuses the apiserver and etcd ports) master-0 inits, through itself", async () => {
    const m = machine("prod-master-0");
    const r = await m.run([]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /no master of this stack holds a cluster .*; kubeadm init/);
    assert.deepEqual(m.kubeadm(), [`init --config ${m.at("/run/kubeadm-ha/kubeadm.yaml")} --skip-token-print`]);
    assert.equal(m.endpoint(), ADDRESS(0));
    assert.ok(existsSync(m.at(MEMBER_DONE)) && !existsSync(m.at(MEMBER_STARTED)));
    assert.ok(!existsSync(m.at("/run/kubeadm-ha/kubeadm.yaml")), "the config with the token was left behind");
  });

  test("a replaced master-0 joins the existing cluster through a master that answers, never inits a second one", async () => {
    await apiserver(2);
    const m = machine("prod-master-0");
    const r = await m.run([]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`the apiserver at ${ADDRESS(2).replace(/\./g, "\\.")} answers; kubeadm join --control-plane`));
    assert.deepEqual(m.kubeadm(), joined(m));
    assert.equal(m.endpoint(), ADDRESS(2));
  });

  test("with local-proxy the join goes through the address given (the node's own proxy)", async () => {
    await apiserver(1);
    const m = machine("prod-master-2");
    const r = await m.run(["127.0.0.1"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(m.kubeadm(), joined(m));
    assert.equal(m.endpoint(), "127.0.0.1");
  });

  test("master-0 never inits while another master holds etcd but no apiserver answers: it gives up naming that master", async () => {
    await listening(1, etcdPorts[1]);
    const m = machine("prod-master-0");
    const r = await m.run([]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`gave up after 6s: prod-master-1 \\(${ADDRESS(1).replace(/\./g, "\\.")}\\) answers on port ${etcdPorts[1]}`));
    assert.deepEqual(m.kubeadm(), []);
  });

  test("another master never inits: without an apiserver to join it waits, then says why", async () => {
    const m = machine("prod-master-1");
    const r = await m.run([]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /gave up after 6s: no other master's apiserver answers \/readyz/);
    assert.deepEqual(m.kubeadm(), []);
  });

  test("a re-run after kubeadm finished is a no-op", async () => {
    await apiserver(0);
    const m = machine("prod-master-1");
    assert.equal((await m.run([])).status, 0);
    const again = await m.run([]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /kubeadm ran to completion here before; nothing to do/);
    assert.deepEqual(m.kubeadm(), joined(m));
  });

  test("a join killed midway is reset and run again on the next pulumi up, keeping the shared PKI", async () => {
    await apiserver(0);
    const m = machine("prod-master-2");
    const failed = await m.run([], { STANDIN_KUBEADM_FAIL: "join" });
    assert.notEqual(failed.status, 0);
    assert.ok(existsSync(m.at(MEMBER_STARTED)) && !existsSync(m.at(MEMBER_DONE)));
    const retry = await m.run([]);
    assert.equal(retry.status, 0, retry.stderr);
    assert.match(retry.stdout, /an earlier kubeadm run here did not finish; kubeadm reset, then again/);
    const calls = m.kubeadm().map((c) => c.split(" --")[0]);
    const joinCalls = ["kubeconfig user", "token create abcdef.0123456789abcdef", "join phase control-plane-prepare certs", "join"];
    assert.deepEqual(calls, [...joinCalls, "reset", ...joinCalls]);
    for (const n of SHARED_PKI_NAMES) assert.equal(readFileSync(join(m.at("/etc/kubernetes/pki"), n), "utf8"), `shared ${n}\n`, `${n} was lost by the reset`);
    assert.ok(existsSync(m.at(MEMBER_DONE)) && !existsSync(m.at(MEMBER_STARTED)));
  });

  test("a failed join says whether the kubelet ever started etcd, and what etcd said last", async () => {
    await apiserver(0);
    const m = machine("prod-master-2");
    const never = await m.run([], { STANDIN_KUBEADM_FAIL: "join" });
    assert.notEqual(never.status, 0);
    assert.match(
      never.stderr,
      /kubeadm join failed on prod-master-2; what its kubelet and etcd did:\n  the kubelet does not answer http:\/\/127\.0\.0\.1:10248\/healthz; its last lines \(journalctl -u kubelet\):\n {4}\S/,
    );
    assert.match(never.stderr, /etcd never started here: the kubelet did not run \S*\/etc\/kubernetes\/manifests\/etcd\.yaml/);
    // The kubelet started etcd twice; the newer log is the one quoted.
    const pod = m.at(`${POD_LOGS}/kube-system_etcd-prod-master-2_0123/etcd`);
    mkdirSync(pod, { recursive: true });
    writeFileSync(join(pod, "0.log"), "first start\n");
    writeFileSync(join(pod, "1.log"), `${"x".repeat(400)}\nrejected connection from 10.0.0.1 (remote certificate is not valid for 10.0.0.3)\n`);
    utimesSync(join(pod, "0.log"), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const started = await m.run([], { STANDIN_KUBEADM_FAIL: "join" });
    assert.notEqual(started.status, 0);
    assert.match(started.stderr, /etcd started 2 time\(s\) here; its last lines:\n {4}x{300}\n {4}rejected connection from 10\.0\.0\.1/);
    assert.doesNotMatch(started.stderr, /first start/);
    assert.match(started.stderr, /the next pulumi up resets prod-master-2 and joins it again/);
  });

  test("a control plane set up before the markers existed is recorded as done, never reset", async () => {
    const m = machine("prod-master-1");
    for (const f of ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/admin.conf", "/etc/kubernetes/manifests/etcd.yaml"]) writeFileSync(m.at(f), "from an earlier version\n");
    const r = await m.run([]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(m.kubeadm(), []);
    assert.ok(existsSync(m.at(MEMBER_DONE)));
  });

  /** Runs `f` with Debian's etcd as master-1's member (plain HTTP: the script's TLS flags are for the real one). */
  async function withEtcdOnMaster1(f: (etcdctl: (...args: string[]) => ReturnType<typeof spawnSync>) => Promise<void>) {
    const data = join(work, `etcd-1-${Date.now()}`);
    const peerPort = await freePort();
    const etcd = spawn(
      "etcd",
      [
        "--name",
        "prod-master-1",
        "--data-dir",
        data,
        "--listen-client-urls",
        `http://${ADDRESS(1)}:${etcdPorts[0]}`,
        "--advertise-client-urls",
        `http://${ADDRESS(1)}:${etcdPorts[0]}`,
        "--listen-peer-urls",
        `http://${ADDRESS(1)}:${peerPort}`,
        "--initial-advertise-peer-urls",
        `http://${ADDRESS(1)}:${peerPort}`,
        "--initial-cluster",
        `prod-master-1=http://${ADDRESS(1)}:${peerPort}`,
      ],
      { stdio: "ignore" },
    );
    const etcdctl = (...args: string[]) =>
      spawnSync("etcdctl", [`--endpoints=http://${ADDRESS(1)}:${etcdPorts[0]}`, ...args], { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } });
    try {
      await waitUntil("etcd to be healthy", () => etcdctl("endpoint", "health").status === 0, 10_000, 100);
      await f(etcdctl);
    } finally {
      etcd.kill("SIGKILL");
    }
  }

  test("a replaced master-0 removes the member its predecessor left from the real etcd before it joins, by name or address", async () => {
    await withEtcdOnMaster1(async (etcdctl) => {
      // What the lost master-0 left: a learner at its address whose etcd never started (no name yet).
      const add = etcdctl("member", "add", "prod-master-0", "--learner", `--peer-urls=https://${ADDRESS(0)}:2380`);
      assert.equal(add.status, 0, String(add.stderr));
      await apiserver(1);
      const m = machine("prod-master-0");
      const r = await m.run([], { KUBEADM_HA_ETCD_SCHEME: "http" });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /prod-master-0: removing etcd member [0-9]+, left under this node's name or address by an earlier machine/);
      assert.doesNotMatch(r.stdout, /removing etcd learner/);
      const members = String(etcdctl("member", "list").stdout);
      assert.doesNotMatch(members, new RegExp(`https://${ADDRESS(0).replace(/\./g, "\\.")}:2380`));
      assert.match(members, /prod-master-1/);
      assert.deepEqual(m.kubeadm(), joined(m));
    });
  });

  test("a learner left by a master the stack no longer lists is removed before a join (etcd takes one learner at a time)", async () => {
    await withEtcdOnMaster1(async (etcdctl) => {
      // An interrupted join of a fourth master, since dropped from the stack.
      const add = etcdctl("member", "add", "prod-master-3", "--learner", "--peer-urls=https://10.10.0.13:2380");
      assert.equal(add.status, 0, String(add.stderr));
      await apiserver(1);
      const m = machine("prod-master-2");
      const r = await m.run([], { KUBEADM_HA_ETCD_SCHEME: "http" });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /prod-master-2: removing etcd learner [0-9]+, left by an interrupted join of a master this stack does not list/);
      assert.doesNotMatch(String(etcdctl("member", "list").stdout), /10\.10\.0\.13/);
      assert.deepEqual(m.kubeadm(), joined(m));
    });
  });

  test("a node that is not a master of the stack is refused", async () => {
    machine("prod-master-0");
    const stranger = spawnSync("bash", [join(work, "prod-master-0", "usr/local/sbin/kubeadm-ha-member"), "prod-worker-9"], {
      encoding: "utf8",
      env: { ...process.env, KUBEADM_HA_MASTERS: "prod-master-0=127.0.0.2" },
    });
    assert.equal(stranger.status, 2);
    assert.match(stranger.stderr, /prod-worker-9 is not a master of this stack/);
  });
});
