// The external etcd cluster's plan: where members run, the quorum per zone, the order they
// join in, and the kubeadm configs. Then for real: the rendered member script runs on three
// lab hosts (a network namespace and a root each) with kubeadm 1.34.2, which makes each
// member's certificates and static pod from the program's config and one etcd CA, and the
// toolchain's etcd runs the static pods: the first machine starts the cluster, the others
// join one at a time as learners and are promoted; a re-run changes nothing; a replaced
// first machine joins the running cluster instead of starting a second one; two members due
// at once renew their certificates one at a time, through a lock in etcd itself.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { parse } from "yaml";
import { awsSubnets, placeEtcdMembers } from "../components/plan/cluster-plan";
import {
  clientUrl,
  EtcdMemberPlan,
  externalEtcd,
  INITIAL_CLUSTER_PLACEHOLDER,
  INITIAL_CLUSTER_STATE_PLACEHOLDER,
  peerUrl,
  zonesHoldingQuorum,
} from "../components/plan/etcd-cluster";
import { etcdMemberConfig } from "../components/plan/kubeadm";
import { ETCD_MEMBER_CONFIG, etcdJoinScript } from "../components/plan/etcd-member";
import { ETCD_CERTIFICATES_LOCK, etcdMemberCertificatesScript } from "../components/plan/certificates";
import { planCluster } from "../components/plan/cluster-plan";
import { validateClusterConfig } from "../components/config/validate";
import { writeSharedPki } from "../lab/kubeadm";
import { asHost, removeMountPoints } from "../lab/hostfs";
import { killNamespace, makeSwitch, plugHost } from "../lab/lab";
import { tool } from "../toolchain/cache";
import { tempDir, toolchainSkip } from "./helpers";

const GCP_ZONES = ["europe-west1-b", "europe-west1-c", "europe-west1-d"];

test("GCP: three members, one per zone, at .20 .21 .22 of the nodes' subnet, named after the cluster", () => {
  const m = placeEtcdMembers({ cluster: "prod", platform: "gcp", zones: GCP_ZONES, subnets: [{ name: "prod-nodes", cidr: "10.10.0.0/20", public: false }], count: 3 });
  assert.deepEqual(
    m.map((x) => [x.name, x.zone, x.ip, x.subnet]),
    [
      ["prod-etcd-0", "europe-west1-b", "10.10.0.20", "prod-nodes"],
      ["prod-etcd-1", "europe-west1-c", "10.10.0.21", "prod-nodes"],
      ["prod-etcd-2", "europe-west1-d", "10.10.0.22", "prod-nodes"],
    ],
  );
});

test("AWS: five members over three zones sit in their zone's private subnet, .20 then .21; no zone holds a quorum", () => {
  const zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
  const subnets = awsSubnets("prod", "10.20.0.0/20", zones);
  const m = placeEtcdMembers({ cluster: "prod", platform: "aws", zones, subnets, count: 5 });
  assert.deepEqual(
    m.map((x) => x.zone),
    ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a", "us-east-1b"],
  );
  for (const x of m) {
    const subnet = subnets.find((s) => s.name === x.subnet)!;
    assert.equal(subnet.zone, x.zone);
    assert.ok(!subnet.public, `${x.name} is in a private subnet`);
  }
  assert.deepEqual(
    m.map((x) => x.ip.split(".")[3]),
    ["20", "20", "20", "21", "21"],
  );
  assert.deepEqual(zonesHoldingQuorum(m.map((x) => x.zone)), []);
});

test("hosts you own: members are the hosts listed, in order, with their machine", () => {
  const hosts = [
    { name: "dc1-etcd-a", address: "10.103.97.220", zone: "rack-a", machine: "sn-1" },
    { name: "dc1-etcd-b", address: "10.103.97.221", zone: "rack-b" },
    { name: "dc1-etcd-c", address: "10.103.97.222", zone: "rack-c" },
  ];
  const m = placeEtcdMembers({ cluster: "dc1", platform: "static", zones: [], subnets: [{ name: "dc1-nodes", cidr: "10.103.97.0/24", public: false }], count: 0, hosts });
  assert.deepEqual(
    m.map((x) => [x.index, x.name, x.ip, x.zone, x.machine]),
    [
      [0, "dc1-etcd-a", "10.103.97.220", "rack-a", "sn-1"],
      [1, "dc1-etcd-b", "10.103.97.221", "rack-b", undefined],
      [2, "dc1-etcd-c", "10.103.97.222", "rack-c", undefined],
    ],
  );
});

