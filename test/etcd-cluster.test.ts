// The external etcd cluster's plan: where members run, the quorum per zone, the order they
// join in, and the kubeadm configs. Then for real: kubeadm 1.34.2 makes each member's
// certificates and static pod manifest from those configs (as a lab host, under its own
// root, with one etcd CA), and the toolchain's etcd runs the manifests' commands on loopback
// addresses, members joining one at a time (added as a learner, promoted once caught up):
// three voters whose TLS names and URLs are the plan's, each serving what another wrote.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { awsSubnets } from "../components/plan/cluster-plan";
import { clientUrl, etcdMemberConfig, EtcdMemberPlan, externalEtcd, initialCluster, joinOf, peerUrl, placeEtcdMembers, zonesHoldingQuorum } from "../components/plan/etcd-cluster";
import { kubeadmPhases, writeSharedPki } from "../lab/kubeadm";
import { removeMountPoints } from "../lab/hostfs";
import { killNamespace, makeSwitch, plugHost, waitUntil } from "../lab/lab";
import { tool } from "../toolchain/cache";
import { tempDir, toolchainSkip } from "./helpers";

const GCP_ZONES = ["europe-west1-b", "europe-west1-c", "europe-west1-d"];

test("GCP: three members, one per zone, at .20 .21 .22 of the nodes' subnet, named after the cluster", () => {
  const m = placeEtcdMembers({ cluster: "prod", platform: "gcp", zones: GCP_ZONES, subnets: [{ name: "prod-nodes", cidr: "10.10.0.0/20", public: false }], count: 3 });
  assert.deepEqual(m.map((x) => [x.name, x.zone, x.ip, x.subnet]), [
    ["prod-etcd-0", "europe-west1-b", "10.10.0.20", "prod-nodes"],
    ["prod-etcd-1", "europe-west1-c", "10.10.0.21", "prod-nodes"],
    ["prod-etcd-2", "europe-west1-d", "10.10.0.22", "prod-nodes"],
  ]);
});

