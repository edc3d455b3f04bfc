// A worker group's roll on the lab's running cluster: the steps that GCP and AWS worker
// groups run when a pool gets a new generation (plan/worker-roll.ts), run by hand on a
// master against the lab's workers, while a worker asks the echo Service (two replicas, a
// PodDisruptionBudget of one; both replicas are put on the node to drain first, so the drain
// must evict them one at a time).
//
// The lab's platform is hosts you own: it has no instance groups, so Pulumi cannot replace
// one here. What it can prove for real is what the roll does to the cluster: the two workers
// are labelled as two generations of one pool (lab-worker-1 the new one), the `ready` step's
// script waits for the new generation and lets the roll go on, the hook's delete script
// cordons and drains the old generation, every echo replica ends up on the new one, and the
// Service answers throughout. Then the same for a node from before generations (no label),
// which the ready step drains itself. The labels and cordons are taken back afterwards.
import { LabCluster } from "./cluster";
import { ClusterFacts, masterOf, workloadSampler } from "./cluster-scenarios";
import { drainGenerationCommand, generationReadyCommand, GENERATION_LABEL } from "../components/plan/worker-roll";
import { POOL_LABEL } from "../components/plan/labels";

export interface WorkersRolled {
  pool: string;
  old: string;
  fresh: string;
  /** The ready step's script: passed, and what it said. */
  readyOk: boolean;
  readySaid: string;
  /** The hook's delete script: passed, and what it said. */
  drainOk: boolean;
  drainSaid: string;
  /** The old generation's node cordoned afterwards; where the echo replicas ran afterwards. */
  oldCordoned: boolean;
  echoOn: string[];
  workloadRequests: number;
  workloadFailures: number;
  /** A node without a generation (from before them): drained by the ready step, every replica on the new generation after. */
  legacyOk: boolean;
  legacySaid: string;
  legacyCordoned: boolean;
  legacyEchoOn: string[];
  legacyRequests: number;
  legacyFailures: number;
  /** Labels and cordons taken back. */
  restored: boolean;
}

/** Runs one of the roll's command texts on a master, as the engine's SSH step does. */
async function runStep(c: LabCluster, master: string, command: string): Promise<{ ok: boolean; said: string }> {
  const r = await c.exec(master, ["bash", "-c", command]);
  return { ok: r.code === 0, said: `${r.stdout}${r.stderr}`.trim() };
}

/** The nodes the echo replicas run on (not those going away), sorted. */
async function echoNodes(c: LabCluster, master: string): Promise<string[]> {
  const pods = JSON.parse(await c.kubectl(master, ["get", "pods", "-l", "app=echo", "-o", "json"])) as {
    items: Array<{ metadata: { deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase: string } }>;
  };
  return pods.items
    .filter((p) => !p.metadata.deletionTimestamp && p.status.phase === "Running" && p.spec.nodeName)
    .map((p) => p.spec.nodeName!)
    .sort();
}

const cordoned = async (c: LabCluster, master: string, node: string) => (await c.kubectl(master, ["get", "node", node, "-o", "jsonpath={.spec.unschedulable}"])).trim() === "true";

/**
 * Both echo replicas moved onto `node` (the others cordoned for a rollout restart), so that
 * the drain has to evict both, one at a time as the PodDisruptionBudget allows.
 */
async function echoOnto(c: LabCluster, master: string, node: string, others: string[]): Promise<void> {
  for (const o of others) await c.kubectl(master, ["cordon", o]);
  await c.kubectl(master, ["rollout", "restart", "deployment/echo"]);
  await c.kubectl(master, ["rollout", "status", "deployment/echo", "--timeout=180s"]);
  await c.waitFor(`both echo replicas on ${node}`, async () => (await echoNodes(c, master)).join() === [node, node].join(), 120_000);
  for (const o of others) await c.kubectl(master, ["uncordon", o]);
}