test("a zone holding a quorum of the members is named: losing it stops the cluster", () => {
  assert.deepEqual(zonesHoldingQuorum(["a", "a", "b"]), ["a"]);
  assert.deepEqual(zonesHoldingQuorum(["a", "a", "a", "b", "c"]), ["a"]);
  assert.deepEqual(zonesHoldingQuorum(["a", "a", "b", "b", "c"]), []);
  assert.deepEqual(zonesHoldingQuorum(["a", "b", "c"]), []);
});

test("every apiserver is given every member's client URL, in plan order, with the client files", () => {
  const m = placeEtcdMembers({ cluster: "prod", platform: "gcp", zones: GCP_ZONES, subnets: [{ name: "prod-nodes", cidr: "10.10.0.0/20", public: false }], count: 3 });
  assert.deepEqual(externalEtcd(m), {
    endpoints: ["https://10.10.0.20:2379", "https://10.10.0.21:2379", "https://10.10.0.22:2379"],
    caFile: "/etc/kubernetes/pki/etcd/ca.crt",
    certFile: "/etc/kubernetes/pki/apiserver-etcd-client.crt",
    keyFile: "/etc/kubernetes/pki/apiserver-etcd-client.key",
  });
});

test("a member's kubeadm config: its name and address in both certificates, placeholders for the members it starts with, and etcd's timing", () => {
  const m = placeEtcdMembers({ cluster: "prod", platform: "gcp", zones: GCP_ZONES, subnets: [{ name: "prod-nodes", cidr: "10.10.0.0/20", public: false }], count: 3 });
  const docs = etcdMemberConfig({ clusterName: "prod", kubernetesVersion: "1.34.2", certificateValidity: "8760h0m0s", member: m[1] })
    .split(/^---$/m)
    .map((d) => parse(d));
  const cluster = docs.find((d) => d.kind === "ClusterConfiguration");
  assert.deepEqual(cluster.etcd.local.serverCertSANs, ["10.10.0.21", "prod-etcd-1"]);
  assert.deepEqual(cluster.etcd.local.peerCertSANs, ["10.10.0.21", "prod-etcd-1"]);
  const args = Object.fromEntries(cluster.etcd.local.extraArgs.map((a: { name: string; value: string }) => [a.name, a.value]));
  // Whom it starts with is known on the machine, when it joins: its member script fills these in.
  assert.equal(args["initial-cluster"], INITIAL_CLUSTER_PLACEHOLDER);
  assert.equal(args["initial-cluster-state"], INITIAL_CLUSTER_STATE_PLACEHOLDER);
  assert.equal(args["listen-client-urls"], "https://10.10.0.21:2379,https://127.0.0.1:2379");
  assert.equal(docs.find((d) => d.kind === "InitConfiguration").localAPIEndpoint.advertiseAddress, "10.10.0.21");
});

// ------------------------------------------------------------------ kubeadm and etcd, for real

const NOT_ROOT = typeof process.getuid === "function" && process.getuid() !== 0 ? "needs root: kubeadm runs as a lab host (private mounts)" : undefined;
const SKIP = toolchainSkip(["kubeadm", "etcd", "etcdctl"]) || NOT_ROOT;
const procs: ChildProcess[] = [];
/** A switch and a namespace per member: three machines on one segment, each with its own loopback. */
const SWITCH = `kh-etcsw-${process.pid % 100000}`;
const nsOf = (m: EtcdMemberPlan) => `kh-etc${m.index}-${process.pid % 100000}`;
const made: string[] = [];
after(() => {
  for (const p of procs) p.kill("SIGKILL");
  for (const ns of made) {
    killNamespace(ns);
    spawnSync("ip", ["netns", "delete", ns]);
  }
  removeMountPoints();
});

