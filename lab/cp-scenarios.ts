// Failover scenarios on a real control plane (lab/controlplane.ts). Each measures what a
// user of the cluster would see through the endpoint: requests answered, writes
// acknowledged, Leases moving; none waits a fixed time where a condition can be awaited.
// They leave the cluster as they found it (every master back and healthy), so one
// cluster serves them all.
import { ControlPlane, CpMaster } from "./controlplane";
import { LabError, longestGap } from "./lab";

/** Lease holder identities are `<node>_<uuid>`. */
export const holderNode = (identity: string | null) => identity?.split("_")[0] ?? null;

type Write = [number, 0 | 1, string, number];
type LeaseSample = [number, string | null, string | null];

/** Which haproxy the client's requests go through: the VIP holder's (vip), or the client's own (local-proxy). */
function proxyOf(cp: ControlPlane): { host: string } {
  if (cp.mode === "local-proxy") return { host: cp.client.name };
  const holder = cp.lab.holderOf(
    vipOf(cp),
    cp.masters.map((m) => m.name),
  );
  if (!holder) throw new LabError("no master holds the VIP");
  return { host: holder };
}

const vipOf = (cp: ControlPlane) => cp.vip!;

/** Lines haproxy logged since `after` (ms) saying a backend changed state. */
function proxyLogged(cp: ControlPlane, proxyHost: string, backend: string, state: "DOWN" | "UP", after: number) {
  return () => cp.lab.output(proxyHost, "haproxy").some((l) => Number(l.split(" ")[0]) >= after && l.includes(`kube-apiservers/${backend} is ${state}`));
}

/** Waits until every master's apiserver is ready and etcd on each is healthy. */
export async function healthy(cp: ControlPlane, timeoutMs = 120_000) {
  for (const m of cp.masters) {
    await cp.lab.waitFor(`kube-apiserver on ${m.name} to be ready`, () => cp.apiserverReady(m), timeoutMs, 250);
    await cp.lab.waitFor(`etcd on ${m.name} to be healthy`, () => cp.etcdHealthy(m), timeoutMs, 250);
  }
}

export interface KubectlResult {
  created: boolean;
  read: string;
  nodes: string;
}

/** kubectl through the endpoint creates an object and reads it back. */
export async function kubectlCreatesAndReads(cp: ControlPlane): Promise<KubectlResult> {
  const name = `lab-kubectl-${Date.now()}`;
  const created = await cp.kubectl(["create", "configmap", name, "--from-literal=written=through-the-endpoint"]);
  const read = await cp.kubectl(["get", "configmap", name, "-o", "jsonpath={.data.written}"]);
  const pods = await cp.kubectl(["get", "pods", "-n", "kube-system", "-l", "component=etcd", "-o", "name"]);
  return { created: created.code === 0, read: read.stdout, nodes: pods.stdout };
}

export interface ApiserverKill {
  killed: string;
  proxy: string;
  /** From SIGKILL to the proxy marking it DOWN, ms. */
  removalMs: number;
  /** From its /readyz answering again to the proxy marking it UP, ms. */
  returnMs: number;
  failedRequests: number;
  requests: number;
}

/** SIGKILL one kube-apiserver: it leaves the proxy's rotation; restarted, it returns. */
export async function apiserverKilled(cp: ControlPlane): Promise<ApiserverKill> {
  const proxy = proxyOf(cp).host;
  const victim = cp.masters.find((m) => m.name !== proxy) ?? cp.masters[1];
  const probe = cp.readyzSampler();
  await probe.started;
  const t = cp.lab.kill(victim.name, "kube-apiserver");
  const down = await cp.lab.waitFor(`haproxy on ${proxy} to mark ${victim.name} DOWN`, proxyLogged(cp, proxy, victim.name, "DOWN", t), 120_000);
  await cp.startPod(victim, "kube-apiserver");
  const ready = await cp.lab.waitFor(`kube-apiserver on ${victim.name} to be ready again`, () => cp.apiserverReady(victim), 120_000, 100);
  const up = await cp.lab.waitFor(`haproxy on ${proxy} to mark ${victim.name} UP`, proxyLogged(cp, proxy, victim.name, "UP", t), 120_000);
  const samples = await probe.stop();
  return { killed: victim.name, proxy, removalMs: down - t, returnMs: Math.max(0, up - ready), failedRequests: samples.filter((s) => !s.ok).length, requests: samples.length };
}

