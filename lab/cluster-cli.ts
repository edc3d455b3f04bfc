// npm run lab:cluster [-- --mode vip|local-proxy] [--lose NAME,..] [--keep]
// Builds a real HA cluster the way a user does on hosts they own: lab hosts, an
// air-gapped bundle, and the real `pulumi up` of the lab stack; then checks it as a user
// would, runs `pulumi up` again and a preview of a one-label change, loses masters one
// at a time (master-0, which ran kubeadm init, each other master, and the holder of the
// scheduler's Lease) and measures how the cluster carries on, and destroys it.
import { readFileSync, writeFileSync } from "fs";
import { parse, stringify } from "yaml";
import { parseArgs } from "util";
import { readStackFile } from "../render/render";
import { planOfConfig } from "../render/topology";
import { BringUp, LabCluster, LabMode, phasesOf, stackOf } from "./cluster";
import { adminOnWorkers, checkHealthy, ClusterFacts, deployEcho, LossResult, loseMaster } from "./cluster-scenarios";
import { LabError } from "./lab";
import { join } from "path";

const log = (s: string) => console.log(`[lab ${new Date().toISOString().slice(11, 19)}] ${s}`);

export interface LabRun {
  mode: LabMode;
  bringUp: BringUp;
  secondUpNoChanges: boolean;
  labelPreview: string[];
  losses: LossResult[];
  destroyed: boolean;
}

export function factsOf(mode: LabMode): Omit<ClusterFacts, "dnsIp"> {
  const plan = planOfConfig(stackOf(mode), readStackFile(join(__dirname, "..", "stacks"), stackOf(mode)).config);
  return { masters: plan.masters.map((m) => m.name), workers: plan.staticWorkers.map((w) => w.name), endpoint: plan.endpoint.hostPort };
}

/** Steps a `pulumi preview --json` would change (op other than same), as `op name`. */
function changes(previewJson: string): string[] {
  const raw = JSON.parse(previewJson) as { steps?: Array<{ op: string; urn: string }> };
  return (raw.steps ?? []).filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);
}