/**
 * Three etcd machines as lab hosts (a network namespace each, on one switch; their files
 * under a root of their own), each running the rendered member script with the real kubeadm,
 * curl and jq. The test is their kubelet: when kubeadm writes a machine's static pod manifest,
 * it runs the manifest's command (the toolchain's etcd) as that host.
 */
// (kept after the run with KUBEADM_HA_TRACE, for its traces and etcd logs)
const work = SKIP ? "" : process.env.KUBEADM_HA_TRACE ? mkdtempSync(join(tmpdir(), "kubeadm-ha-etcd-cluster-")) : tempDir("kubeadm-ha-etcd-cluster-");
const members = placeEtcdMembers({
  cluster: "prod",
  platform: "static",
  zones: [],
  subnets: [{ name: "lab", cidr: "10.250.0.0/24", public: false }],
  count: 0,
  hosts: [0, 1, 2].map((i) => ({ name: `prod-etcd-${i}`, address: `10.250.0.${i + 1}`, zone: `zone-${i}` })),
});
const rootOf = (m: EtcdMemberPlan) => join(work, m.name);
const pki = (m: EtcdMemberPlan) => join(rootOf(m), "etc/kubernetes/pki/etcd");
const manifestOf = (m: EtcdMemberPlan) => join(rootOf(m), "etc/kubernetes/manifests/etcd.yaml");
const logOf = (m: EtcdMemberPlan) => join(work, `${m.name}.etcd.log`);
const said = (m: EtcdMemberPlan) =>
  existsSync(logOf(m)) ? `${m.name}'s etcd said:\n` + readFileSync(logOf(m), "utf8").split("\n").slice(-6).join("\n") : `${m.name}'s etcd never ran`;
/** etcdctl on member `on`'s machine, to `to` (itself by default), with `on`'s health-check client certificate. */
const etcdctl = (on: EtcdMemberPlan, args: string[], to: EtcdMemberPlan = on) =>
  spawnSync(
    "ip",
    [
      "netns",
      "exec",
      nsOf(on),
      tool("etcdctl"),
      `--endpoints=${clientUrl(to)}`,
      `--cacert=${pki(on)}/ca.crt`,
      `--cert=${pki(on)}/healthcheck-client.crt`,
      `--key=${pki(on)}/healthcheck-client.key`,
      "--dial-timeout=2s",
      "--command-timeout=5s",
      ...args,
    ],
    { encoding: "utf8" },
  );
/** The members as etcd lists them: name, hex ID, peer URL, learner or voter (IDs in hex: JSON's uint64 does not survive a JS number). */
const listed = (asked: EtcdMemberPlan) =>
  etcdctl(asked, ["member", "list", "-w", "simple"])
    .stdout.split("\n")
    .filter(Boolean)
    .map((l) => {
      const [id, , name, peer, , learner] = l.split(", ");
      return { id, name, peer, learner: learner === "true" };
    });

