// etcd backups and a restore on the lab's running cluster (plan/backups.ts).
//
// The lab stacks send snapshots every 5 minutes to a folder on a share every host mounts
// (lab/hosts.ts LAB_SHARE). A lab run is shorter than a few intervals, so the scheduled
// snapshot is made due by a runtime systemd drop-in (the slack the script allows, widened
// to the interval, removed afterwards), and every master's service is started at once: one
// master takes it. Then the host of the master that took it crashes, and the other two,
// due again, take the next one between them (losing any one master does not stop the
// backups); the host boots again. Everything else is what a production cluster runs.
//
// The restore: objects written, a snapshot taken on demand, more objects written, then the
// etcd data of every master destroyed (each member's data folder removed, etcd restarted on
// it: master-0 starts a new, empty cluster, the others cannot start at all; the API serves
// nothing that was there). `pulumi up` with restore.snapshot set puts every member back from
// the snapshot; the objects written before it are back, those written after are not, and
// the cluster serves.
import { readFileSync, readdirSync, writeFileSync } from "fs";
import { join } from "path";
import { parse, stringify } from "yaml";
import { LabCluster, stepSpans } from "./cluster";
import { checkHealthy, ClusterFacts, masterOf } from "./cluster-scenarios";
import { LAB_SHARE } from "./hosts";
import { BACKUP_SCRIPT, BACKUP_UNIT, RESTORE_PHASES, RestorePhase, SNAPSHOT_PREFIX } from "../components/plan/backups";

export interface BackupsRun {
  /** The first `pulumi up` took a snapshot (the `backups` output's `taken`), and it is on the share. */
  firstTaken: string;
  firstOnShare: boolean;
  /** Every master's timer active. */
  timersOn: string[];
  /** The three services started at once when one was due: the snapshots they took (one, to pass) and who took it. */
  scheduledTaken: string[];
  /** The host of the master that took it crashed: the other masters' services took the next (one, by another master), and the host came back. */
  withoutTaker: { lost: string; taken: string[]; failed: string[]; back: boolean };
  /** The restore. */
  restore: Restored;
}

export interface Restored {
  snapshot: string;
  /** The cluster after the data was destroyed: the marker written before the snapshot was gone. */
  lostBefore: boolean;
  upOk: boolean;
  failure: string;
  upSeconds: number;
  /** The restore steps the up ran: when each started and ended. */
  steps: Record<string, { start: number; end: number }>;
  /** The marker written before the snapshot is back; the one written after is not. */
  beforeBack: boolean;
  afterGone: boolean;
  /** Every master a healthy etcd voter and every node Ready afterwards. */
  healthy: boolean;
  /** `pulumi up` without restore afterwards: passed. */
  cleanedUp: boolean;
}

const onShare = () => {
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)).map((p) => `${e.name}/${p}`) : [e.name]));
  try {
    return walk(join(LAB_SHARE, "etcd-backups"));
  } catch {
    return [];
  }
};

const marker = async (c: LabCluster, master: string, name: string) => c.kubectl(master, ["-n", "default", "create", "configmap", name, `--from-literal=t=${Date.now()}`]);
const exists = async (c: LabCluster, master: string, name: string) =>
  (await c.exec(master, ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "-n", "default", "get", "configmap", name, "-o", "name"])).code === 0;

export async function backupsAndRestore(c: LabCluster, f: ClusterFacts, log: (s: string) => void): Promise<BackupsRun> {
  const output = JSON.parse((await c.engine.must(["stack", "output", "backups", "--json", "--stack", c.stack, "--non-interactive"])).trim() || "{}") as { taken?: string };
  const firstTaken = output.taken ?? "";
  const firstOnShare = firstTaken !== "" && onShare().includes(firstTaken);
  const timersOn = (
    await Promise.all(f.masters.map(async (m) => ((await c.exec(m, ["systemctl", "is-active", `${BACKUP_UNIT}.timer`])).stdout.trim() === "active" ? [m] : [])))
  ).flat();
  log(`backups: the first up took ${firstTaken || "NOTHING"} (${firstOnShare ? "on the share" : "NOT on the share"}); timers on ${timersOn.join(", ")}`);

  // Scheduled: due now (a drop-in widens the slack to the interval), every master's service at once.
  const { taken: scheduledTaken, failed } = await dueOn(c, f.masters);
  log(`backups: three services started at once took ${scheduledTaken.join(", ") || "nothing"}${failed.length ? `; FAILED: ${failed.join("; ")}` : ""}`);

  const withoutTaker = await takerLost(c, f, scheduledTaken[0] ?? firstTaken, log);
  const restore = await restoreCluster(c, f, masterOf(f), log);
  return { firstTaken, firstOnShare, timersOn, scheduledTaken, withoutTaker, restore };
}