export interface ApiserverRestart {
  restarted: string;
  proxy: string;
  /** The apiserver's shutdown delay (its --shutdown-delay-duration), s. */
  shutdownDelayS: number;
  /** From SIGTERM to the proxy marking it DOWN, and to the old process's exit, ms. */
  removalMs: number;
  exitMs: number;
  writes: number;
  /** Writes the endpoint answered with an error status (a 403 of an apiserver not ready yet, a 5xx): [t, status]. */
  refused: Array<[number, number]>;
  /** Writes that got no answer (a connection the proxy cut as it marked the apiserver down), ms after SIGTERM. */
  unanswered: number[];
}

/**
 * One kube-apiserver restarted the way the kubelet replaces its static pod (an upgrade, a
 * certificate renewal, a new flag): SIGTERM, the new process started the moment the old one
 * exits. Writes go on through the endpoint throughout with kubeadm's admin credentials
 * (kubernetes-admin, authorized by RBAC, not system:masters), every 50 ms.
 */
export async function apiserverRestarted(cp: ControlPlane): Promise<ApiserverRestart> {
  const proxy = proxyOf(cp).host;
  const victim = cp.masters.find((m) => m.name !== proxy) ?? cp.masters[1];
  const delay = /--shutdown-delay-duration=(\d+)s/.exec(cp.podArgv(victim, "kube-apiserver").join(" "));
  const writes = cp.apiclientSampler<Write[]>("writes", 50, `restart-${Date.now()}`);
  await writes.started;
  const t = Date.now();
  const down = cp.lab.waitFor(`haproxy on ${proxy} to mark ${victim.name} DOWN`, proxyLogged(cp, proxy, victim.name, "DOWN", t), 120_000, 50);
  await cp.lab.terminate(victim.name, "kube-apiserver", 30_000);
  const exited = Date.now();
  await cp.startPod(victim, "kube-apiserver");
  const removed = await down;
  await cp.lab.waitFor(`kube-apiserver on ${victim.name} to be ready again`, () => cp.apiserverReady(victim), 120_000, 100);
  const up = await cp.lab.waitFor(`haproxy on ${proxy} to mark ${victim.name} UP`, proxyLogged(cp, proxy, victim.name, "UP", t), 120_000, 50);
  // Writes go on past the return, so that some reach the new apiserver.
  await cp.lab.waitFor("writes after its return", () => writes.okSince(up + 2000), 30_000, 100);
  const samples = await writes.stop();
  return {
    restarted: victim.name,
    proxy,
    shutdownDelayS: delay ? Number(delay[1]) : 0,
    removalMs: removed - t,
    exitMs: exited - t,
    writes: samples.length,
    refused: samples.filter(([, ok, , status]) => !ok && status > 0).map(([ts, , , status]) => [ts - t, status]),
    unanswered: samples.filter(([, , , status]) => status === 0).map(([ts]) => ts - t),
  };
}

export interface MasterLoss {
  lost: string;
  /** Which Leases the lost master held, and from the loss to a survivor holding each, ms. */
  leases: Array<{ lease: string; takeoverMs: number; newHolder: string }>;
  /** vip: from the loss to another master holding the VIP (when the lost one held it), ms. */
  vipMovedMs?: number;
  /** Longest stretch without an answer from the endpoint, ms. */
  clientGapMs: number;
  /** Writes acknowledged after the loss; the endpoint answering at the end. */
  writesAfter: number;
  answersAfter: boolean;
}