/** The kubelet of each machine: the process running its static pod, and the manifest it runs. */
const kubelets = new Map<string, { proc: ChildProcess; manifest: string }>();
let kubeletTimer: NodeJS.Timeout | undefined;
function runStaticPods() {
  for (const m of members) {
    if (!existsSync(manifestOf(m))) {
      // Its manifest moved aside: the kubelet stops the pod.
      kubelets.get(m.name)?.proc.kill("SIGKILL");
      kubelets.delete(m.name);
      continue;
    }
    const text = readFileSync(manifestOf(m), "utf8");
    const running = kubelets.get(m.name);
    if (running && running.manifest === text && running.proc.exitCode === null) continue;
    running?.proc.kill("SIGKILL");
    const argv: string[] = parse(text).spec.containers[0].command;
    assert.equal(argv[0], "etcd");
    const cmd = asHost(rootOf(m), [tool("etcd"), ...argv.slice(1)], nsOf(m));
    const log = openSync(logOf(m), "a");
    const proc = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", log, log] });
    procs.push(proc);
    kubelets.set(m.name, { proc, manifest: text });
  }
}
/** The machine is gone: its etcd killed, its disk wiped. */
function lose(m: EtcdMemberPlan) {
  kubelets.get(m.name)?.proc.kill("SIGKILL");
  kubelets.delete(m.name);
  rmSync(rootOf(m), { recursive: true, force: true });
}
/** What the files and secrets steps write on an etcd machine: its kubeadm config and the etcd CA. */
function provision(m: EtcdMemberPlan, ca: { crt: string; key: string }) {
  mkdirSync(pki(m), { recursive: true });
  writeFileSync(join(pki(m), "ca.crt"), ca.crt);
  writeFileSync(join(pki(m), "ca.key"), ca.key, { mode: 0o600 });
  mkdirSync(join(rootOf(m), "etc/kubeadm-ha"), { recursive: true });
  writeFileSync(join(rootOf(m), ETCD_MEMBER_CONFIG), etcdMemberConfig({ clusterName: "prod", kubernetesVersion: "1.34.2", certificateValidity: "8760h0m0s", member: m }));
}
/** The member script on machine `m`, as that host; resolves with its exit status and output. */
function joinScript(m: EtcdMemberPlan): Promise<{ status: number | null; out: string }> {
  return asScript(m, join(work, "kubeadm-ha-etcd-join"), [m.name]);
}
/** A rendered script of `m`'s, run as that host with the real kubeadm; resolves with its exit status and output. */
function asScript(m: EtcdMemberPlan, script: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; out: string }> {
  // KUBEADM_HA_TRACE=1: each run's bash trace beside its output (a trace on stderr would be captured by the script's own $(...)).
  const traced = process.env.KUBEADM_HA_TRACE
    ? ["bash", "-c", `exec 9>>"${join(work, m.name + ".trace")}"; BASH_XTRACEFD=9; set -x; . "$0" "$@"`, script, ...args]
    : ["bash", script, ...args];
  const cmd = asHost(rootOf(m), traced, nsOf(m));
  const p = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, PATH: `${dirname(tool("kubeadm"))}:${process.env.PATH}`, KUBEADM_HA_ETCD_TIMEOUT_S: "120", ...env } });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (out += d));
  return new Promise((resolve) => p.on("close", (status) => resolve({ status, out })));
}
let ca: { crt: string; key: string };

