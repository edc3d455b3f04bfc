// npm run lab:external-etcd [-- --keep] [--upgrade]
// An external etcd (etcd.topology: external) on real lab hosts: the lab's local-proxy stack
// with three more hosts, lab-etcd-0..2, one per zone, that `pulumi up` makes an etcd cluster
// of its own before master-0's kubeadm init.
// Then a zone is lost (its etcd machine, the leader, and its master at once) and the API must
// stay writable; then two members are lost and every write must stop, none acknowledged
// before lost when they return. The masters snapshot the external members (the first up
// takes one to the lab's share); then every member's data is destroyed and `pulumi up` with
// restore.snapshot puts it back, the members restored on their own machines. With --upgrade
// (about 12 minutes more; CI does not run it), the cluster is upgraded to the next minor: the
// etcd machines first, one at a time (each member on the etcd the release names), then the
// masters and workers. Finally `pulumi destroy` must give every host back, the etcd machines last.
import { existsSync, readFileSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import { parseArgs } from "util";
import { parse, stringify } from "yaml";
import { outputTail } from "../engine/pulumi";
import { readStackFile } from "../render/render";
import { planOfConfig } from "../render/topology";
import { LabCluster, phasesOf } from "./cluster";
import { adminOnWorkers, ClusterFacts, deployEcho, destroyAndCheck } from "./cluster-scenarios";
import { unreported } from "./cluster-cli";
import { checkHealthyExternal, EtcdFacts, etcdLossChecks, loseQuorum, loseZone } from "./etcd-loss-scenario";
import { LabError, labLog, runLabCommand } from "./lab";
import { restoreChecks, restoreCluster } from "./backup-scenario";
import { LAB_SHARE } from "./hosts";
import { restoreTurns } from "../components/plan/backups";
import { ETCD_MEMBER_CONFIG } from "../components/plan/etcd-member";
import { durationSeconds } from "../components/config/durations";
import { renewalHeld, renewByTimers } from "./lifetime-scenario";
import { upgradeCluster, upgradeHeld } from "./upgrade-scenario";
import { LAB_UPGRADE_VERSION } from "../toolchain/recipes";

const log = labLog;
const MODE = "local-proxy" as const;

/** The etcd machines: lab hosts beside the stack's, one in each of its zones. */
export const ETCD_HOSTS = [
  { name: "lab-etcd-0", address: "10.199.96.30", zone: "zone-a" },
  { name: "lab-etcd-1", address: "10.199.96.31", zone: "zone-b" },
  { name: "lab-etcd-2", address: "10.199.96.32", zone: "zone-c" },
];

/**
 * The stack's config copy made external: the etcd machines listed, `etcd.topology: external`
 * (backups as the stack has them: to the lab's share). Returns the plan the program makes of it.
 */
function makeExternal(c: LabCluster) {
  const file = c.engine.configFile(c.stack);
  const doc = parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
  (doc.config["kubeadm-ha:hosts"] as { etcd?: unknown }).etcd = ETCD_HOSTS;
  doc.config["kubeadm-ha:etcd"] = { topology: "external" };
  writeFileSync(file, stringify(doc));
  return planOfConfig(c.stack, readStackFile(dirname(file), c.stack).config);
}

async function main() {
  const { values } = parseArgs({ options: { keep: { type: "boolean" }, upgrade: { type: "boolean" } } });
  const { cluster: c, timings } = await LabCluster.open(MODE, log, "url", ETCD_HOSTS);
  let failed: string[];
  try {
    const plan = makeExternal(c);
    const base = { masters: plan.masters.map((m) => m.name), workers: plan.staticWorkers.map((w) => w.name), endpoint: plan.endpoint.hostPort };
    const e: EtcdFacts = { members: plan.etcd.members, masterZones: Object.fromEntries(plan.masters.map((m) => [m.name, m.zone])) };
    log(
      `external etcd: pulumi up (${e.members.map((m) => `${m.name} in ${m.zone}`).join(", ")} made members one at a time, then kubeadm init on ${base.masters[0]}, joins, workers)`,
    );
    const { seconds: up, steps } = await c.up();
    const members = e.members.map((m) => [`${m.name}-member`, steps[`${m.name}-member`] ?? 0] as const);
    log(
      `external etcd: pulumi up done in ${up.toFixed(0)} s (hosts ${timings.hosts.toFixed(0)} s, bundle ${timings.bundle.toFixed(0)} s): ${members.map(([n, t]) => `${n} ${t.toFixed(0)} s`).join(", ")}, ${phasesOf(
        steps,
        base.masters,
        base.workers,
      )
        .map(([p, t]) => `${p} ${t.toFixed(0)} s`)
        .join(", ")}`,
    );
    const f: ClusterFacts = { ...base, dnsIp: (await c.kubectl(base.masters[0], ["-n", "kube-system", "get", "service", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"])).trim() };
    const h = await c.eventually("every node Ready, /readyz through the endpoint, every etcd machine a healthy voter", () => checkHealthyExternal(c, f, e), 180_000);
    /** After WHAT: every etcd machine a healthy voter (said as such), or why not ("NOT HEALTHY: ..."). */
    const votersAfter = (what: string) =>
      c
        .eventually(`every etcd machine a healthy voter after ${what}`, () => checkHealthyExternal(c, f, e), 180_000)
        .then(
          (x) => `${x.voters} healthy voters (leader ${x.leader})`,
          (err: Error) => `NOT HEALTHY: ${err.message}`,
        );
    log(`healthy: ${h.nodesReady} nodes Ready, etcd ${h.voters} healthy voters on their own machines (leader ${h.leader})`);
    // No master runs etcd: no etcd pod, no etcd data, no etcd certificate of its own.
    const onMasters = (
      await Promise.all(
        f.masters.map(async (m) => ({
          m,
          r: await c.exec(m, ["sh", "-c", "ls /etc/kubernetes/manifests/etcd.yaml /var/lib/etcd/member /etc/kubernetes/pki/etcd/server.crt 2>/dev/null"]),
        })),
      )
    ).filter((x) => x.r.stdout.trim());
    log(`etcd on the masters: ${onMasters.length ? onMasters.map((x) => `${x.m}: ${x.r.stdout.trim().replace(/\n/g, " ")}`).join("; ") : "none"}`);
    const undiagnosable = unreported(
      await c.hostReports(),
      e.members.map((m) => m.name),
    );
    log(
      `the report a failed up would carry: ${undiagnosable.length ? `LACKS containers, etcd's or the kubelet's lines of ${undiagnosable.join(", ")}` : "each etcd machine's containers, etcd's and the kubelet's last lines"}`,
    );
    await adminOnWorkers(c, f);
    // The workload the renewals and the upgrade are sampled with.
    const echo = await deployEcho(c, f);
    log(`echo: ${echo.answered.length} replicas answered through its Service from ${f.workers[0]} (${echo.requests} requests)`);

    const zone = await loseZone(c, f, e, log);
    const quorum = await loseQuorum(c, f, e, log);
    const again = await c.engine.run(["up", "--yes", "--expect-no-changes", ...c.stackArgs()], { timeoutMs: 20 * 60_000 });
    log(`pulumi up after the losses: ${again.code === 0 ? "no changes" : `changes or failure (exit ${again.code}):\n${outputTail(again.stdout, 30)}`}`);

    // The members' certificates, renewed by their timers started at once: one member at a time
    // (the lock in etcd), each etcd restarted on new ones, while a workload runs.
    const byRole = { master: f.masters, etcd: e.members.map((m) => m.name) };
    const validity = durationSeconds(plan.config.kubernetes.certificates.validity)!;
    const renewed = await renewByTimers(c, f, byRole.etcd, ETCD_MEMBER_CONFIG, validity);
    const afterRenewal = await votersAfter("the renewals");
    const when = (t: number) => new Date(t * 1000).toISOString().slice(11, 19);
    log(
      `members' certificates by their timers in ${renewed.seconds.toFixed(0)} s${renewed.ok ? "" : ` (FAILED: ${renewed.failure})`}: turns ${renewed.turns.map((t) => `${t.master} ${when(t.start)}-${when(t.end)}`).join(", ")}; expiries ${Object.entries(
        renewed.expiries,
      )
        .map(([m, x]) => `${m} +${((x.after - x.before) / 60).toFixed(0)} min`)
        .join(
          ", ",
        )}; the workload failed ${renewed.workloadFailures} of ${renewed.workloadRequests} requests, /readyz through the endpoint ${renewed.endpointFailures} of ${renewed.endpointRequests}; etcd after: ${afterRenewal}`,
    );

    // Backups: the masters snapshot the external members; a restore puts every member back.
    const taken =
      (JSON.parse((await c.engine.must(["stack", "output", "backups", "--json", "--stack", c.stack, "--non-interactive"])).trim() || "{}") as { taken?: string }).taken ?? "";
    const takenOnShare = taken !== "" && existsSync(join(LAB_SHARE, "etcd-backups", taken));
    log(`backups: the first up took ${taken || "NOTHING"} (${takenOnShare ? "on the share" : "NOT on the share"})`);
    const turns = restoreTurns(plan).map((t) => ({ phase: t.phase, on: byRole[t.on] }));
    const restored = await restoreCluster(c, f, f.masters[0], log, byRole.etcd);
    const membersBack = await votersAfter("the restore");
    log(`restore: etcd after it: ${membersBack}`);

    const checks: Array<[string, boolean]> = [
      ["no master runs etcd", onMasters.length === 0],
      ["a failed up's report carries each etcd machine's containers, etcd's and the kubelet's lines", undiagnosable.length === 0],
      ...etcdLossChecks(zone, quorum),
      ["pulumi up after the losses changes nothing", again.code === 0],
      [
        `every member's certificates renewed by its timer, one member at a time (${renewed.turns.map((t) => t.master).join(", ")})${renewed.ok ? "" : `: ${renewed.failure}`}`,
        renewalHeld(renewed, byRole.etcd),
      ],
      [`every etcd machine a healthy voter after the renewals (${afterRenewal})`, !afterRenewal.startsWith("NOT")],
      [`the first pulumi up took a snapshot of the external members to the share (${taken || "none"})`, takenOnShare],
      ...restoreChecks(restored, turns),
      [`every etcd machine a healthy voter after the restore (${membersBack})`, !membersBack.startsWith("NOT")],
    ];
    if (values.upgrade) {
      log(
        `external etcd: upgrading to Kubernetes ${LAB_UPGRADE_VERSION} (the etcd machines one at a time, then the masters and workers) while ${f.workers[0]} asks the echo Service`,
      );
      const u = await upgradeCluster(c, f, LAB_UPGRADE_VERSION, byRole.etcd, () => checkHealthyExternal(c, f, e));
      const members = await Promise.all(
        byRole.etcd.map(
          async (m) =>
            `${m}: kubelet ${(await c.exec(m, ["kubelet", "--version"])).stdout.trim().split(" ").pop()}, etcd ${(await c.exec(m, ["sh", "-c", "sed -n 's#^ *image: .*:##p' /etc/kubernetes/manifests/etcd.yaml"])).stdout.trim()}`,
        ),
      );
      const wanted = (await c.exec(byRole.etcd[0], ["sh", "-c", `kubeadm config images list --kubernetes-version v${LAB_UPGRADE_VERSION} | sed -n 's#.*/etcd:##p'`])).stdout.trim();
      const healthy = await votersAfter("the upgrade");
      log(
        `upgrade ${u.from} -> ${u.to}: up ${u.upOk ? `in ${u.upSeconds.toFixed(0)} s` : `FAILED:\n${u.failure}`}; order ${u.upOrder.join(", ")}; etcd machines ${members.join("; ")} (wanted etcd ${wanted}); workload failed ${u.workloadFailures} of ${u.workloadRequests} (${u.workloadFailedAt.join("; ") || "none"}), endpoint ${u.endpointFailures} of ${u.endpointRequests}; ${healthy}`,
      );
      checks.push(
        [
          `the upgrade to ${u.to} held: preview's order run, every node on it, the workload answered every request (${u.workloadFailures} of ${u.workloadRequests} failed)${u.failure ? `: ${u.failure}` : ""}`,
          upgradeHeld(u, f.masters, f.workers),
        ],
        [
          `the etcd machines upgraded first, one at a time (${u.upOrder.slice(0, byRole.etcd.length).join(", ")})`,
          u.upOrder.slice(0, byRole.etcd.length).join() === byRole.etcd.map((m) => `${m}-upgrade`).join(),
        ],
        [
          `every etcd machine on the release's kubelet and etcd ${wanted} (${members.join("; ")})`,
          wanted !== "" && members.every((m) => m.includes(`kubelet v${LAB_UPGRADE_VERSION},`) && m.endsWith(`etcd ${wanted}`)),
        ],
        [`every etcd machine a healthy voter after the upgrade (${healthy})`, !healthy.startsWith("NOT")],
      );
    }
    if (!values.keep) {
      const { destroyed, leftOnHosts } = await destroyAndCheck(c, [...f.masters, ...f.workers, ...e.members.map((m) => m.name)], log);
      const etcdData = (await Promise.all(e.members.map(async (m) => ((await c.exec(m.name, ["test", "-e", "/var/lib/etcd/member"])).code === 0 ? [m.name] : [])))).flat();
      checks.push([
        `pulumi destroy emptied the state and gave every host back (left: ${[...leftOnHosts, ...etcdData.map((n) => `${n}: etcd data`)].join("; ") || "nothing"})`,
        destroyed && leftOnHosts.length === 0 && etcdData.length === 0,
      ]);
    }
    console.log("\nsummary");
    console.log(
      `  external etcd (${MODE}): pulumi up ${up.toFixed(0)} s; zone lost: writes failed ${zone.failedAfterLoss}/${zone.writesAfterLoss}, acknowledged throughout from ${zone.writesAnswer.toFixed(1)} s, back healthy ${zone.rejoined.toFixed(0)} s after boot; quorum lost ${quorum.heldSeconds.toFixed(0)} s: writes acknowledged ${quorum.acknowledgedWhileDown}/${quorum.writesWhileDown}, quorum back ${quorum.quorumBackAfter.toFixed(1)} s and writes ${quorum.writesBackAfter.toFixed(1)} s after boot; members' certificates renewed by their timers in ${renewed.seconds.toFixed(0)} s (workload failures ${renewed.workloadFailures}/${renewed.workloadRequests}); restore up ${restored.upSeconds.toFixed(0)} s`,
    );
    for (const [what, held] of checks) console.log(`  ${held ? "held" : "NOT HELD"}: ${what}`);
    failed = checks.filter(([, held]) => !held).map(([what]) => what);
  } finally {
    if (!values.keep) await c.close();
    else log(`--keep: hosts and engine left running (npm run lab:hosts -- down removes the hosts; engine in ${c.engine.dir})`);
  }
  if (failed.length) throw new LabError(`not every check held with an external etcd: ${failed.join("; ")}`);
}

if (require.main === module) {
  runLabCommand(main);
}