test("AWS: five members over three zones sit in their zone's private subnet, .20 then .21; no zone holds a quorum", () => {
  const zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
  const subnets = awsSubnets("prod", "10.20.0.0/20", zones);
  const m = placeEtcdMembers({ cluster: "prod", platform: "aws", zones, subnets, count: 5 });
  assert.deepEqual(m.map((x) => x.zone), ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a", "us-east-1b"]);
  for (const x of m) {
    const subnet = subnets.find((s) => s.name === x.subnet)!;
    assert.equal(subnet.zone, x.zone);
    assert.ok(!subnet.public, `${x.name} is in a private subnet`);
  }
  assert.deepEqual(m.map((x) => x.ip.split(".")[3]), ["20", "20", "20", "21", "21"]);
  assert.deepEqual(zonesHoldingQuorum(m.map((x) => x.zone)), []);
});

test("hosts you own: members are the hosts listed, in order, with their machine", () => {
  const hosts = [{ name: "dc1-etcd-a", address: "10.103.97.220", zone: "rack-a", machine: "sn-1" }, { name: "dc1-etcd-b", address: "10.103.97.221", zone: "rack-b" }, { name: "dc1-etcd-c", address: "10.103.97.222", zone: "rack-c" }];
  const m = placeEtcdMembers({ cluster: "dc1", platform: "static", zones: [], subnets: [{ name: "dc1-nodes", cidr: "10.103.97.0/24", public: false }], count: 0, hosts });
  assert.deepEqual(m.map((x) => [x.index, x.name, x.ip, x.zone, x.machine]), [[0, "dc1-etcd-a", "10.103.97.220", "rack-a", "sn-1"], [1, "dc1-etcd-b", "10.103.97.221", "rack-b", undefined], [2, "dc1-etcd-c", "10.103.97.222", "rack-c", undefined]]);
});

test("a zone holding a quorum of the members is named: losing it stops the cluster", () => {
  assert.deepEqual(zonesHoldingQuorum(["a", "a", "b"]), ["a"]);
  assert.deepEqual(zonesHoldingQuorum(["a", "a", "a", "b", "c"]), ["a"]);
  assert.deepEqual(zonesHoldingQuorum(["a", "a", "b", "b", "c"]), []);
  assert.deepEqual(zonesHoldingQuorum(["a", "b", "c"]), []);
});

test("member 0 starts the cluster alone; each next member starts with the members before it, as an existing cluster", () => {
  const m = placeEtcdMembers({ cluster: "prod", platform: "gcp", zones: GCP_ZONES, subnets: [{ name: "prod-nodes", cidr: "10.10.0.0/20", public: false }], count: 3 });
  assert.deepEqual(joinOf(m, m[0]), { with: [m[0]], state: "new" });
  assert.deepEqual(joinOf(m, m[2]), { with: m, state: "existing" });
  assert.equal(initialCluster(m.slice(0, 2)), "prod-etcd-0=https://10.10.0.20:2380,prod-etcd-1=https://10.10.0.21:2380");
  assert.deepEqual(externalEtcd(m).endpoints, ["https://10.10.0.20:2379", "https://10.10.0.21:2379", "https://10.10.0.22:2379"]);
});

test("a member's kubeadm config: its name and address in both certificates, the members it starts with, and etcd's timing", () => {
  const m = placeEtcdMembers({ cluster: "prod", platform: "gcp", zones: GCP_ZONES, subnets: [{ name: "prod-nodes", cidr: "10.10.0.0/20", public: false }], count: 3 });
  const docs = etcdMemberConfig({ clusterName: "prod", kubernetesVersion: "1.34.2", certificateValidity: "8760h0m0s", members: m, member: m[1] }).split(/^---$/m).map((d) => parse(d));
  const cluster = docs.find((d) => d.kind === "ClusterConfiguration");
  assert.deepEqual(cluster.etcd.local.serverCertSANs, ["10.10.0.21", "prod-etcd-1"]);
  assert.deepEqual(cluster.etcd.local.peerCertSANs, ["10.10.0.21", "prod-etcd-1"]);
  const args = Object.fromEntries(cluster.etcd.local.extraArgs.map((a: { name: string; value: string }) => [a.name, a.value]));
  assert.equal(args["initial-cluster"], "prod-etcd-0=https://10.10.0.20:2380,prod-etcd-1=https://10.10.0.21:2380");
  assert.equal(args["initial-cluster-state"], "existing");
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

test("kubeadm makes each member from its config, and the members join one at a time into one TLS cluster", { skip: SKIP, timeout: 180_000 }, async () => {
  const work = tempDir("kubeadm-ha-etcd-cluster-");
  const hosts = [0, 1, 2].map((i) => ({ name: `prod-etcd-${i}`, address: `10.250.0.${i + 1}`, zone: `zone-${i}` }));
  const members = placeEtcdMembers({ cluster: "prod", platform: "static", zones: [], subnets: [{ name: "lab", cidr: "10.250.0.0/24", public: false }], count: 0, hosts });
  makeSwitch(SWITCH);
  made.push(SWITCH);
  for (const m of members) {
    plugHost(nsOf(m), SWITCH, `etc${m.index}-${process.pid % 100000}`, `${m.ip}/24`);
    made.push(nsOf(m));
  }
  const rootOf = (m: EtcdMemberPlan) => join(work, m.name);
  // One etcd CA (the program's), on every member.
  writeSharedPki(rootOf(members[0]), "prod");
  const pki = (m: EtcdMemberPlan) => join(rootOf(m), "etc/kubernetes/pki/etcd");
  /** etcdctl on member `on`'s machine, to `to` (itself by default), with `on`'s health-check client certificate. */
  const etcdctl = (on: EtcdMemberPlan, args: string[], to: EtcdMemberPlan = on) =>
    spawnSync("ip", ["netns", "exec", nsOf(on), tool("etcdctl"), `--endpoints=${clientUrl(to)}`, `--cacert=${pki(on)}/ca.crt`, `--cert=${pki(on)}/healthcheck-client.crt`, `--key=${pki(on)}/healthcheck-client.key`, "--dial-timeout=2s", "--command-timeout=5s", ...args], { encoding: "utf8" });
  const logOf = (m: EtcdMemberPlan) => join(work, `${m.name}.log`);
  const said = (m: EtcdMemberPlan) => `${m.name} said:\n` + readFileSync(logOf(m), "utf8").split("\n").slice(-6).join("\n");

  for (const m of members) {
    if (m.index > 0) {
      mkdirSync(pki(m), { recursive: true });
      for (const f of ["ca.crt", "ca.key"]) copyFileSync(join(pki(members[0]), f), join(pki(m), f));
      // Added as a learner by a member already in the cluster, before it starts.
      // etcd refuses it ("unhealthy cluster") until every voter has been connected for a while
      // (its strict reconfiguration check): asked again until it takes it; any other answer fails.
      await waitUntil(`${m.name} to be added`, () => {
        const add = etcdctl(members[0], ["member", "add", m.name, `--peer-urls=${peerUrl(m)}`, "--learner"]);
        if (add.status !== 0 && !/unhealthy cluster/.test(add.stderr)) assert.fail(add.stderr);
        return add.status === 0;
      }, 60_000, 500);
    }
    const config = join(work, `${m.name}.yaml`);
    writeFileSync(config, etcdMemberConfig({ clusterName: "prod", kubernetesVersion: "1.34.2", certificateValidity: "8760h0m0s", members, member: m }));
    kubeadmPhases(rootOf(m), config, [["certs", "etcd-server"], ["certs", "etcd-peer"], ["certs", "etcd-healthcheck-client"], ["etcd", "local"]]);
    // The static pod's command, as its kubelet would run it on that machine, with the host's files under its root.
    const manifest = parse(readFileSync(join(rootOf(m), "etc/kubernetes/manifests/etcd.yaml"), "utf8"));
    const argv: string[] = manifest.spec.containers[0].command.map((a: string) => a.replaceAll("/etc/kubernetes/pki", join(rootOf(m), "etc/kubernetes/pki")).replaceAll("/var/lib/etcd", join(rootOf(m), "var/lib/etcd")));
    assert.equal(argv[0], "etcd");
    const log = openSync(logOf(m), "w");
    procs.push(spawn("ip", ["netns", "exec", nsOf(m), tool("etcd"), ...argv.slice(1)], { stdio: ["ignore", log, log] }));
    if (m.index > 0) {
      // Promoted once it has caught up (etcd refuses to promote a learner behind the leader;
      // a learner serves no linearizable read, so its health is asked after).
      // The simple listing gives IDs in hex (JSON's uint64 does not survive a JS number).
      const id = etcdctl(members[0], ["member", "list", "-w", "simple"]).stdout.split("\n").find((l) => l.includes(peerUrl(m)))!.split(",")[0].trim();
      await waitUntil(`${m.name} to be promoted`, () => etcdctl(members[0], ["member", "promote", id]).status === 0, 60_000, 500).catch((e) => assert.fail(`${e.message}\n${said(m)}`));
    }
    await waitUntil(`${m.name} to answer on ${clientUrl(m)}`, () => etcdctl(m, ["endpoint", "health"]).status === 0, 60_000, 500).catch((e) => assert.fail(`${e.message}\n${said(m)}`));
  }

  const list = JSON.parse(etcdctl(members[2], ["member", "list", "-w", "json"]).stdout).members as Array<{ name: string; peerURLs: string[]; clientURLs: string[]; isLearner?: boolean }>;
  assert.deepEqual(list.map((x) => [x.name, x.peerURLs, x.clientURLs, !!x.isLearner]).sort(), members.map((m) => [m.name, [peerUrl(m)], [clientUrl(m)], false]));
  assert.equal(etcdctl(members[0], ["put", "/kubeadm-ha/probe", "written-through-etcd-0"]).status, 0);
  // Each member serves it, asked from another member's machine (its client URL, its certificate's SANs).
  for (const m of members) assert.match(etcdctl(members[(m.index + 1) % 3], ["get", "/kubeadm-ha/probe", "--print-value-only"], m).stdout, /written-through-etcd-0/, `${m.name} serves it`);
});
