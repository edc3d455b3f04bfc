// Median wall time of `npm run render` per stack over N runs (each a fresh process,
// as a user runs it: Node start, TypeScript load, program, mocks, writing files).
import { spawnSync } from "child_process";
import { mkdtempSync, readdirSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

const ROOT = join(__dirname, "..");
const runs = Number(process.env.RUNS ?? 5);
const stacks = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(join(ROOT, "stacks")).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`render time, ${runs} runs per stack, ${require("os").cpus().length} cores`);
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
  console.log(`${stack}: median ${(median(times) / 1000).toFixed(2)} s, min ${(Math.min(...times) / 1000).toFixed(2)} s, max ${(Math.max(...times) / 1000).toFixed(2)} s (runs: ${times.map((t) => (t / 1000).toFixed(2)).join(", ")})`);
}