export async function rollWorkers(c: LabCluster, f: ClusterFacts): Promise<WorkersRolled> {
  const master = masterOf(f);
  const [old, fresh] = f.workers;
  const pool = (JSON.parse(await c.kubectl(master, ["get", "node", fresh, "-o", "json"])) as { metadata: { labels: Record<string, string> } }).metadata.labels[POOL_LABEL];
  if (!pool) throw new Error(`${fresh} has no ${POOL_LABEL} label`);
  const [oldGen, newGen] = ["0ld0ld00", "9e9e9e9e"];
  const label = (node: string, gen?: string) => c.kubectl(master, ["label", "node", node, "--overwrite", gen ? `${GENERATION_LABEL}=${gen}` : `${GENERATION_LABEL}-`]);
  await echoOnto(c, master, old, [fresh]);

  // Two generations of one pool: the ready step, then the old generation's hook deleted.
  await label(old, oldGen);
  await label(fresh, newGen);
  const ready = await runStep(c, master, generationReadyCommand(pool, newGen));
  let workload = await workloadSampler(c, f, master);
  const drain = ready.ok ? await runStep(c, master, drainGenerationCommand(pool, oldGen)) : { ok: false, said: "not run: the ready step failed" };
  let samples = await workload.stop();
  const oldCordoned = await cordoned(c, master, old);
  const echoOn = await echoNodes(c, master);
  const [workloadRequests, workloadFailures] = [samples.length, samples.filter((s) => !s.ok).length];

  // A node from before generations, beside the new generation: the ready step drains it.
  await c.kubectl(master, ["uncordon", old]);
  await label(old);
  await echoOnto(c, master, old, [fresh]);
  workload = await workloadSampler(c, f, master);
  const legacy = await runStep(c, master, generationReadyCommand(pool, newGen));
  samples = await workload.stop();
  const legacyCordoned = await cordoned(c, master, old);
  const legacyEchoOn = await echoNodes(c, master);

  await c.kubectl(master, ["uncordon", old]);
  await label(fresh);
  const restored = !(await cordoned(c, master, old)) && !(await cordoned(c, master, fresh));
  return {
    pool,
    old,
    fresh,
    readyOk: ready.ok,
    readySaid: ready.said,
    drainOk: drain.ok,
    drainSaid: drain.said,
    oldCordoned,
    echoOn,
    workloadRequests,
    workloadFailures,
    legacyOk: legacy.ok,
    legacySaid: legacy.said,
    legacyCordoned,
    legacyEchoOn,
    legacyRequests: samples.length,
    legacyFailures: samples.filter((s) => !s.ok).length,
    restored,
  };
}

export function rollHeld(r: WorkersRolled): boolean {
  return rollChecks(r).every(([, held]) => held);
}

/** What must hold of a roll: [what, held]. */
export function rollChecks(r: WorkersRolled): Array<[string, boolean]> {
  return [
    [`the ready step passed with ${r.fresh} Ready in the new generation: ${r.readySaid}`, r.readyOk],
    [`the old generation's hook drained ${r.old}: ${r.drainSaid}`, r.drainOk && r.oldCordoned],
    // Both replicas were on the drained node: the second eviction waits for the first's replacement.
    ["the drain waited for the echo PodDisruptionBudget before evicting the second replica", /violate the pod's disruption budget/.test(r.drainSaid)],
    [`every echo replica on ${r.fresh} after the drain (${r.echoOn.join(", ")})`, r.echoOn.length === 2 && r.echoOn.every((n) => n === r.fresh)],
    [`the echo Service answered throughout the drain (failed ${r.workloadFailures} of ${r.workloadRequests})`, r.workloadRequests > 0 && r.workloadFailures === 0],
    [
      `a node from before generations drained by the ready step: ${r.legacySaid}`,
      r.legacyOk && r.legacyCordoned && r.legacyEchoOn.length === 2 && r.legacyEchoOn.every((n) => n === r.fresh),
    ],
    [`the echo Service answered throughout that drain (failed ${r.legacyFailures} of ${r.legacyRequests})`, r.legacyRequests > 0 && r.legacyFailures === 0],
    ["labels and cordons taken back", r.restored],
  ];
}
