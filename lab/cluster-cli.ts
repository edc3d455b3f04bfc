// npm run lab:cluster [-- --mode vip|local-proxy] [--lose NAME,..] [--skip-scale] [--skip-upgrade] [--skip-lifetime] [--skip-roll] [--skip-encryption] [--skip-backups] [--brief] [--keep]
// Builds a real HA cluster the way a user does on hosts they own: lab hosts, an
// air-gapped bundle, and the real `pulumi up` of the lab stack; then checks it as a user
// would, upgrades it to the next Kubernetes minor under a running workload, runs `pulumi
// up` again and a preview of a one-label change, loses masters one at a time (master-0,
// which ran kubeadm init, each other master, and the holder of the scheduler's Lease) and
// measures how the cluster carries on, and destroys it.
import { readFileSync, writeFileSync } from "fs";
import { parse, stringify } from "yaml";
import { parseArgs } from "util";
import { changedSteps, outputTail } from "../engine/pulumi";
import { readStackFile } from "../render/render";
import { planOfConfig } from "../render/topology";
import { BringUp, HostReport, LabCluster, LabMode, phasesOf, stackOf } from "./cluster";
import {
  adminOnWorkers,
  checkHealthy,
  ClusterFacts,
  controlPlaneStepsWithout,
  deployEcho,
  destroyAndCheck,
  LossResult,
  loseMaster,
  MachineReplaced,
  MasterHost,
  MastersScaled,
  memberStepsRerun,
  MastersInTurn,
  mastersInTurn,
  refreshedPods,
  dnsZones,
  replaceMachine,
  scaleMasters,
  staleEndpointCopies,
  StepsWithoutMaster,
} from "./cluster-scenarios";
import { LabError, labLog, labModes, runLabCommand } from "./lab";
import { upgradeCluster, Upgraded, upgradeHeld } from "./upgrade-scenario";
import { certificatesHeld, CertificatesRenewed, renewCertificates, Renewal, rotateToken, tokenHeld, TokenRotated } from "./lifetime-scenario";
import { rollChecks, rollHeld, rollWorkers, WorkersRolled } from "./worker-roll-scenario";
import { backupChecks, backupsAndRestore, backupsHeld, BackupsRun } from "./backup-scenario";
import { encryptionAndAudit, encryptionChecks, encryptionHeld, EncryptionRun } from "./encryption-scenario";
import { LAB_UPGRADE_VERSION } from "../toolchain/recipes";
import { join } from "path";

const log = labLog;

export interface LabRun {
  mode: LabMode;
  bringUp: BringUp;
  /** Unless --skip-upgrade: the cluster upgraded to the next minor (LAB_UPGRADE_VERSION) under a running workload. */
  upgraded?: Upgraded;
  /** Unless --skip-lifetime: the control plane's certificates renewed by pulumi up and by the timers, one master at a time. */
  certificates?: CertificatesRenewed;
  /** Unless --skip-lifetime: the bootstrap token rotated while a worker joins again on it. */
  token?: TokenRotated;
  /** Unless --skip-roll: a cloud worker group's roll (ready step, then the old generation's drain) run on the lab's workers under a workload. */
  rolled?: WorkersRolled;
  /** Unless --skip-backups: snapshots by the first up and by the timers, then every member's data destroyed and restored by pulumi up. */
  backups?: BackupsRun;
  /** Unless --skip-encryption: a Secret's bytes in etcd, the audit log, and a key rotation by pulumi up under cross-master reads. */
  encryption?: EncryptionRun;
  secondUpNoChanges: boolean;
  /** Host-network pods that kept an endpoint address their node no longer has, after the bring-up (none, to pass). */
  staleEndpoints: string[];
  /** Masters whose report for a failed up (taken here on the healthy cluster) lacks their containers, etcd's or the kubelet's lines (none, to pass). */
  undiagnosable: string[];
  /** The zones of CoreDNS's replicas after the bring-up: as many different zones as replicas, to pass. */
  dns: { replicas: number; zones: string[] };
  /** Unless --brief: the steps and changes a running cluster meets run again, and master-1's machine replaced with its join killed. */
  reruns?: Reruns;
  /** master-0's machine replaced at its address: joined the running cluster, data kept. */
  replaced: MachineReplaced;
  /** Unless --skip-scale: a grow that fails, taken back; then two masters added one at a time and removed again (3 -> 5 -> 3). */
  scaled?: MastersScaled;
  losses: LossResult[];
  destroyed: boolean;
  /** What a destroy left on the hosts (empty: every host given back). */
  leftOnHosts: string[];
}

/** What a running cluster meets again and again, run by the engine (skipped with --brief). */
export interface Reruns {
  /** Every master's init/join step run again: the up passed, kubeadm did not run again, no etcd member was re-made. */
  memberRerun: boolean;
  /** A change to what the cluster settled (its pod network) refused by preview and up, the state untouched. */
  settled: SettledRefused;
  /** Every master's preparation run again at once: the preview and the up take the masters in turn. */
  inTurn: MastersInTurn;
  labelPreview: string[];
  /** The label after `pulumi up` with it, and after `pulumi up` without it again. */
  labelApplied: { added: boolean; removed: boolean };
  /** master-1's machine replaced, its kubeadm join killed midway, then `pulumi up` again: joined, data kept. */
  replaced1: MachineReplaced;
  /** With master-0's host down, the steps that need any one healthy master ran again on another. */
  withoutMaster0: StepsWithoutMaster;
}

