// etcd in the lab: a three-member cluster in the masters' namespaces, started with
// what kubeadm's stacked etcd gets from the onprem-vip render: member names (node
// names), peer/client URLs on the masters' addresses (mapped into the lab range),
// and the heartbeat/election timing of the rendered ClusterConfiguration. Plain HTTP
// in the lab (kubeadm adds TLS with the etcd CA).
import { spawnSync } from "child_process";
import { join } from "path";
import { parseAllDocuments } from "yaml";
import { Lab, LAB_NET } from "./lab";
import { ONPREM_NET, renderedOnprem } from "./rendered";

export interface EtcdMemberSpec {
  name: string;
  address: string;
  heartbeatMs: string;
  electionMs: string;
}

let specs: Promise<EtcdMemberSpec[]> | undefined;

/** The members as the onprem-vip render defines them (addresses mapped into the lab range). */
export function renderedEtcdMembers(): Promise<EtcdMemberSpec[]> {
  specs ??= renderedOnprem().then((r) => {
    const masters = r.outputs.masters as Array<{ name: string; address: string }>;
    const init = r.files.find((f) => f.path === `${masters[0].name}/etc/kubeadm-ha/kubeadm-init.yaml`)!.content;
    const cluster = parseAllDocuments(init).map((d) => d.toJS()).find((d) => d.kind === "ClusterConfiguration");
    const arg = (name: string) => (cluster.etcd.local.extraArgs as Array<{ name: string; value: string }>).find((a) => a.name === name)!.value;
    return masters.map((m) => ({ name: m.name, address: m.address.replace(`${ONPREM_NET}.`, `${LAB_NET}.`), heartbeatMs: arg("heartbeat-interval"), electionMs: arg("election-timeout") }));
  });
  return specs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface EtcdScenario {
  acknowledged: number;
  /** Writes acknowledged while one member was down. */
  writesWithOneDown: number;
  /** Writes attempted while two were down, and how many were acknowledged (must be 0). */
  attemptsWithTwoDown: number;
  acknowledgedWithTwoDown: number;
  /** Acknowledged writes missing after the members came back (must be 0). */
  lost: number;
  /** From killing the leader to a new leader, ms. */
  leaderElectionMs: number;
}

export async function etcdScenario(): Promise<EtcdScenario> {
  const members = await renderedEtcdMembers();
  const lab = new Lab();
  try {
    const hosts = members.map((m) => lab.addHost(m.name, Number(m.address.split(".")[3])));
    const client = lab.addHost("client", 100);
    const cluster = members.map((m) => `${m.name}=http://${m.address}:2380`).join(",");
    const start = (i: number, state: "new" | "existing") =>
      lab.start(hosts[i], "etcd", [
        "etcd", "--name", members[i].name, "--data-dir", join(lab.dir, `etcd-${members[i].name}`),
        "--listen-peer-urls", `http://${members[i].address}:2380`, "--initial-advertise-peer-urls", `http://${members[i].address}:2380`,
        "--listen-client-urls", `http://${members[i].address}:2379,http://127.0.0.1:2379`, "--advertise-client-urls", `http://${members[i].address}:2379`,
        "--initial-cluster", cluster, "--initial-cluster-state", state, "--initial-cluster-token", lab.id,
        "--heartbeat-interval", members[i].heartbeatMs, "--election-timeout", members[i].electionMs,
      ]);
    for (let i = 0; i < hosts.length; i++) await start(i, "new");
    const endpoints = members.map((m) => `http://${m.address}:2379`).join(",");
    const etcdctl = (args: string[], timeout = "1s", eps = endpoints) => spawnSync("ip", ["netns", "exec", client.ns, "etcdctl", `--endpoints=${eps}`, `--command-timeout=${timeout}`, `--dial-timeout=${timeout}`, ...args], { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } });
    await lab.waitFor("etcd to be healthy", () => etcdctl(["endpoint", "health", "--cluster"]).status === 0, 30_000);

    const acked: string[] = [];
    let n = 0;
    const write = () => {
      const key = `k${String(n++).padStart(5, "0")}`;
      const ok = etcdctl(["put", key, `v-${key}`]).status === 0;
      if (ok) acked.push(key);
      return ok;
    };
    for (let i = 0; i < 20; i++) write();

    // Kill the leader: the others elect a new one and writes go on.
    // Asks the given members only (a dead one would cost a dial timeout per poll).
    const leaderOf = (among = members) => {
      const status = etcdctl(["endpoint", "status", "-w", "json"], "300ms", among.map((m) => `http://${m.address}:2379`).join(","));
      const rows = status.stdout ? (JSON.parse(status.stdout) as Array<{ Endpoint: string; Status: { header: { member_id: number }; leader: number } }>) : [];
      const row = rows.find((x) => x.Status.leader === x.Status.header.member_id);
      return row ? members.findIndex((m) => row.Endpoint.includes(m.address)) : -1;
    };
    const leader = leaderOf();
    if (leader < 0) throw new Error("no etcd leader before the kill");
    const t = lab.kill(members[leader].name, "etcd");
    const survivors = members.filter((_, i) => i !== leader);
    const elected = await lab.waitFor("a new etcd leader", () => {
      const l = leaderOf(survivors);
      return l >= 0 && l !== leader;
    });
    const before = acked.length;
    for (let i = 0; i < 20; i++) write();
    const writesWithOneDown = acked.length - before;

    // Kill a second member: no quorum, no acknowledged write.
    const second = members.findIndex((_, i) => i !== leader);
    lab.kill(members[second].name, "etcd");
    await sleep(500);
    const beforeTwo = acked.length;
    let attempts = 0;
    for (let i = 0; i < 5; i++, attempts++) write();
    const acknowledgedWithTwoDown = acked.length - beforeTwo;

    // Bring both back on their data: every acknowledged write is still there.
    await start(leader, "existing");
    await start(second, "existing");
    await lab.waitFor("etcd to be healthy again", () => etcdctl(["endpoint", "health", "--cluster"]).status === 0, 30_000);
    const got = etcdctl(["get", "k", "--prefix", "--keys-only"], "5s").stdout.split("\n").filter(Boolean);
    const lost = acked.filter((k) => !got.includes(k)).length;
    return { acknowledged: acked.length, writesWithOneDown, attemptsWithTwoDown: attempts, acknowledgedWithTwoDown, lost, leaderElectionMs: elected - t };
  } finally {
    lab.close();
  }
}