describe("the etcd member script on three machines, with the real kubeadm and etcd", { skip: SKIP }, () => {
  before(() => {
    makeSwitch(SWITCH);
    made.push(SWITCH);
    for (const m of members) {
      plugHost(nsOf(m), SWITCH, `etc${m.index}-${process.pid % 100000}`, `${m.ip}/24`);
      made.push(nsOf(m));
    }
    // One etcd CA, the program's, on every etcd machine.
    const shared = writeSharedPki(join(work, "ca"), "prod");
    ca = { crt: shared.etcdCaCert, key: shared.etcdCaKey };
    for (const m of members) provision(m, ca);
    writeFileSync(join(work, "kubeadm-ha-etcd-join"), etcdJoinScript(members), { mode: 0o755 });
    kubeletTimer = setInterval(runStaticPods, 200);
  });
  after(() => clearInterval(kubeletTimer));

  test(
    "one at a time, the first machine starts the cluster and each next one joins as a learner and is promoted: three voters of the plan's names and URLs",
    { timeout: 300_000 },
    async () => {
      for (const m of members) {
        const r = await joinScript(m);
        assert.equal(r.status, 0, `${m.name}:\n${r.out}\n${said(m)}`);
        if (m.index === 0) assert.match(r.out, /no member of this stack holds a cluster \(each refuses ports 2379 2380\); starting it/);
        else {
          assert.match(r.out, /the member at 10\.250\.0\.1 answers; joining the cluster as a learner/);
          assert.match(r.out, /promoted from learner to voting member/);
        }
        assert.match(r.out, new RegExp(`${m.name}: a healthy voting member of the etcd cluster`));
      }
      assert.deepEqual(
        listed(members[2])
          .map((x) => [x.name, x.peer, x.learner])
          .sort(),
        members.map((m) => [m.name, peerUrl(m), false]),
      );
      assert.equal(etcdctl(members[0], ["put", "/kubeadm-ha/probe", "written-through-etcd-0"]).status, 0);
      // Each member serves it, asked from another member's machine (its client URL, its certificate's SANs).
      for (const m of members)
        assert.match(etcdctl(members[(m.index + 1) % 3], ["get", "/kubeadm-ha/probe", "--print-value-only"], m).stdout, /written-through-etcd-0/, `${m.name} serves it`);
    },
  );

  test("a re-run on a member changes nothing", { timeout: 120_000 }, async () => {
    const before = listed(members[0]);
    const r = await joinScript(members[1]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /prod-etcd-1: holds etcd data and its static pod: a member already/);
    assert.doesNotMatch(r.out, /learner|removing|starting it/);
    assert.deepEqual(listed(members[0]), before);
  });

  test(
    "a replaced etcd-0 (a new machine at its address, no data) removes its predecessor's member and joins the running cluster, never starts a second one",
    { timeout: 300_000 },
    async () => {
      const old = listed(members[1]).find((x) => x.name === "prod-etcd-0")!;
      lose(members[0]);
      provision(members[0], ca);
      const r = await joinScript(members[0]);
      assert.equal(r.status, 0, `${r.out}\n${said(members[0])}`);
      assert.match(r.out, new RegExp(`removing etcd member ${BigInt("0x" + old.id)},`));
      assert.match(r.out, /joining the cluster as a learner/);
      assert.doesNotMatch(r.out, /starting it/);
      const now = listed(members[2]);
      assert.deepEqual(
        now.map((x) => [x.name, x.peer, x.learner]).sort(),
        members.map((m) => [m.name, peerUrl(m), false]),
      );
      assert.notEqual(now.find((x) => x.name === "prod-etcd-0")!.id, old.id, "a new member, not the old one");
      // The new machine serves what the cluster held before it came.
      assert.match(etcdctl(members[1], ["get", "/kubeadm-ha/probe", "--print-value-only"], members[0]).stdout, /written-through-etcd-0/);
    },
  );

  test(
    "two members due at once renew their certificates one at a time, through a lock in etcd: each etcd restarted on new ones, every member healthy before the lock goes",
    { timeout: 300_000 },
    async () => {
      const config = validateClusterConfig(
        {
          platform: "static",
          clusterName: "prod",
          hosts: {
            masters: [0, 1, 2].map((i) => ({ name: `prod-master-${i}`, address: `10.250.0.${i + 11}`, zone: `zone-${i}` })),
            etcd: members.map((m) => ({ name: m.name, address: m.ip, zone: m.zone })),
          },
          network: { nodeCidr: "10.250.0.0/24" },
          endpoint: { mode: "local-proxy" },
          etcd: { topology: "external" },
        },
        "prod",
      );
      const plan = planCluster(config);
      const serial = (m: EtcdMemberPlan) => spawnSync("openssl", ["x509", "-noout", "-serial", "-in", join(pki(m), "server.crt")], { encoding: "utf8" }).stdout.trim();
      const renewing = [members[1], members[2]];
      const before = renewing.map(serial);
      for (const m of renewing) writeFileSync(join(work, `${m.name}-certificates`), etcdMemberCertificatesScript(plan, plan.etcd.members[m.index]), { mode: 0o755 });
      // Due: a window wider than the certificates' year.
      const due = { KUBEADM_HA_RENEW_BEFORE_S: String(400 * 86400), KUBEADM_HA_CERTIFICATES_TIMEOUT_S: "120" };
      const runs = await Promise.all(renewing.map((m) => asScript(m, join(work, `${m.name}-certificates`), ["renew-if-due"], due)));
      const spans = runs.map((r, i) => {
        assert.equal(r.status, 0, `${renewing[i].name}:\n${r.out}\n${said(renewing[i])}`);
        assert.match(r.out, /within the renewal window: renewing, one etcd member at a time/);
        assert.match(r.out, /etcd restarted on the renewed certificates, healthy/);
        const [start, end] = [/renewing started at (\d+)/, /renewing finished at (\d+)/].map((re) => Number(r.out.match(re)![1]));
        return { start, end };
      });
      const [first, second] = spans[0].start <= spans[1].start ? [spans[0], spans[1]] : [spans[1], spans[0]];
      assert.ok(second.start >= first.end, `one at a time: ${JSON.stringify(spans)}`);
      assert.ok(
        runs.some((r) => /waiting while prod-etcd-\d renews its certificates \(one etcd member at a time\)/.test(r.out)),
        "the second waited for the first, by name",
      );
      renewing.forEach((m, i) => assert.notEqual(serial(m), before[i], `${m.name}'s server certificate is a new one`));
      // The lock is gone; every member a healthy voter, serving what the cluster held.
      assert.equal(etcdctl(members[0], ["get", ETCD_CERTIFICATES_LOCK, "--print-value-only"]).stdout.trim(), "");
      assert.deepEqual(
        listed(members[0])
          .map((x) => [x.name, x.learner])
          .sort(),
        members.map((m) => [m.name, false]),
      );
      for (const m of members) assert.match(etcdctl(members[0], ["get", "/kubeadm-ha/probe", "--print-value-only"], m).stdout, /written-through-etcd-0/);
    },
  );

  test("a member's renewal lock left by a machine that stopped holding it goes with its lease; one it left itself is taken over at once", { timeout: 120_000 }, async () => {
    // prod-etcd-0's, with a lease of 2 s that nobody keeps alive (its machine stopped).
    const grant = etcdctl(members[0], ["lease", "grant", "2"]).stdout.match(/lease ([0-9a-f]+) granted/)![1];
    assert.equal(etcdctl(members[0], ["put", ETCD_CERTIFICATES_LOCK, "prod-etcd-0", `--lease=${grant}`]).status, 0);
    const script = join(work, "prod-etcd-1-certificates");
    const r = await asScript(members[1], script, ["renew-if-due"], {
      KUBEADM_HA_RENEW_BEFORE_S: String(400 * 86400),
      KUBEADM_HA_CERTIFICATES_TIMEOUT_S: "120",
      KUBEADM_HA_LEASE_WAIT_S: "60",
    });
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /waiting while prod-etcd-0 renews its certificates/);
    // prod-etcd-2's own, left by an interrupted run (without a lease: it would stay for ever).
    assert.equal(etcdctl(members[0], ["put", ETCD_CERTIFICATES_LOCK, "prod-etcd-2"]).status, 0);
    const own = await asScript(members[2], join(work, "prod-etcd-2-certificates"), ["renew-if-due"], {
      KUBEADM_HA_RENEW_BEFORE_S: String(400 * 86400),
      KUBEADM_HA_CERTIFICATES_TIMEOUT_S: "120",
      KUBEADM_HA_LEASE_WAIT_S: "30",
    });
    assert.equal(own.status, 0, own.out);
    assert.doesNotMatch(own.out, /waiting while/);
    assert.equal(etcdctl(members[0], ["get", ETCD_CERTIFICATES_LOCK, "--print-value-only"]).stdout.trim(), "");
  });

  test("etcd machines taken out leave the cluster one at a time, through a member that answers; the last one has nothing to leave", { timeout: 300_000 }, async () => {
    for (const [m, through] of [
      [members[2], members[0]],
      [members[1], members[0]],
    ] as const) {
      const r = await asScript(m, join(work, "kubeadm-ha-etcd-join"), [m.name, "leave"]);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, new RegExp(`${m.name}: removed from the etcd cluster through the member at ${through.ip.replace(/\./g, "\\.")}`));
      // Its reset: the machine gone.
      lose(m);
      const left = members.filter((x) => x.index < m.index);
      assert.deepEqual(
        listed(members[0])
          .map((x) => [x.name, x.learner])
          .sort(),
        left.map((x) => [x.name, false]),
      );
      for (const x of left) assert.match(etcdctl(members[0], ["get", "/kubeadm-ha/probe", "--print-value-only"], x).stdout, /written-through-etcd-0/, `${x.name} still serves`);
    }
    const last = await asScript(members[0], join(work, "kubeadm-ha-etcd-join"), [members[0].name, "leave"]);
    assert.equal(last.status, 0, last.out);
    assert.match(last.out, /prod-etcd-0: the etcd cluster's last member \(every other one refuses ports 2379 2380\): nothing to leave/);
    assert.equal(listed(members[0]).length, 1, "the last member is left to its reset");
  });
});
