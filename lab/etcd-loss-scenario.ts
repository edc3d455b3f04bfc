// What the lab asks of a cluster whose etcd runs on machines of its own (etcd.topology:
// external): every member a healthy voter, seen through etcd's gateway from a master with the
// apiservers' own client certificate; a zone lost (its etcd machine and its master at once)
// leaves the API writable; two members lost stop every write, and no write the API
// acknowledged is gone when they return.
import { clientUrl, EtcdMemberPlan, EXTERNAL_ETCD_CLIENT } from "../components/plan/etcd-cluster";
import { LabCluster } from "./cluster";
import { ClusterFacts, deleteProbeConfigMaps, masterOf, nodesAndEndpointHealthy, readyStatus, recoveredAfter, sampler, WORKER_ADMIN } from "./cluster-scenarios";
import { LabError, Sample } from "./lab";

export interface EtcdFacts {
  members: EtcdMemberPlan[];
  /** Each master's zone, by name. */
  masterZones: Record<string, string>;
}

/** etcd's gateway on one member, asked from a master with the apiservers' client certificate: the JSON answer. */
async function gateway(c: LabCluster, master: string, m: EtcdMemberPlan, path: string): Promise<unknown> {
  const { caFile, certFile, keyFile } = EXTERNAL_ETCD_CLIENT;
  const post = path === "/health" ? [] : ["-X", "POST", "-d", "{}"];
  const r = await c.exec(master, ["curl", "-sf", "--max-time", "3", "--cacert", caFile, "--cert", certFile, "--key", keyFile, ...post, `${clientUrl(m)}${path}`]);
  if (r.code !== 0 || !r.stdout.trim()) throw new LabError(`etcd ${m.name} ${path} from ${master}: curl exit ${r.code} ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

export interface ExternalMembers {
  voters: string[];
  learners: string[];
  /** Every member as `name=ID`, sorted: a member re-made gets a new ID. */
  ids: string[];
  /** Members whose /health did not answer true. */
  unhealthy: string[];
  /** The leader's name, as the first member that answers its status says. */
  leader: string;
}

/** The external cluster's members, from the first member that answers, and each member's health. */
export async function externalMembers(c: LabCluster, master: string, e: EtcdFacts, skip: string[] = []): Promise<ExternalMembers> {
  let last: unknown;
  for (const m of e.members.filter((x) => !skip.includes(x.name))) {
    try {
      const list = (await gateway(c, master, m, "/v3/cluster/member/list")) as { members: Array<{ ID: string; name: string; isLearner?: boolean }> };
      const status = (await gateway(c, master, m, "/v3/maintenance/status")) as { leader?: string };
      const unhealthy: string[] = [];
      for (const x of e.members) {
        const h = await gateway(c, master, x, "/health").catch(() => ({}));
        if ((h as { health?: string }).health !== "true") unhealthy.push(x.name);
      }
      return {
        voters: list.members
          .filter((x) => !x.isLearner)
          .map((x) => x.name)
          .sort(),
        learners: list.members
          .filter((x) => x.isLearner)
          .map((x) => x.name)
          .sort(),
        ids: list.members.map((x) => `${x.name}=${x.ID}`).sort(),
        unhealthy,
        leader: list.members.find((x) => x.ID === status.leader)?.name ?? "",
      };
    } catch (err) {
      last = err;
    }
  }
  throw new LabError(`no etcd member answered from ${master}: ${(last as Error)?.message ?? last}`);
}

/** Every node Ready, /readyz through the endpoint from every worker, every etcd machine a healthy voter and no learner. */
export async function checkHealthyExternal(c: LabCluster, f: ClusterFacts, e: EtcdFacts): Promise<{ nodesReady: number; voters: number; leader: string; ids: string[] }> {
  const nodesReady = await nodesAndEndpointHealthy(c, f);
  const m = await externalMembers(c, masterOf(f), e);
  const want = e.members.map((x) => x.name).sort();
  if (m.voters.join() !== want.join() || m.learners.length || m.unhealthy.length || !m.leader) {
    throw new LabError(
      `etcd: voters ${m.voters.join(",")}, learners ${m.learners.join(",") || "none"}, unhealthy ${m.unhealthy.join(",") || "none"}, leader ${m.leader || "none"}`,
    );
  }
  return { nodesReady, voters: m.voters.length, leader: m.leader, ids: m.ids };
}

/** A write through the endpoint from a worker, one after the other: a ConfigMap named after the sample's time (`probe-<t>`). */
function writeSampler(c: LabCluster, f: ClusterFacts) {
  return sampler(c, f.workers[0], `timeout 10 kubectl --kubeconfig ${WORKER_ADMIN} --request-timeout=5s -n default create configmap "probe-$t"`, 0.1);
}

/** How many acknowledged writes each side of a loss (and of a return) must have: the writes whose keeping is checked. */
const ACKNOWLEDGED_EACH_SIDE = 20;
const acknowledgedAfter = (s: Sample[], t: number) => s.filter((x) => x.t > t && x.ok).length;

/** The acknowledged writes (ConfigMaps `probe-<t>` of the samples that answered) that the cluster no longer has. */
export function lostWrites(samples: Sample[], present: Set<string>): string[] {
  return samples
    .filter((s) => s.ok)
    .map((s) => `probe-${s.t}`)
    .filter((n) => !present.has(n));
}

async function probeConfigMaps(c: LabCluster, f: ClusterFacts): Promise<Set<string>> {
  const out = await c.kubectl(masterOf(f), ["-n", "default", "get", "configmaps", "-o", "name"]);
  return new Set(
    out
      .split("\n")
      .filter((l) => l.startsWith("configmap/probe-"))
      .map((l) => l.slice("configmap/".length)),
  );
}

/** Loses hosts at once (each link down milliseconds after the one before); the time the last went. */
async function crashAll(c: LabCluster, names: string[]): Promise<number> {
  return Math.max(...(await Promise.all(names.map((n) => c.hosts.crash(n)))));
}

export interface ZoneLost {
  zone: string;
  /** The etcd machine lost (the leader, when one is in the zone) and the master lost with it. */
  etcd: string;
  master: string;
  leaderBefore: string;
  leaderAfter: string;
  /** Seconds from the loss until a write through the endpoint was acknowledged again (and kept acknowledged); 0 when none failed. */
  writesAnswer: number;
  /** Writes begun after the loss that failed, of all begun after it. */
  failedAfterLoss: number;
  writesAfterLoss: number;
  /** Of 5 writes made once writes were acknowledged again, how many were. */
  writesAfter: number;
  acknowledged: number;
  /** Acknowledged writes missing once both hosts were back (none, to hold). */
  lost: string[];
  /** Seconds from booting both again until every node was Ready and every member a healthy voter. */
  rejoined: number;
}

/**
 * A zone lost: the etcd leader's machine and the master in its zone, at once. The API must
 * stay writable on the other two masters and the two members left; once both come back,
 * every acknowledged write is there and every member a healthy voter again.
 */
export async function loseZone(c: LabCluster, f: ClusterFacts, e: EtcdFacts, log: (s: string) => void): Promise<ZoneLost> {
  const before = await c.eventually("every node Ready, every member a healthy voter before the loss", () => checkHealthyExternal(c, f, e), 300_000);
  const etcd = e.members.find((m) => m.name === before.leader)!;
  const master = Object.entries(e.masterZones).find(([, z]) => z === etcd.zone)?.[0] ?? f.masters[0];
  const survivor = masterOf(f, [master]);
  const writes = writeSampler(c, f);
  await c.waitFor(`${ACKNOWLEDGED_EACH_SIDE} writes acknowledged before the loss`, async () => acknowledgedAfter(writes.samples(), 0) >= ACKNOWLEDGED_EACH_SIDE, 120_000);
  log(`losing zone ${etcd.zone}: ${etcd.name} (the etcd leader) and ${master} at once`);
  const t0 = await crashAll(c, [etcd.name, master]);
  await c.waitFor(`${ACKNOWLEDGED_EACH_SIDE} writes acknowledged after the loss`, async () => acknowledgedAfter(writes.samples(), t0) >= ACKNOWLEDGED_EACH_SIDE, 180_000);
  let writesAfter = 0;
  for (let i = 0; i < 5; i++) {
    const r = await c.exec(f.workers[0], ["kubectl", "--kubeconfig", WORKER_ADMIN, "--request-timeout=5s", "-n", "default", "create", "configmap", `probe-after-zone-${t0}-${i}`]);
    if (r.code === 0) writesAfter++;
  }
  const leaderAfter = await externalMembers(c, survivor, e, [etcd.name]).then(
    (m) => m.leader,
    () => "",
  );
  // Down until the cluster has seen it go (its Node no longer Ready), so that "back" below
  // means back, not a Ready status from before the loss.
  await c.waitFor(`${master} seen not Ready`, async () => ["False", "Unknown"].includes(await readyStatus(c, survivor, master)), 180_000);
  const samples = await writes.stop();
  const writesAnswer = recoveredAfter(samples, t0);
  log(
    `zone ${etcd.zone} lost: ${samples.filter((x) => x.t > t0 && !x.ok).length} of ${samples.filter((x) => x.t > t0).length} writes failed after the loss, acknowledged throughout from ${writesAnswer.toFixed(1)} s (then ${writesAfter}/5), etcd leader ${before.leader} -> ${leaderAfter || "none"}; booting both again`,
  );
  const t1 = Date.now();
  await Promise.all([c.hosts.boot(etcd.name), c.hosts.boot(master)]);
  await c.eventually(`${etcd.name} and ${master} back: every node Ready, every member a healthy voter`, () => checkHealthyExternal(c, f, e), 300_000);
  const rejoined = (Date.now() - t1) / 1000;
  const lost = lostWrites(samples, await probeConfigMaps(c, f));
  await deleteProbeConfigMaps(c, f.workers[0]);
  const afterLoss = samples.filter((x) => x.t > t0);
  return {
    zone: etcd.zone,
    etcd: etcd.name,
    master,
    leaderBefore: before.leader,
    leaderAfter,
    writesAnswer,
    failedAfterLoss: afterLoss.filter((x) => !x.ok).length,
    writesAfterLoss: afterLoss.length,
    writesAfter,
    acknowledged: samples.filter((s) => s.ok).length,
    lost,
    rejoined,
  };
}

export interface QuorumLost {
  /** The two members lost (the followers: the leader is left alone). */
  lostMembers: string[];
  /** Write samples begun after the loss, while the members were down, and how many the API acknowledged (none, to hold). */
  writesWhileDown: number;
  acknowledgedWhileDown: number;
  /** Seconds the members were kept down. */
  heldSeconds: number;
  /** Seconds from booting them again until etcd had a leader and every member was healthy (polled through the gateway). */
  quorumBackAfter: number;
  /** Seconds from booting them again until a write was acknowledged again. */
  writesBackAfter: number;
  acknowledged: number;
  /** Acknowledged writes missing once the members were back (none, to hold). */
  lost: string[];
  /** The same members after, by name (no member re-made), every one a healthy voter. */
  sameMembers: boolean;
  rejoined: number;
}

/** How long two members stay down: several of etcd's election timeouts and the apiservers' request timeouts. */
const QUORUM_LOST_HOLD_MS = 30_000;

/**
 * Two of three members lost at once (the leader's followers): the leader alone must
 * acknowledge nothing, so every write stops; when they come back, writes resume, no write
 * acknowledged before is gone, and the cluster has the same members.
 */
export async function loseQuorum(c: LabCluster, f: ClusterFacts, e: EtcdFacts, log: (s: string) => void): Promise<QuorumLost> {
  const before = await c.eventually("every node Ready, every member a healthy voter before the loss", () => checkHealthyExternal(c, f, e), 300_000);
  const followers = e.members.filter((m) => m.name !== before.leader).map((m) => m.name);
  const writes = writeSampler(c, f);
  await c.waitFor(`${ACKNOWLEDGED_EACH_SIDE} writes acknowledged before the loss`, async () => acknowledgedAfter(writes.samples(), 0) >= ACKNOWLEDGED_EACH_SIDE, 120_000);
  log(`losing etcd's quorum: ${followers.join(" and ")} at once (${before.leader} left alone), for ${QUORUM_LOST_HOLD_MS / 1000} s`);
  const t0 = await crashAll(c, followers);
  await c.waitFor(
    `${QUORUM_LOST_HOLD_MS / 1000} s of write samples begun after the loss`,
    async () => writes.samples().some((x) => x.t >= t0 + QUORUM_LOST_HOLD_MS),
    QUORUM_LOST_HOLD_MS + 30_000,
  );
  const t1 = Date.now();
  const down = writes.samples().filter((x) => x.t > t0 && x.t < t1);
  log(`quorum lost: ${down.filter((x) => x.ok).length} of ${down.length} writes acknowledged while ${followers.join(" and ")} were down; booting them again`);
  await Promise.all(followers.map((n) => c.hosts.boot(n)));
  // When etcd has its quorum again (a leader, every member healthy), as the gateway says; the writes' return is read from their samples.
  await c.eventually(
    "etcd's members back with a leader",
    async () => {
      const m = await externalMembers(c, masterOf(f), e);
      if (!m.leader || m.unhealthy.length) throw new LabError(`leader ${m.leader || "none"}, unhealthy ${m.unhealthy.join(",") || "none"}`);
    },
    300_000,
  );
  const quorumBackAfter = (Date.now() - t1) / 1000;
  await c.waitFor(
    `${ACKNOWLEDGED_EACH_SIDE} writes acknowledged once the members are back`,
    async () => acknowledgedAfter(writes.samples(), t1) >= ACKNOWLEDGED_EACH_SIDE,
    300_000,
  );
  const samples = await writes.stop();
  const writesBackAfter = (samples.find((x) => x.t > t1 && x.ok)!.t - t1) / 1000;
  const after = await c.eventually("every node Ready, every member a healthy voter again", () => checkHealthyExternal(c, f, e), 300_000);
  const rejoined = (Date.now() - t1) / 1000;
  const lost = lostWrites(samples, await probeConfigMaps(c, f));
  await deleteProbeConfigMaps(c, f.workers[0]);
  return {
    lostMembers: followers,
    writesWhileDown: down.length,
    acknowledgedWhileDown: down.filter((x) => x.ok).length,
    heldSeconds: (t1 - t0) / 1000,
    quorumBackAfter,
    writesBackAfter,
    acknowledged: samples.filter((s) => s.ok).length,
    lost,
    sameMembers: after.ids.join() === before.ids.join(),
    rejoined,
  };
}

/** What must hold of the two losses: [what, held]. */
export function etcdLossChecks(z: ZoneLost, q: QuorumLost): Array<[string, boolean]> {
  return [
    [
      `zone ${z.zone} lost (${z.etcd}, the etcd leader, and ${z.master}): the API stayed writable (${z.failedAfterLoss} of ${z.writesAfterLoss} writes failed after the loss, every one acknowledged from ${z.writesAnswer.toFixed(1)} s; then ${z.writesAfter}/5)`,
      Number.isFinite(z.writesAnswer) && z.writesAfter === 5,
    ],
    [`a new etcd leader among the members left (${z.leaderBefore} -> ${z.leaderAfter || "none"})`, z.leaderAfter !== "" && z.leaderAfter !== z.etcd],
    [
      `no acknowledged write lost across the zone's loss (${z.acknowledged} acknowledged, missing: ${z.lost.join(", ") || "none"})`,
      z.acknowledged >= 2 * ACKNOWLEDGED_EACH_SIDE && z.lost.length === 0,
    ],
    [
      `two members lost: no write acknowledged while they were down (${q.acknowledgedWhileDown} of ${q.writesWhileDown} over ${q.heldSeconds.toFixed(0)} s)`,
      q.writesWhileDown > 0 && q.acknowledgedWhileDown === 0,
    ],
    [
      `etcd had its quorum again ${q.quorumBackAfter.toFixed(1)} s after the members booted, writes were acknowledged again after ${q.writesBackAfter.toFixed(1)} s, the same members all healthy voters`,
      Number.isFinite(q.writesBackAfter) && q.sameMembers,
    ],
    [
      `no acknowledged write lost across the quorum's loss (${q.acknowledged} acknowledged, missing: ${q.lost.join(", ") || "none"})`,
      q.acknowledged >= 2 * ACKNOWLEDGED_EACH_SIDE && q.lost.length === 0,
    ],
  ];
}