/** Starts every given master's backup service at once, with the snapshot due; the snapshots they sent. */
async function dueOn(c: LabCluster, masters: string[]): Promise<{ taken: string[]; failed: string[] }> {
  const dropIn = `/run/systemd/system/${BACKUP_UNIT}.service.d`;
  const before = new Set(onShare());
  await Promise.all(
    masters.map((m) =>
      c.exec(m, ["sh", "-c", `mkdir -p ${dropIn} && printf '[Service]\\nEnvironment=KUBEADM_HA_BACKUP_SLACK_S=100000\\n' > ${dropIn}/lab.conf && systemctl daemon-reload`]),
    ),
  );
  const started = await Promise.all(masters.map((m) => c.exec(m, ["systemctl", "start", `${BACKUP_UNIT}.service`])));
  await Promise.all(masters.map((m) => c.exec(m, ["sh", "-c", `rm -rf ${dropIn} && systemctl daemon-reload`])));
  return { taken: onShare().filter((n) => !before.has(n)), failed: started.filter((r) => r.code !== 0).map((r) => r.stderr.trim()) };
}

/**
 * Losing any one master does not stop the backups: the host of the master that took the last
 * snapshot crashes (power lost), the others' services, due, take the next one between them;
 * the host boots again and is a Ready node and a healthy etcd voter.
 */
async function takerLost(c: LabCluster, f: ClusterFacts, last: string, log: (s: string) => void): Promise<BackupsRun["withoutTaker"]> {
  const lost = f.masters.find((m) => last.endsWith(`-${m}.db`)) ?? f.masters[0];
  const others = f.masters.filter((m) => m !== lost);
  await c.hosts.crash(lost);
  log(`backups: ${lost}, which took ${last || "the last snapshot"}, lost; the other masters' services started with a snapshot due`);
  // As a timer a few minutes later would: once each survivor's way to the API (its endpoint,
  // which still tried the lost apiserver for a moment) answers five times in a row.
  for (const m of others) {
    let inRow = 0;
    await c.waitFor(
      `the API to answer ${m} five times in a row`,
      async () => {
        inRow =
          (await c.exec(m, ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "--request-timeout=3s", "-n", "kube-system", "get", "lease"])).code === 0 ? inRow + 1 : 0;
        return inRow >= 5;
      },
      120_000,
    );
  }
  const r = await dueOn(c, others);
  await c.hosts.boot(lost);
  const back = await c
    .eventually(`${lost} to be a Ready node and a healthy etcd voter again`, () => checkHealthy(c, f), 300_000)
    .then(
      () => true,
      () => false,
    );
  log(`backups: without ${lost}, ${r.taken.join(", ") || "NOTHING"} taken${r.failed.length ? `; FAILED: ${r.failed.join("; ")}` : ""}; ${lost} back ${back}`);
  return { lost, taken: r.taken, failed: r.failed, back };
}

/**
 * Objects written, a snapshot taken on demand on `master`, more written; every member's data
 * destroyed (`members`: the masters with a stacked etcd, the etcd machines with an external
 * one); `pulumi up` with restore.snapshot; the stack's restore taken out again.
 */