/**
 * A whole master is lost (link down, every process killed): the one holding the
 * scheduler's and controller-manager's Leases (or, with `pick: "vip"`, the VIP holder).
 * The endpoint keeps answering, writes go on, a survivor takes each Lease; then the
 * master comes back on its own data and the cluster is healthy again.
 */
export async function masterLost(cp: ControlPlane, pick: "lease-holder" | "vip-holder" = "lease-holder"): Promise<MasterLoss> {
  // Both Leases held first (a fresh cluster's controllers take them within seconds of starting).
  let sched: string | null = null;
  let kcm: string | null = null;
  await cp.lab.waitFor(
    "the scheduler and controller-manager to hold their Leases",
    async () => {
      [[, sched, kcm]] = await cp.apiclient<LeaseSample[]>("leases", 1, 1000);
      return sched !== null && kcm !== null;
    },
    120_000,
    500,
  );
  const lost: CpMaster =
    pick === "vip-holder"
      ? cp.masters.find((m) => m.name === proxyOf(cp).host)!
      : (cp.masters.find((m) => m.name === holderNode(kcm)) ?? cp.masters.find((m) => m.name === holderNode(sched))!);
  if (!lost) throw new LabError(`no master holds the Leases (scheduler ${sched}, controller-manager ${kcm})`);
  const held = [
    ["kube-scheduler", holderNode(sched)],
    ["kube-controller-manager", holderNode(kcm)],
  ]
    .filter(([, h]) => h === lost.name)
    .map(([l]) => l!);
  const vipHeld = cp.mode === "vip" && proxyOf(cp).host === lost.name;

  const probe = cp.readyzSampler();
  const writes = cp.apiclientSampler<Write[]>("writes", 200, `loss-${Date.now()}`);
  const leases = cp.apiclientSampler<LeaseSample[]>("leases", 200);
  await Promise.all([probe.started, writes.started, leases.started]);
  const t = cp.lab.killHost(lost.name);
  const others = cp.masters.filter((m) => m !== lost).map((m) => m.name);
  const vipMoved = vipHeld ? await cp.lab.waitFor("the VIP to move", () => cp.lab.holderOf(vipOf(cp), others) !== undefined, 30_000) : undefined;
  // A survivor must take every Lease the lost master held. The wait notes when it first
  // saw each new holder: the sampler may be stopped before its next sample shows one.
  const seen = new Map<string, { ts: number; holder: string }>();
  await cp.lab.waitFor(
    "a survivor to take every Lease",
    async () => {
      const ts = Date.now();
      const h = await cp.leaseHolders();
      for (const l of held) {
        const holder = h[l as keyof typeof h];
        if (holder !== null && holder !== lost.name && !seen.has(l)) seen.set(l, { ts, holder });
      }
      return held.every((l) => seen.has(l));
    },
    120_000,
    500,
  );
  await cp.lab.waitFor("the client to be answered after the loss", () => probe.okSince(vipMoved ?? t), 30_000);
  const [samples, w, l] = await Promise.all([probe.stop(), writes.stop(), leases.stop()]);
  const takeover = (lease: string, col: 1 | 2) => {
    const sampled = l.find(([ts, s, k]) => ts >= t && holderNode(col === 1 ? s : k) !== null && holderNode(col === 1 ? s : k) !== lost.name);
    const waited = seen.get(lease)!;
    const first = sampled && sampled[0] <= waited.ts ? { ts: sampled[0], holder: holderNode(sampled[col])! } : waited;
    return { lease, takeoverMs: first.ts - t, newHolder: first.holder };
  };
  const result: MasterLoss = {
    lost: lost.name,
    leases: held.map((lease) => takeover(lease, lease === "kube-scheduler" ? 1 : 2)),
    vipMovedMs: vipMoved !== undefined ? vipMoved - t : undefined,
    clientGapMs: longestGap(samples, t),
    writesAfter: w.filter(([ts, ok]) => ts > t && ok).length,
    answersAfter: samples.slice(-5).every((s) => s.ok),
  };
  await cp.restore(lost);
  await healthy(cp);
  return result;
}

