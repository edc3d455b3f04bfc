// bench/cluster: RUNS (default 3) lab runs per endpoint mode (lab/cluster-cli.ts): the
// bring-up by phase (hosts, bundle, each `pulumi up` step on the critical path) and,
// for each master lost (master-0, which ran kubeadm init, and the scheduler's Lease
// holder), the seconds until the API answers, DNS answers, each Lease has a new holder,
// a new pod runs, and the host is back as a Ready node and a healthy etcd voter.
// Prints median and worst of each.
import { parseArgs } from "util";
import { LabMode, phasesOf } from "../lab/cluster";
import { factsOf, LabRun, runLab } from "../lab/cluster-cli";
import { labModes } from "../lab/lab";
import { median } from "./stats";

const worst = (xs: number[]) => Math.max(...xs);
const fmt = (xs: number[]) => `${median(xs).toFixed(1)} s / ${worst(xs).toFixed(1)} s`;

async function main() {
  const { values } = parseArgs({ options: { runs: { type: "string", default: process.env.RUNS ?? "3" }, mode: { type: "string" } } });
  const runs = Number(values.runs);
  const modes: LabMode[] = labModes(values.mode);
  for (const mode of modes) {
    const f = factsOf(mode);
    const results: LabRun[] = [];
    for (let i = 0; i < runs; i++) results.push(await runLab(mode, { lose: [f.masters[0], "lease-holder"] }));
    console.log(`\n${mode}: ${runs} runs, median / worst`);
    const phases = results.map((r) => phasesOf(r.bringUp.steps, f.masters, f.workers));
    // The critical path kubeadm itself sets: init, each join one after the other, the slowest worker's join.
    const kubeadmPath = phases.map((p) => p.filter(([n]) => /^(init|join|workers)/.test(n)).reduce((s, [, t]) => s + t, 0));
    const rows: Array<[string, number[]]> = [
      ["lab hosts made and booted", results.map((r) => r.bringUp.hosts)],
      ["bundle (built or reused)", results.map((r) => r.bringUp.bundle)],
      ...phases[0].map(([name], i): [string, number[]] => [`  ${name}`, phases.map((p) => p[i][1])]),
      ["pulumi up, total", results.map((r) => r.bringUp.up)],
      ["init + joins + workers (kubeadm's critical path)", kubeadmPath],
    ];
    for (const [name, xs] of rows) console.log(`  ${name.padEnd(52)} ${fmt(xs)}`);
    console.log(`  ${"pulumi up / kubeadm's critical path".padEnd(52)} ${median(results.map((r, i) => r.bringUp.up / kubeadmPath[i])).toFixed(2)} (median ratio)`);
    for (const which of [0, 1]) {
      const losses = results.map((r) => r.losses[which]).filter(Boolean);
      if (!losses.length) continue;
      console.log(`  lost ${which === 0 ? `${f.masters[0]} (ran kubeadm init)` : "the kube-scheduler Lease holder"} (${losses.map((l) => l.lost).join(", ")}):`);
      console.log(`    ${"API answers through the endpoint".padEnd(50)} ${fmt(losses.map((l) => l.apiAnswers))}`);
      console.log(`    ${"cluster DNS answers every query".padEnd(50)} ${fmt(losses.map((l) => l.dnsAnswers))}`);
      console.log(`    ${"writes acknowledged again".padEnd(50)} ${fmt(losses.map((l) => l.writesAnswer))}`);
      for (const lease of Object.keys(losses[0].leases)) console.log(`    ${`${lease} Lease has a new holder`.padEnd(50)} ${fmt(losses.map((l) => l.leases[lease].seconds))}`);
      console.log(`    ${"a pod created after the loss runs".padEnd(50)} ${fmt(losses.map((l) => l.newPodRunning))}`);
      console.log(`    ${"back: Ready and a healthy etcd voter after boot".padEnd(50)} ${fmt(losses.map((l) => l.rejoined))}`);
      console.log(`    ${"of 5 writes then, acknowledged".padEnd(50)} ${losses.map((l) => `${l.writesAfter}/5`).join(", ")}`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
