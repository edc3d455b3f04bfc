// Median wall time of `npm run render` per stack over N runs (each a fresh process,
// as a user runs it: Node start, TypeScript load, program, mocks, writing files).
import { spawnSync } from "child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "fs";
import { cpus, tmpdir } from "os";
import { join } from "path";
import { parseArgs } from "util";
import { median } from "./stats";
import { NEAREST_AWS_REGION } from "../components/plan/federation-plan";

const ROOT = join(__dirname, "..");
const runs = Number(process.env.RUNS ?? 5);
// bench/render [stack...]: the stacks to time (default: every stack file of stacks/).
const { positionals } = parseArgs({ allowPositionals: true, options: {}, strict: true });
const stacks = positionals.length
  ? positionals
  : readdirSync(join(ROOT, "stacks"))
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => !!s);

console.log(`render time, ${runs} runs per stack, ${cpus().length} cores`);
for (const stack of stacks) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), "bench-render-"));
    const t0 = process.hrtime.bigint();
    const res = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "render/cli.ts"), "--stack", stack, "--out", out], { encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.status !== 0) {
      console.error(`render of ${stack} failed:\n${res.stderr}`);
      process.exit(1);
    }
    times.push(ms);
  }
  console.log(
    `${stack}: median ${(median(times) / 1000).toFixed(2)} s, min ${(Math.min(...times) / 1000).toFixed(2)} s, max ${(Math.max(...times) / 1000).toFixed(2)} s (runs: ${times.map((t) => (t / 1000).toFixed(2)).join(", ")})`,
  );
}

/**
 * Synthetic federations of N GCP members (one per region of the latency table):
 * the render includes rendering every member, as `npm run render` does.
 */
function syntheticFederation(n: number): string {
  const regions = Object.keys(NEAREST_AWS_REGION).slice(0, n);
  const dir = mkdtempSync(join(tmpdir(), `bench-fed-${n}-`));
  regions.forEach((region, i) => {
    writeFileSync(
      join(dir, `Pulumi.m${i}.yaml`),
      `config:\n  kubeadm-ha:clusterName: m${i}\n  kubeadm-ha:region: ${region}\n  kubeadm-ha:zones: [${region}-a, ${region}-b, ${region}-c]\n  kubeadm-ha:nodePools: [{name: general}]\n  kubeadm-ha:adminCidrs: [198.51.100.0/24]\n`,
    );
  });
  writeFileSync(
    join(dir, "Pulumi.synthetic.yaml"),
    `config:\n  aws:region: us-east-1\n  kubeadm-ha:layout: federation\n  kubeadm-ha:federationName: bench\n  kubeadm-ha:members: [${regions.map((_, i) => `{stack: m${i}}`).join(", ")}]\n` +
      `  kubeadm-ha:dns: {provider: route53, domain: bench.example.}\n` +
      `  kubeadm-ha:services: [{name: web, image: nginx, ports: [{port: 80, nodePort: 30080}], healthCheckPath: /}]\n`,
  );
  return dir;
}

const syntheticRuns = Number(process.env.SYNTHETIC_RUNS ?? 3);
console.log(`synthetic federations (members rendered on the fly, ${syntheticRuns} runs each):`);
const perSize: Array<[number, number]> = [];
for (const n of [1, 5, 10]) {
  const dir = syntheticFederation(n);
  const times: number[] = [];
  for (let i = 0; i < syntheticRuns; i++) {
    const out = mkdtempSync(join(tmpdir(), "bench-render-"));
    const t0 = process.hrtime.bigint();
    const res = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "render/cli.ts"), "--stack", "synthetic", "--config-dir", dir, "--out", out], { encoding: "utf8" });
    if (res.status !== 0) {
      console.error(`synthetic federation of ${n} failed:\n${res.stderr}`);
      process.exit(1);
    }
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  perSize.push([n, median(times)]);
  console.log(`  ${String(n).padStart(2)} members: median ${(median(times) / 1000).toFixed(2)} s`);
}
const [[n1, t1], , [n10, t10]] = perSize;
console.log(`  growth: ${((t10 - t1) / (n10 - n1) / 1000).toFixed(2)} s per added member (1 -> 10 members: ${(t10 / t1).toFixed(1)}x)`);