export function factsOf(mode: LabMode): Omit<ClusterFacts, "dnsIp"> {
  const plan = planOfConfig(stackOf(mode), readStackFile(join(__dirname, "..", "stacks"), stackOf(mode)).config);
  return { masters: plan.masters.map((m) => m.name), workers: plan.staticWorkers.map((w) => w.name), endpoint: plan.endpoint.hostPort };
}

/** Two more masters for 3 -> 5 -> 3: lab hosts made with the stack's, in two of its zones. */
export const SPARE_MASTERS: MasterHost[] = [
  { name: "lab-master-3", address: "10.199.96.13", zone: "zone-a" },
  { name: "lab-master-4", address: "10.199.96.14", zone: "zone-b" },
];

export async function runLab(
  mode: LabMode,
  opts: { lose: string[]; keep?: boolean; scale?: boolean; upgrade?: boolean; lifetime?: boolean; roll?: boolean; encryption?: boolean; backups?: boolean; brief?: boolean },
): Promise<LabRun> {
  // One run fetches the bundle from a URL, the other gets the folder copied over SSH.
  const { cluster: c, timings } = await LabCluster.open(mode, log, mode === "vip" ? "url" : "folder", opts.scale ? SPARE_MASTERS : []);
  try {
    log(`${mode}: pulumi up (prepare every host from the bundle, kubeadm init, joins one at a time, workers)`);
    const base = factsOf(mode);
    const { seconds: up, steps } = await c.up();
    log(
      `${mode}: pulumi up done in ${up.toFixed(0)} s: ${phasesOf(steps, base.masters, base.workers)
        .map(([p, t]) => `${p} ${t.toFixed(0)} s`)
        .join(", ")}`,
    );
    const facts: ClusterFacts = {
      ...base,
      dnsIp: (await c.kubectl(base.masters[0], ["-n", "kube-system", "get", "service", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"])).trim(),
    };
    const h = await c.eventually("every node Ready, /readyz through the endpoint and every master a healthy etcd voter", () => checkHealthy(c, facts), 120_000);
    log(`healthy: ${h.nodesReady} nodes Ready, /readyz ok through ${facts.endpoint} from every worker, etcd ${h.voters} healthy voters`);
    const staleEndpoints = await staleEndpointCopies(c, facts);
    const refreshed = await refreshedPods(c, facts);
    log(
      `host-network pods with a stale endpoint address: ${staleEndpoints.length ? staleEndpoints.join("; ") : "none"} ` +
        `(restarted by the init/join steps: ${Object.entries(refreshed)
          .map(([m, n]) => `${m} ${n < 0 ? "no report" : n}`)
          .join(", ")})`,
    );
    const undiagnosable = unreported(await c.hostReports(), facts.masters);
    log(
      `the report a failed up would carry: ${undiagnosable.length ? `LACKS containers, etcd's or the kubelet's lines of ${undiagnosable.join(", ")}` : "each master's containers, etcd's and the kubelet's last lines"}`,
    );
    const dns = await dnsZones(c, facts);
    log(`CoreDNS: ${dns.replicas} replicas, running in ${dns.zones.join(", ") || "no zone"}`);
    await adminOnWorkers(c, facts);
    const echo = await deployEcho(c, facts);
    log(`echo: ${echo.answered.length} replicas answered through its Service from ${facts.workers[0]} (${echo.requests} requests)`);

    let upgraded: Upgraded | undefined;
    if (opts.upgrade) {
      log(`${mode}: upgrading to Kubernetes ${LAB_UPGRADE_VERSION} (pulumi preview, then pulumi up) while ${facts.workers[0]} asks the echo Service`);
      const u = (upgraded = await upgradeCluster(c, facts, LAB_UPGRADE_VERSION));
      log(
        `upgrade ${u.from} -> ${u.to}: bundle ${u.bundleSeconds.toFixed(0)} s; pulumi up ${u.upOk ? `in ${u.upSeconds.toFixed(0)} s` : `FAILED:\n${u.failure}`}; ` +
          `release fetched by ${u.fetched.length} nodes ${u.fetchedFirst ? "before" : "NOT all before"} the first master's upgrade; ` +
          `preview order ${u.previewOrder.join(", ")}; up order ${u.upOrder.join() === u.previewOrder.join() ? "the same" : `DIFFERENT: ${u.upOrder.join(", ")}`}; ` +
          `steps: ${Object.entries(u.stepSeconds)
            .map(([n, t]) => `${n} ${t.toFixed(0)} s`)
            .join(", ")}`,
      );
      log(
        `after the upgrade: kubelets ${u.kubelets.join(", ")}; control plane ${u.controlPlane.join("; ")}; kubeadm-config ${u.clusterVersion}; stack output kubernetesVersion ${u.recorded || "(none)"}; ` +
          `cordoned ${u.cordoned.join(", ") || "none"}; same cluster ${u.sameCluster}, data kept ${u.dataKept}; the workload failed ${u.workloadFailures} of ${u.workloadRequests} requests, ` +
          `/readyz through the endpoint ${u.endpointFailures} of ${u.endpointRequests}${u.workloadFailedAt.length + u.endpointFailedAt.length ? ` (workload failures at ${u.workloadFailedAt.join(", ") || "none"}; endpoint failures at ${u.endpointFailedAt.join(", ") || "none"})` : ""}; back to ${u.from}: ${u.downgradeRefused ? "refused" : "NOT refused"} (${u.downgradeMessage || "no message"})`,
      );
    }

    let certificates: CertificatesRenewed | undefined;
    let token: TokenRotated | undefined;
    if (opts.lifetime) {
      log(`${mode}: renewing the control plane's certificates: by pulumi up (the stack's window widened), then by every master's timer at once`);
      const x = (certificates = await renewCertificates(c, facts));
      const renewal = (r: Renewal) =>
        `${r.ok ? `in ${r.seconds.toFixed(0)} s` : `FAILED:\n${r.failure}`}: turns ${r.turns.map((t) => `${t.master} ${t.start}->${t.end}`).join(", ")}; expiries ${Object.entries(
          r.expiries,
        )
          .map(([m, e]) => `${m} +${((e.after - e.before) / 60).toFixed(0)} min`)
          .join(", ")}; ` +
        `the workload failed ${r.workloadFailures} of ${r.workloadRequests} requests, /readyz through the endpoint ${r.endpointFailures} of ${r.endpointRequests}`;
      log(
        `certificates: issued within the stack's ${x.validity} s ${x.issuedWithin}; timers on ${x.timersOn.join(", ")}; preview listed ${x.previewListed.join(", ")}; ` +
          `by pulumi up ${renewal(x.byUp)}; output expiry ${x.outputBefore} -> ${x.outputAfter}; exported kubeconfig +${((x.kubeconfigAfter - x.kubeconfigBefore) / 60).toFixed(0)} min; ` +
          `by the timers ${renewal(x.byTimer)}; same cluster ${x.sameCluster}, data kept ${x.dataKept}`,
      );
      log(`${mode}: rotating the bootstrap token while ${facts.workers[facts.workers.length - 1]} joins again`);
      const t = (token = await rotateToken(c, facts, (names) => editHosts(c, (h) => (h.workers = h.workers.filter((w) => names.includes(w.name))))));
      log(
        `bootstrap token: ours before ${t.before.join(", ")}, after ${t.after.join(", ")}; output ${JSON.stringify(t.outputBefore)} -> ${JSON.stringify(t.outputAfter)}; ` +
          `${t.worker} taken out ${t.removedOk}, rotated and joined again: pulumi up ${t.upOk ? `in ${t.upSeconds.toFixed(0)} s` : `FAILED:\n${t.failure}`}, joined as ${t.joinedWith || "nobody"}, Ready ${t.workerReady}`,
      );
    }

    let rolled: WorkersRolled | undefined;
    if (opts.roll) {
      log(`${mode}: a worker group's roll: ${facts.workers[1]} the new generation, ${facts.workers[0]} the old one, drained while ${facts.workers[0]} asks the echo Service`);
      rolled = await rollWorkers(c, facts);
      for (const [what, held] of rollChecks(rolled)) log(`roll: ${held ? "" : "NOT HELD: "}${what}`);
    }

    let encryption: EncryptionRun | undefined;
    if (opts.encryption) {
      log(`${mode}: Secrets encrypted at rest and the audit log: a Secret's bytes in etcd, its read in the audit log, then the key rotated by pulumi up`);
      encryption = await encryptionAndAudit(c, facts, log);
      for (const [what, held] of encryptionChecks(encryption, facts.masters)) log(`encryption: ${held ? "" : "NOT HELD: "}${what}`);
    }

    let backups: BackupsRun | undefined;
    if (opts.backups) {
      log(`${mode}: etcd backups: the first up's snapshot, the timers', then every member's data destroyed and restored by pulumi up`);
      backups = await backupsAndRestore(c, facts, log);
      for (const [what, held] of backupChecks(backups, facts.masters)) log(`backups: ${held ? "" : "NOT HELD: "}${what}`);
    }

    // From "another shell": another SSH agent socket must change nothing.
    const again = await c.engine.run(["up", "--yes", "--expect-no-changes", ...c.stackArgs()], {
      timeoutMs: 20 * 60_000,
      env: { SSH_AUTH_SOCK: join(c.engine.dir, "another-shell-agent.sock") },
    });
    const secondUpNoChanges = again.code === 0;
    log(`second pulumi up: ${secondUpNoChanges ? "no changes" : `changes or failure (exit ${again.code}):\n${outputTail(again.stdout, 30)}`}`);

    const replaced = await replaceMachine(c, facts, facts.masters[0], (machine) => editHost(c, facts.masters[0], (m) => (m.machine = machine)));
    log(
      `${replaced.replaced} replaced by a new machine at its address, pulumi up ${replaced.upOk ? `in ${replaced.upSeconds.toFixed(0)} s` : `FAILED:\n${replaced.failure}`}: ` +
        `same cluster ${replaced.sameCluster}, data kept ${replaced.dataKept}, new machine ${replaced.newMachine}, new etcd member ${replaced.newMember}, other members kept ${replaced.othersKept}; ` +
        `the workload failed ${replaced.workloadFailures} of ${replaced.workloadRequests} requests meanwhile`,
    );

    let reruns: Reruns | undefined;
    if (!opts.brief) {
      const settled = await settledChangeRefused(c);
      log(
        `network.podCidr changed on the running cluster: preview ${settled.previewRefused ? "refused" : "NOT refused"} (${settled.seconds[0].toFixed(0)} s), up ${settled.upRefused ? "refused" : "NOT refused"} (${settled.seconds[1].toFixed(0)} s), ` +
          `state ${settled.stateKept ? "unchanged" : "CHANGED"}; the error: ${settled.message || "(none)"}`,
      );

      const rerun = await memberStepsRerun(c, facts);
      const sameMembers = rerun.membersBefore.join() === rerun.membersAfter.join();
      log(
        `${rerun.rerun.join(", ")} run again (pulumi up --replace): ${rerun.upOk ? "up ok" : `up FAILED:\n${rerun.failure}`}; kubeadm ran again on ${rerun.kubeadmAgain.join(", ") || "none"}; etcd members ${sameMembers ? `unchanged (${rerun.membersAfter.join(", ")})` : `CHANGED: ${rerun.membersBefore.join(", ")} -> ${rerun.membersAfter.join(", ")}`}`,
      );
      await c.eventually("every node Ready and every master a healthy etcd voter after the re-run", () => checkHealthy(c, facts), 120_000);

      const inTurn = await mastersInTurn(c, facts);
      log(
        `${inTurn.rerun.join(", ")} run again at once (pulumi up --replace) with ${inTurn.heldBack.master}'s kubelet down until ${inTurn.heldBack.kubeletBack.toFixed(0)} s: ` +
          `preview lists ${inTurn.previewOrder.join(", ")} (${inTurn.previewInTurn ? "in turn" : "NOT in turn"}); up ${inTurn.upOk ? "ok" : `FAILED:\n${inTurn.failure}`}; ` +
          `turns (s from the up's start, preparation started -> healthy again): ${inTurn.turns.map((t) => `${t.master} ${t.start.toFixed(0)}->${t.healthy.toFixed(0)}`).join(", ")} ` +
          `(${inTurn.inTurn ? "one at a time" : "OVERLAPPING"}; the next turn ${inTurn.waitedForIt ? "waited for" : "did NOT wait for"} the kubelet); ` +
          `endpoint names repointed: ${inTurn.hostsMoved.join("; ") || "none"}; endpoint services restarted: ${inTurn.restarted.join(", ") || "none"}; /readyz through the endpoint failed ${inTurn.endpointFailures} of ${inTurn.endpointRequests} probes`,
      );
      await c.eventually("every node Ready and every master a healthy etcd voter after the masters' turns", () => checkHealthy(c, facts), 120_000);

      const labelPreview = await withLabel(c, facts.workers[0], async () => changedSteps((await c.engine.preview(c.stack)).raw));
      log(`preview after labelling ${facts.workers[0]}: ${labelPreview.join("; ") || "no changes"}`);
      const labelApplied = await applyLabelAndBack(c, facts);
      log(
        `label ${LAB_LABEL} on ${facts.workers[0]}: ${labelApplied.added ? "set by pulumi up" : "NOT set by pulumi up"}, ${labelApplied.removed ? "removed again by the next one" : "NOT removed by the next one"}`,
      );

      const replaced1 = await replaceMachine(c, facts, facts.masters[1], (machine) => editHost(c, facts.masters[1], (m) => (m.machine = machine)), { killJoin: true });
      const k = replaced1.joinKilled!;
      log(
        `${replaced1.replaced} replaced by a new machine, its kubeadm join killed ${k.killed ? `${k.afterSeconds.toFixed(0)} s into pulumi up, once etcd's manifest was written (learners then: ${k.learners.join(", ") || "none"})` : "NOT caught running"}; ` +
          `that up ${k.firstUpFailed ? "failed" : "did NOT fail"}; pulumi up again ${replaced1.upOk ? `in ${replaced1.upSeconds.toFixed(0)} s` : `FAILED:\n${replaced1.failure}`}: ` +
          `same cluster ${replaced1.sameCluster}, data kept ${replaced1.dataKept}, new machine ${replaced1.newMachine}, new etcd member ${replaced1.newMember}, other members kept ${replaced1.othersKept}; ` +
          `the workload failed ${replaced1.workloadFailures} of ${replaced1.workloadRequests} requests meanwhile`,
      );

      const withoutMaster0 = await controlPlaneStepsWithout(c, facts, facts.masters[0]);
      log(
        `${facts.masters[0]} down: ${withoutMaster0.rerun.join(", ")} run again (pulumi up --target-replace): ${withoutMaster0.upOk ? "up ok" : `up FAILED:\n${withoutMaster0.failure}`}, ` +
          `ran on ${withoutMaster0.ranOn || "an unknown master"}; the stack's kubeconfig ${withoutMaster0.kubeconfigWorks ? "lists the nodes through the endpoint" : "does NOT work"}`,
      );
      reruns = { memberRerun: rerun.upOk && rerun.kubeadmAgain.length === 0 && sameMembers, settled, inTurn, labelPreview, labelApplied, replaced1, withoutMaster0 };
    }

    let scaled: MastersScaled | undefined;
    if (opts.scale) {
      const masters = hostsOf(c).masters as MasterHost[];
      scaled = await scaleMasters(c, facts, masters, SPARE_MASTERS, (list) => editHosts(c, (h) => (h.masters = list)));
      const scaleStep = (s: MastersScaled["grow"]) =>
        `pulumi up ${s.upOk ? `in ${s.seconds.toFixed(0)} s` : `FAILED:\n${s.failure}`}: turns ${s.turns.map((t) => `${t.master} ${t.start.toFixed(0)}->${t.healthy.toFixed(0)}`).join(", ")} (${s.inTurn ? "one at a time" : "NOT one at a time"}); ` +
        `etcd voters ${s.voters.join(", ")}${s.learners.length ? `, learners ${s.learners.join(", ")}` : ""} (${s.etcdHealthy ? "healthy" : "NOT healthy"}); control-plane Nodes ${s.nodes.join(", ")}; endpoint configs ${s.endpointWrong.length ? `WRONG: ${s.endpointWrong.join("; ")}` : "name exactly these masters"}`;
      const joinedFirst = scaled.added.slice(0, -1);
      log(
        `masters 3 -> 5 failing at ${scaled.added[scaled.added.length - 1]} (its etcd peer port held): pulumi up ${scaled.failedGrow.upOk ? "PASSED (it should have failed)" : `failed${failedAtPreflight(scaled.failedGrow) ? " at kubeadm's preflight" : `, but not at kubeadm's preflight:\n${scaled.failedGrow.failure}`}`}` +
          ` after ${joinedFirst.join(", ")} joined (etcd voters then ${scaled.failedGrow.voters.join(", ")})`,
      );
      log(
        `the failed grow reverted in the stack: ${scaleStep(scaled.reverted)}; the spares' hosts ${scaled.leftAfterRevert.length ? `still hold: ${scaled.leftAfterRevert.join("; ")}` : "given back"}`,
      );
      log(`masters 3 -> 5, ${scaled.added.join(" and ")} added: ${scaleStep(scaled.grow)}`);
      log(
        `masters 5 -> 3, ${scaled.added.join(" and ")} removed: ${scaleStep(scaled.shrink)}; their hosts ${scaled.leftOnRemoved.length ? `still hold: ${scaled.leftOnRemoved.join("; ")}` : "given back"}`,
      );
      log(
        `3 -> 5 -> 3: same cluster ${scaled.sameCluster}, data kept ${scaled.dataKept}; the workload failed ${scaled.workloadFailures} of ${scaled.workloadRequests} requests, ` +
          `/readyz through the endpoint ${scaled.endpointFailures} of ${scaled.endpointRequests}`,
      );
    }

    const losses: LossResult[] = [];
    for (const which of opts.lose) {
      const r = await loseMaster(c, facts, which, log);
      losses.push(r);
      log(
        `${r.lost} back: Ready and a healthy etcd voter ${r.rejoined.toFixed(1)} s after it booted; leases: ${Object.entries(r.leases)
          .map(([l, x]) => `${l} ${x.before}->${x.after}${x.seconds ? ` in ${x.seconds.toFixed(1)} s` : ""}`)
          .join(", ")}`,
      );
    }
    let destroyed = false;
    let leftOnHosts: string[] = [];
    if (!opts.keep) {
      ({ destroyed, leftOnHosts } = await destroyAndCheck(c, [...facts.masters, ...facts.workers], log));
    }
    return {
      mode,
      bringUp: { ...timings, up, steps },
      upgraded,
      certificates,
      token,
      rolled,
      backups,
      encryption,
      secondUpNoChanges,
      staleEndpoints,
      undiagnosable,
      dns,
      reruns,
      replaced,
      scaled,
      losses,
      destroyed,
      leftOnHosts,
    };
  } finally {
    if (!opts.keep) await c.close();
    else log(`--keep: hosts and engine left running (npm run lab:hosts -- down removes the hosts; engine in ${c.engine.dir})`);
  }
}

const LAB_LABEL = "example.com/lab";

type HostEntry = { name: string; address: string; zone?: string; labels?: Record<string, string>; machine?: string };
type HostsEntry = { masters: HostEntry[]; workers: HostEntry[] };

/** The stack's hosts, as its config copy lists them now. */
function hostsOf(c: LabCluster): HostsEntry {
  return (parse(readFileSync(c.engine.configFile(c.stack), "utf8")) as { config: Record<string, HostsEntry> }).config["kubeadm-ha:hosts"];
}

/** Edits the hosts in the stack's config copy; returns the config as it was. */
function editHosts(c: LabCluster, edit: (hosts: HostsEntry) => void): string {
  const file = c.engine.configFile(c.stack);
  const original = readFileSync(file, "utf8");
  const doc = parse(original) as { config: Record<string, HostsEntry> };
  edit(doc.config["kubeadm-ha:hosts"]);
  writeFileSync(file, stringify(doc));
  return original;
}

/** Edits one host's entry in the stack's config copy; returns the config as it was. */
function editHost(c: LabCluster, host: string, edit: (h: HostEntry) => void): string {
  return editHosts(c, (hosts) => {
    const h = [...hosts.masters, ...hosts.workers].find((x) => x.name === host);
    if (!h) throw new LabError(`no host ${host} in ${c.engine.configFile(c.stack)}`);
    edit(h);
  });
}

/** The masters whose part of a failed up's report lacks their containers, etcd's or the kubelet's lines. */
export function unreported(reports: HostReport[], masters: string[]): string[] {
  return masters.filter((m) => !reports.some((r) => r.host === m && r.containers && r.etcd && r.kubelet));
}

/** Runs `f` with LAB_LABEL added to one worker in the stack's config copy, then puts the config back. */
async function withLabel<T>(c: LabCluster, worker: string, f: () => Promise<T>): Promise<T> {
  const original = editHost(c, worker, (w) => (w.labels = { ...w.labels, [LAB_LABEL]: "labelled" }));
  try {
    return await f();
  } finally {
    writeFileSync(c.engine.configFile(c.stack), original);
  }
}

interface SettledRefused {
  previewRefused: boolean;
  upRefused: boolean;
  /** The state after the refused up is the state before it. */
  stateKept: boolean;
  /** The error line naming the key. */
  message: string;
  /** How long the refused preview and the refused up took. */
  seconds: number[];
}

/**
 * The stack's pod network changed on the running cluster (a setting it settled when it was
 * made): `pulumi preview` and `pulumi up` must both refuse it, naming the key, and leave the
 * state as it was. The config is put back afterwards.
 */
async function settledChangeRefused(c: LabCluster): Promise<SettledRefused> {
  const file = c.engine.configFile(c.stack);
  const original = readFileSync(file, "utf8");
  const doc = parse(original) as { config: Record<string, { podCidr?: string }> };
  doc.config["kubeadm-ha:network"].podCidr = "10.250.0.0/16";
  writeFileSync(file, stringify(doc));
  // Every run reads the stack's own outputs (a StackReference and the provider that reads it): the rest must stay as it was.
  // Compared in plain text: each write of the state encrypts its secrets anew.
  const state = async () =>
    JSON.stringify(
      (((await c.engine.exportStack(c.stack, true)).json as { deployment?: { resources?: Array<{ urn: string; type: string; outputs?: unknown }> } }).deployment?.resources ?? [])
        .filter((r) => r.type !== "pulumi:pulumi:StackReference" && r.type !== "pulumi:providers:pulumi")
        .map((r) => [r.urn, r.outputs]),
    );
  try {
    const before = await state();
    const refused = (r: { code: number; stdout: string; stderr: string }) =>
      r.code !== 0 && (r.stdout + r.stderr).includes('kubeadm-ha:network.podCidr: is "10.250.0.0/16", but this cluster was made with');
    const t0 = Date.now();
    const preview = await c.engine.run(["preview", ...c.stackArgs()], { timeoutMs: 5 * 60_000 });
    const t1 = Date.now();
    const up = await c.engine.run(["up", "--yes", "--skip-preview", ...c.stackArgs()], { timeoutMs: 5 * 60_000 });
    return {
      seconds: [(t1 - t0) / 1000, (Date.now() - t1) / 1000],
      previewRefused: refused(preview),
      upRefused: refused(up),
      stateKept: (await state()) === before,
      message:
        (preview.stdout + preview.stderr)
          .split("\n")
          .find((l) => l.includes("kubeadm-ha:network.podCidr"))
          ?.trim() ?? "",
    };
  } finally {
    writeFileSync(file, original);
  }
}

/** `pulumi up` with the label, read it on the Node; `pulumi up` without it, read it again. */
async function applyLabelAndBack(c: LabCluster, facts: ClusterFacts): Promise<{ added: boolean; removed: boolean }> {
  const worker = facts.workers[0];
  const label = async () => (await c.kubectl(facts.masters[0], ["get", "node", worker, "-o", `jsonpath={.metadata.labels.${LAB_LABEL.replace(/\./g, "\\.")}}`])).trim();
  await withLabel(c, worker, () => c.engine.must(["up", "--yes", "--skip-preview", ...c.stackArgs()], { timeoutMs: 10 * 60_000 }));
  const added = (await label()) === "labelled";
  await c.engine.must(["up", "--yes", "--skip-preview", ...c.stackArgs()], { timeoutMs: 10 * 60_000 });
  return { added, removed: (await label()) === "" };
}

/**
 * 3 -> 5 -> 3 held: the grow made to fail failed at kubeadm's preflight after the other
 * spare joined, and taking it back left exactly the stack's masters; then each up
 * passed, one master at a time; etcd's voters, the control-plane
 * Nodes and every endpoint config were exactly the stack's masters after each; the removed
 * hosts were given back; same cluster, data kept, the workload answered every request.
 */
function scaledHeld(s: MastersScaled): boolean {
  const exact = (step: MastersScaled["grow"]) =>
    step.upOk &&
    step.inTurn &&
    step.etcdHealthy &&
    step.learners.length === 0 &&
    step.voters.join() === [...step.masters].sort().join() &&
    step.nodes.join() === [...step.masters].sort().join() &&
    step.endpointWrong.length === 0;
  const failedAsMeant = !s.failedGrow.upOk && failedAtPreflight(s.failedGrow) && s.added.slice(0, -1).every((m) => s.failedGrow.voters.includes(m));
  return (
    failedAsMeant &&
    exact(s.reverted) &&
    s.leftAfterRevert.length === 0 &&
    exact(s.grow) &&
    exact(s.shrink) &&
    s.leftOnRemoved.length === 0 &&
    s.sameCluster &&
    s.dataKept &&
    s.workloadFailures === 0
  );
}

/** The re-runs held: each passed as its log line says. */
function rerunsHeld(r: Reruns): boolean {
  return (
    r.memberRerun &&
    r.settled.previewRefused &&
    r.settled.upRefused &&
    r.settled.stateKept &&
    r.inTurn.upOk &&
    r.inTurn.previewInTurn &&
    r.inTurn.inTurn &&
    r.inTurn.waitedForIt &&
    r.inTurn.restarted.length === 0 &&
    r.inTurn.hostsMoved.length === 0 &&
    r.inTurn.endpointFailures === 0 &&
    !!r.replaced1.joinKilled?.killed &&
    r.replaced1.joinKilled.firstUpFailed &&
    r.replaced1.upOk &&
    r.replaced1.sameCluster &&
    r.replaced1.dataKept &&
    r.replaced1.newMachine &&
    r.replaced1.newMember &&
    r.replaced1.othersKept &&
    r.withoutMaster0.upOk &&
    r.withoutMaster0.kubeconfigWorks &&
    r.withoutMaster0.ranOn !== "" &&
    r.withoutMaster0.ranOn !== r.withoutMaster0.down &&
    r.labelPreview.length === 1 &&
    r.labelApplied.added &&
    r.labelApplied.removed
  );
}

function rerunsSummary(r: Reruns): string {
  return `member steps re-run harmlessly: ${r.memberRerun}; pod network change refused: ${r.settled.previewRefused && r.settled.upRefused && r.settled.stateKept}; masters prepared again in turn: ${r.inTurn.upOk && r.inTurn.inTurn && r.inTurn.previewInTurn} (endpoint failures ${r.inTurn.endpointFailures}/${r.inTurn.endpointRequests}); ${r.replaced1.replaced} replaced with its join killed midway, then up again: joined ${r.replaced1.upOk && r.replaced1.sameCluster && r.replaced1.newMember && r.replaced1.othersKept}, workload failures ${r.replaced1.workloadFailures}/${r.replaced1.workloadRequests}; control-plane steps with ${r.withoutMaster0.down} down: ran on ${r.withoutMaster0.ranOn}, kubeconfig works ${r.withoutMaster0.kubeconfigWorks}; label preview: ${r.labelPreview.join("; ")}; label set and removed by pulumi up: ${r.labelApplied.added && r.labelApplied.removed}; `;
}

/** The failed grow failed where it was made to: kubeadm's preflight found the etcd peer port in use. */
const failedAtPreflight = (step: MastersScaled["failedGrow"]) => step.preflightErrors.includes("[ERROR Port-2380]");

/**
 * The hosts a run loses unless --lose says. vip: each master (master-0 holds the VIP
 * first, then it moves) and the scheduler's Lease holder. local-proxy: every node's own
 * haproxy passes over a lost master the same way whichever master it is, so master-0
 * (which ran kubeadm init) and the Lease holder; each loss costs about three minutes.
 */
function defaultLosses(mode: LabMode, masters: string[]): string[] {
  return mode === "vip" ? [...masters, "lease-holder"] : [masters[0], "lease-holder"];
}

async function main() {
  const { values } = parseArgs({
    options: {
      mode: { type: "string" },
      lose: { type: "string" },
      keep: { type: "boolean" },
      "skip-scale": { type: "boolean" },
      "skip-upgrade": { type: "boolean" },
      "skip-lifetime": { type: "boolean" },
      "skip-roll": { type: "boolean" },
      "skip-encryption": { type: "boolean" },
      "skip-backups": { type: "boolean" },
      brief: { type: "boolean" },
    },
  });
  const modes = labModes(values.mode);
  const runs: LabRun[] = [];
  for (const mode of modes) {
    const masters = factsOf(mode).masters;
    // --lose= (empty) loses no master.
    const lose = values.lose !== undefined ? values.lose.split(",").filter(Boolean) : defaultLosses(mode, masters);
    runs.push(
      await runLab(mode, {
        lose,
        keep: values.keep,
        scale: !values["skip-scale"],
        upgrade: !values["skip-upgrade"],
        lifetime: !values["skip-lifetime"],
        roll: !values["skip-roll"],
        encryption: !values["skip-encryption"],
        backups: !values["skip-backups"],
        brief: values.brief,
      }),
    );
  }
  console.log("\nsummary");
  for (const r of runs) {
    console.log(
      `  ${r.mode}: hosts ${r.bringUp.hosts.toFixed(0)} s, bundle ${r.bringUp.bundle.toFixed(0)} s, pulumi up ${r.bringUp.up.toFixed(0)} s; ${r.upgraded ? `upgrade ${r.upgraded.from} -> ${r.upgraded.to}: ${upgradeHeld(r.upgraded, factsOf(r.mode).masters, factsOf(r.mode).workers)} (up ${r.upgraded.upSeconds.toFixed(0)} s, workload failures ${r.upgraded.workloadFailures}/${r.upgraded.workloadRequests}, endpoint failures ${r.upgraded.endpointFailures}/${r.upgraded.endpointRequests}); ` : ""}${r.certificates ? `certificates renewed: ${certificatesHeld(r.certificates, factsOf(r.mode).masters)} (by up ${r.certificates.byUp.seconds.toFixed(0)} s, by timers ${r.certificates.byTimer.seconds.toFixed(0)} s; workload failures ${r.certificates.byUp.workloadFailures + r.certificates.byTimer.workloadFailures}/${r.certificates.byUp.workloadRequests + r.certificates.byTimer.workloadRequests}, endpoint failures ${r.certificates.byUp.endpointFailures + r.certificates.byTimer.endpointFailures}/${r.certificates.byUp.endpointRequests + r.certificates.byTimer.endpointRequests}); ` : ""}${r.encryption ? `Secrets encrypted and audited, key rotated: ${encryptionHeld(r.encryption, factsOf(r.mode).masters)} (rotation up ${r.encryption.rotation.upSeconds.toFixed(0)} s, cross-master failures ${r.encryption.rotation.crossFailures}/${r.encryption.rotation.crossRequests}); ` : ""}${r.backups ? `backups and restore: ${backupsHeld(r.backups, factsOf(r.mode).masters)} (restore up ${r.backups.restore.upSeconds.toFixed(0)} s); ` : ""}${r.rolled ? `worker roll drained under a workload: ${rollHeld(r.rolled)} (workload failures ${r.rolled.workloadFailures + r.rolled.legacyFailures}/${r.rolled.workloadRequests + r.rolled.legacyRequests}); ` : ""}${r.token ? `token rotated, a worker joined on it: ${tokenHeld(r.token)} (up ${r.token.upSeconds.toFixed(0)} s); ` : ""}second up no changes: ${r.secondUpNoChanges}; stale endpoint copies: ${r.staleEndpoints.length}; CoreDNS in zones ${r.dns.zones.join(" ")}; ${r.reruns ? rerunsSummary(r.reruns) : ""}${r.replaced.replaced} replaced by a new machine: up ${r.replaced.upSeconds.toFixed(0)} s, joined the same cluster ${r.replaced.sameCluster && r.replaced.newMember && r.replaced.othersKept}, data kept ${r.replaced.dataKept}, workload failures ${r.replaced.workloadFailures}/${r.replaced.workloadRequests}; ${r.scaled ? `masters 3 -> 5 -> 3: ${scaledHeld(r.scaled)} (a failed grow taken back in ${r.scaled.reverted.seconds.toFixed(0)} s; up ${r.scaled.grow.seconds.toFixed(0)} s + ${r.scaled.shrink.seconds.toFixed(0)} s, workload failures ${r.scaled.workloadFailures}/${r.scaled.workloadRequests}, endpoint failures ${r.scaled.endpointFailures}/${r.scaled.endpointRequests}); ` : ""}destroyed: ${r.destroyed}, hosts reset: ${r.leftOnHosts.length === 0}`,
    );
    for (const l of r.losses) {
      console.log(
        `    lost ${l.lost} (${l.why}): API ${l.apiAnswers.toFixed(1)} s, DNS ${l.dnsAnswers.toFixed(1)} s, writes ${l.writesAnswer.toFixed(1)} s, ${Object.entries(l.leases)
          .map(([k, x]) => `${k} ${x.seconds.toFixed(1)} s`)
          .join(", ")}, writes ${l.writesAfter}/5, new pod ${l.newPodRunning.toFixed(1)} s, rejoined ${l.rejoined.toFixed(1)} s`,
      );
    }
  }
  const bad = runs.filter(
    (r) =>
      (r.upgraded !== undefined && !upgradeHeld(r.upgraded, factsOf(r.mode).masters, factsOf(r.mode).workers)) ||
      (r.certificates !== undefined && !certificatesHeld(r.certificates, factsOf(r.mode).masters)) ||
      (r.token !== undefined && !tokenHeld(r.token)) ||
      (r.rolled !== undefined && !rollHeld(r.rolled)) ||
      (r.encryption !== undefined && !encryptionHeld(r.encryption, factsOf(r.mode).masters)) ||
      (r.backups !== undefined && !backupsHeld(r.backups, factsOf(r.mode).masters)) ||
      !r.secondUpNoChanges ||
      r.staleEndpoints.length > 0 ||
      r.undiagnosable.length > 0 ||
      new Set(r.dns.zones).size < Math.min(r.dns.replicas, 3) ||
      (r.reruns !== undefined && !rerunsHeld(r.reruns)) ||
      !(r.replaced.upOk && r.replaced.sameCluster && r.replaced.dataKept && r.replaced.newMachine && r.replaced.newMember && r.replaced.othersKept) ||
      (r.scaled !== undefined && !scaledHeld(r.scaled)) ||
      (!values.keep && (!r.destroyed || r.leftOnHosts.length > 0)) ||
      r.losses.some((l) => l.writesAfter < 5),
  );
  if (bad.length) throw new LabError(`not every check held in ${bad.map((r) => r.mode).join(", ")} (see above)`);
}

if (require.main === module) {
  runLabCommand(main);
}