export interface QuorumLoss {
  down: string[];
  /** Writes started after both were down, and how many were acknowledged (must be 0). */
  attemptsWithTwoDown: number;
  acknowledgedWithTwoDown: number;
  /** Writes acknowledged before and after. */
  acknowledged: number;
  /** Acknowledged writes missing once both are back (must be 0). */
  lost: number;
}

/** Two masters down: writes are refused; both back: every acknowledged write is there. */
export async function twoMastersDown(cp: ControlPlane): Promise<QuorumLoss> {
  const prefix = `quorum-${Date.now()}`;
  const before = await cp.apiclient<Write[]>("writes", 2000, 200, `${prefix}-a`);
  const down = cp.masters.slice(1);
  const t = Math.max(...down.map((m) => cp.lab.killHost(m.name)));
  // Let requests in flight at the moment of the loss end (the client's timeout is 1 s), then write again.
  await cp.lab.waitFor("in-flight requests to end", () => Date.now() > t + 2000, 5000);
  const during = await cp.apiclient<Write[]>("writes", 6000, 300, `${prefix}-b`);
  for (const m of down) await cp.restore(m);
  await healthy(cp);
  const after = await cp.apiclient<Write[]>("writes", 2000, 200, `${prefix}-c`);
  const acked = [...before, ...during, ...after].filter(([, ok]) => ok).map(([, , n]) => n);
  const present = new Set(await cp.apiclient<string[]>("list", 0, 0, prefix));
  return {
    down: down.map((m) => m.name),
    attemptsWithTwoDown: during.length,
    acknowledgedWithTwoDown: during.filter(([, ok]) => ok).length,
    acknowledged: acked.length,
    lost: acked.filter((n) => !present.has(n)).length,
  };
}

export interface EtcdLeaderLoss {
  killed: string;
  electionMs: number;
}

/** SIGKILL of the etcd leader's process: the survivors elect a new leader (read from etcd's own status). */
export async function etcdLeaderKilled(cp: ControlPlane): Promise<EtcdLeaderLoss> {
  const leader = await cp.etcdLeader(cp.masters);
  if (!leader) throw new LabError("no etcd leader");
  const t = cp.lab.kill(leader.name, "etcd");
  const survivors = cp.masters.filter((m) => m !== leader);
  const elected = await cp.lab.waitFor(
    "a new etcd leader",
    async () => {
      const l = await cp.etcdLeader(survivors);
      return l !== undefined && l !== leader;
    },
    30_000,
    50,
  );
  await cp.startPod(leader, "etcd");
  await healthy(cp);
  return { killed: leader.name, electionMs: elected - t };
}

export interface ProxyLoss {
  holder: string;
  /** From SIGKILL of the VIP holder's haproxy to another master holding the VIP, ms. */
  vipMovedMs: number;
  clientGapMs: number;
}

/** vip: SIGKILL of haproxy on the VIP holder: keepalived's check fails and the VIP moves to a master whose proxy works. */
export async function proxyKilledOnVipHolder(cp: ControlPlane): Promise<ProxyLoss> {
  if (cp.mode !== "vip") throw new LabError("only the vip endpoint has a VIP");
  const holder = proxyOf(cp).host;
  const probe = cp.readyzSampler();
  await probe.started;
  const t = cp.lab.kill(holder, "haproxy");
  const others = cp.masters.filter((m) => m.name !== holder).map((m) => m.name);
  const moved = await cp.lab.waitFor("the VIP to move", () => cp.lab.holderOf(vipOf(cp), others) !== undefined, 120_000);
  await cp.lab.waitFor("the client to be answered again", () => probe.okSince(moved), 30_000);
  const samples = await probe.stop();
  await cp.startHaproxy(cp.masters.find((m) => m.name === holder)!);
  return { holder, vipMovedMs: moved - t, clientGapMs: longestGap(samples, t) };
}