export async function restoreCluster(c: LabCluster, f: ClusterFacts, master: string, log: (s: string) => void, members: string[] = f.masters): Promise<Restored> {
  const t = Date.now();
  const [beforeMarker, afterMarker] = [`restore-before-${t}`, `restore-after-${t}`];
  await marker(c, master, beforeMarker);
  const took = await c.exec(master, [BACKUP_SCRIPT, "snapshot", "lab: before the data is destroyed"]);
  const snapshot =
    took.stdout
      .split("\n")
      .find((l) => l.startsWith(SNAPSHOT_PREFIX))
      ?.slice(SNAPSHOT_PREFIX.length)
      .trim() ?? "";
  if (!snapshot) throw new Error(`no snapshot taken on ${master}: ${took.stdout}${took.stderr}`);
  await marker(c, master, afterMarker);
  log(`restore: ${beforeMarker} written, ${snapshot} taken, ${afterMarker} written; destroying the etcd data of ${members.join(", ")}`);

  // Every member's data gone, as a lost majority loses it: every etcd stopped first (manifest
  // aside), then every data folder removed, then every etcd started again. (Member by member,
  // an emptied member that starts while another still runs on the old data syncs that data
  // back from it, and the old cluster lives on: the lab once saw exactly that.)
  const onEach = async (what: string, script: string) => {
    const failed = (await Promise.all(members.map(async (m) => ({ m, r: await c.exec(m, ["sh", "-c", `set -e; ${script}`]) })))).filter((x) => x.r.code !== 0);
    if (failed.length) throw new Error(`restore: ${what} failed on ${failed.map((x) => `${x.m}: ${x.r.stderr.trim()}`).join("; ")}`);
  };
  await onEach("stopping etcd", `mv /etc/kubernetes/manifests/etcd.yaml /root/etcd.yaml; while curl -s --max-time 2 -o /dev/null http://127.0.0.1:2381/health; do sleep 1; done`);
  await onEach("removing etcd's data", `rm -rf /var/lib/etcd/member`);
  await onEach("starting etcd", `mv /root/etcd.yaml /etc/kubernetes/manifests/etcd.yaml`);
  let lostBefore = false;
  await c.waitFor("the destroyed cluster to lose what it held", async () => (lostBefore = !(await exists(c, master, beforeMarker))), 180_000).catch(() => undefined);
  log(`restore: after the data was destroyed, ${beforeMarker} ${lostBefore ? "is gone" : "is STILL THERE"}`);

  // `pulumi up` with restore.snapshot.
  const file = c.engine.configFile(c.stack);
  const original = readFileSync(file, "utf8");
  const doc = parse(original);
  doc.config["kubeadm-ha:restore"] = { snapshot };
  writeFileSync(file, stringify(doc));
  const t0 = Date.now();
  const up = await c.upLogged([]);
  const upSeconds = (Date.now() - t0) / 1000;
  const steps = Object.fromEntries(Object.entries(stepSpans(up.events)).filter(([n]) => /-restore-/.test(n)));
  const failure = up.code === 0 ? "" : await c.failureOf(up.output, 60);
  log(
    `restore: pulumi up ${up.code === 0 ? `in ${upSeconds.toFixed(0)} s` : `FAILED:\n${failure}`}; steps ${Object.entries(steps)
      .map(([n, s]) => `${n} ${s.start}->${s.end}`)
      .join(", ")}`,
  );
  const beforeBack = await exists(c, master, beforeMarker);
  const afterGone = !(await exists(c, master, afterMarker));
  let healthy = false;
  await c
    .waitFor(
      "every node Ready and every master a healthy etcd voter after the restore",
      async () => {
        const nodes = JSON.parse((await c.exec(master, ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes", "-o", "json"])).stdout || '{"items":[]}') as {
          items: Array<{ status: { conditions: Array<{ type: string; status: string }> } }>;
        };
        return (healthy =
          nodes.items.length === f.masters.length + f.workers.length && nodes.items.every((n) => n.status.conditions.some((x) => x.type === "Ready" && x.status === "True")));
      },
      300_000,
    )
    .catch(() => undefined);

  // The restore taken out of the stack again.
  writeFileSync(file, original);
  const cleanup = await c.engine.run(["up", "--yes", "--skip-preview", ...c.stackArgs()], { timeoutMs: 20 * 60_000 });
  return { snapshot, lostBefore, upOk: up.code === 0, failure, upSeconds, steps, beforeBack, afterGone, healthy, cleanedUp: cleanup.code === 0 };
}

/** A restore's turns as the lab checks them: a phase, and the machines that run it (plan/backups.ts restoreTurns). */
export type LabRestoreTurn = { phase: RestorePhase; on: string[] };

/**
 * What must hold of a restore: [what, held]. Each turn ran on every one of its machines, none
 * started before every step of the turn before had finished, and the cluster came back.
 */
export function restoreChecks(r: Restored, turns: LabRestoreTurn[]): Array<[string, boolean]> {
  const spans = turns.map((t) => t.on.map((m) => r.steps[`${m}-restore-${t.phase}`]));
  const inTurns = spans.every((s) => s.every(Boolean)) && spans.every((s, i) => i === 0 || Math.min(...s.map((x) => x.start)) >= Math.max(...spans[i - 1].map((x) => x.end)));
  return [
    [`destroying every member's etcd data lost the cluster's objects`, r.lostBefore],
    [`pulumi up with restore.snapshot ${r.snapshot} passed in ${r.upSeconds.toFixed(0)} s${r.failure ? `: ${r.failure}` : ""}`, r.upOk],
    [`the restore ran turn by turn (${turns.map((t) => `${t.phase} on ${t.on.join(" ")}`).join("; ")}): ${Object.keys(r.steps).join(", ")}`, inTurns],
    ["what was written before the snapshot is back, what was written after is not", r.beforeBack && r.afterGone],
    ["every node Ready after the restore", r.healthy],
    ["pulumi up without restore afterwards passed", r.cleanedUp],
  ];
}

/** What must hold of the backups and the restore: [what, held]. */
export function backupChecks(b: BackupsRun, masters: string[]): Array<[string, boolean]> {
  return [
    [`the first pulumi up took a snapshot to the share (${b.firstTaken || "none"})`, b.firstOnShare],
    [`every master's snapshot timer on (${b.timersOn.join(", ")})`, b.timersOn.length === masters.length],
    [`three masters' services at once took one snapshot (${b.scheduledTaken.join(", ") || "none"})`, b.scheduledTaken.length === 1],
    [
      `with ${b.withoutTaker.lost} (which took it) lost, the other masters took the next (${b.withoutTaker.taken.join(", ") || "none"})${b.withoutTaker.failed.length ? `: ${b.withoutTaker.failed.join("; ")}` : ""}`,
      b.withoutTaker.taken.length === 1 && !b.withoutTaker.taken[0].endsWith(`-${b.withoutTaker.lost}.db`) && b.withoutTaker.failed.length === 0,
    ],
    [`${b.withoutTaker.lost} back: a Ready node and a healthy etcd voter`, b.withoutTaker.back],
    ...restoreChecks(
      b.restore,
      RESTORE_PHASES.map((phase) => ({ phase, on: masters })),
    ),
  ];
}

export const backupsHeld = (b: BackupsRun, masters: string[]) => backupChecks(b, masters).every(([, held]) => held);