export async function runLab(mode: LabMode, opts: { lose: string[]; keep?: boolean }): Promise<LabRun> {
  // One run fetches the bundle from a URL, the other gets the folder copied over SSH.
  const { cluster: c, timings } = await LabCluster.open(mode, log, mode === "vip" ? "url" : "folder");
  try {
    log(`${mode}: pulumi up (prepare every host from the bundle, kubeadm init, joins one at a time, workers)`);
    const { seconds: up, steps } = await c.up();
    log(`${mode}: pulumi up done in ${up.toFixed(0)} s: ${phasesOf(steps, factsOf(mode).masters, factsOf(mode).workers).map(([p, t]) => `${p} ${t.toFixed(0)} s`).join(", ")}`);
    const base = factsOf(mode);
    const facts: ClusterFacts = { ...base, dnsIp: (await c.kubectl(base.masters[0], ["-n", "kube-system", "get", "service", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"])).trim() };
    const h = await c.eventually("every node Ready, /readyz through the endpoint and every master a healthy etcd voter", () => checkHealthy(c, facts), 120_000);
    log(`healthy: ${h.nodesReady} nodes Ready, /readyz ok through ${facts.endpoint} from every worker, etcd ${h.voters} healthy voters`);
    await adminOnWorkers(c, facts);
    const echo = await deployEcho(c, facts);
    log(`echo: ${echo.answered.length} replicas answered through its Service from ${facts.workers[0]} (${echo.requests} requests)`);

    const again = await c.engine.run(["up", "--yes", "--expect-no-changes", ...c.stackArgs()], { timeoutMs: 20 * 60_000 });
    const secondUpNoChanges = again.code === 0;
    log(`second pulumi up: ${secondUpNoChanges ? "no changes" : `changes or failure (exit ${again.code}):\n${again.stdout.split("\n").slice(-30).join("\n")}`}`);

    const labelPreview = await previewOneLabel(c, facts.workers[0]);
    log(`preview after labelling ${facts.workers[0]}: ${labelPreview.join("; ") || "no changes"}`);

    const losses: LossResult[] = [];
    for (const which of opts.lose) {
      const r = await loseMaster(c, facts, which, log);
      losses.push(r);
      log(`${r.lost} back: Ready and a healthy etcd voter ${r.rejoined.toFixed(1)} s after it booted; leases: ${Object.entries(r.leases).map(([l, x]) => `${l} ${x.before}->${x.after}${x.seconds ? ` in ${x.seconds.toFixed(1)} s` : ""}`).join(", ")}`);
    }
    let destroyed = false;
    if (!opts.keep) {
      const d = await c.engine.run(["destroy", "--yes", ...c.stackArgs()], { timeoutMs: 20 * 60_000 });
      const left = d.code === 0 ? ((JSON.parse((await c.engine.exportStack(c.stack)).text) as { deployment?: { resources?: unknown[] } }).deployment?.resources ?? []).length : -1;
      destroyed = d.code === 0 && left === 0;
      log(`pulumi destroy: ${destroyed ? "state empty" : `exit ${d.code}, ${left} resources left:\n${(d.stdout + d.stderr).split("\n").slice(-30).join("\n")}`}`);
    }
    return { mode, bringUp: { ...timings, up, steps }, secondUpNoChanges, labelPreview, losses, destroyed };
  } finally {
    if (!opts.keep) await c.close();
    else log(`--keep: hosts and engine left running (npm run lab:hosts -- down removes the hosts; engine in ${c.engine.dir})`);
  }
}

/** Adds a label to one worker in the stack's config copy, previews, and puts the config back. */
async function previewOneLabel(c: LabCluster, worker: string): Promise<string[]> {
  const file = c.engine.configFile(c.stack);
  const original = readFileSync(file, "utf8");
  const doc = parse(original) as { config: Record<string, { workers: Array<{ name: string; labels?: Record<string, string> }> }> };
  const w = doc.config["kubeadm-ha:hosts"].workers.find((x) => x.name === worker);
  if (!w) throw new LabError(`no worker ${worker} in ${file}`);
  w.labels = { ...w.labels, "example.com/lab": "labelled" };
  writeFileSync(file, stringify(doc));
  try {
    return changes(await c.engine.must(["preview", "--json", ...c.stackArgs()]));
  } finally {
    writeFileSync(file, original);
  }
}

async function main() {
  const { values } = parseArgs({ options: { mode: { type: "string" }, lose: { type: "string" }, keep: { type: "boolean" } } });
  const modes: LabMode[] = values.mode ? [values.mode as LabMode] : ["vip", "local-proxy"];
  for (const m of modes) if (m !== "vip" && m !== "local-proxy") throw new LabError(`--mode must be vip or local-proxy, not ${m}`);
  const runs: LabRun[] = [];
  for (const mode of modes) {
    const masters = factsOf(mode).masters;
    const lose = values.lose ? values.lose.split(",") : [...masters, "lease-holder"];
    runs.push(await runLab(mode, { lose, keep: values.keep }));
  }
  console.log("\nsummary");
  for (const r of runs) {
    console.log(`  ${r.mode}: hosts ${r.bringUp.hosts.toFixed(0)} s, bundle ${r.bringUp.bundle.toFixed(0)} s, pulumi up ${r.bringUp.up.toFixed(0)} s; second up no changes: ${r.secondUpNoChanges}; label preview: ${r.labelPreview.join("; ")}; destroyed: ${r.destroyed}`);
    for (const l of r.losses) {
      console.log(`    lost ${l.lost} (${l.why}): API ${l.apiAnswers.toFixed(1)} s, DNS ${l.dnsAnswers.toFixed(1)} s, ${Object.entries(l.leases).map(([k, x]) => `${k} ${x.seconds.toFixed(1)} s`).join(", ")}, writes ${l.writesAfter}/5, new pod ${l.newPodRunning.toFixed(1)} s, rejoined ${l.rejoined.toFixed(1)} s`);
    }
  }
  const bad = runs.filter((r) => !r.secondUpNoChanges || r.labelPreview.length !== 1 || (!values.keep && !r.destroyed) || r.losses.some((l) => l.writesAfter === 0));
  if (bad.length) throw new LabError(`not every check held in ${bad.map((r) => r.mode).join(", ")} (see above)`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof LabError ? `lab: ${e.message}` : e);
    process.exit(1);
  });
}
