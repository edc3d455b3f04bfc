// npm run render:diff -- --base <git ref> [--stack <name>] [--format text|markdown] [--out <file>]
// Renders every stack (or one) at <ref> and in the working tree, offline, and prints
// the difference: resources added/removed/changed with the changed input paths, and
// machine files as unified diffs. "no changes" when there are none. Exit 1 when a
// render fails (on either side), 2 on bad usage.
import { execFileSync } from "child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { parseArgs } from "util";
import { diffRenders, formatDiffs, StackDiff } from "./diff";
import { inParallel } from "./parallel";
import { cachedRender } from "./cache";

const ROOT = resolve(__dirname, "..");

function usage(msg: string): never {
  console.error(`render:diff: ${msg}\nusage: npm run render:diff -- --base <git ref> [--stack <name>] [--format text|markdown] [--out <file>]`);
  process.exit(2);
}

class RenderFailed extends Error {}

const stacksIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []) : []);

/** The folder of `src`'s render of `stack`: from the render cache (render/cache.ts), or made in `scratch`. */
async function renderSide(src: string, stack: string, scratch: string): Promise<string> {
  try {
    return (await cachedRender(src, stack, () => scratch)).dir;
  } catch (e) {
    throw new RenderFailed(`${stack} did not render:\n${(e as Error).message}`);
  }
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: { base: { type: "string" }, stack: { type: "string" }, out: { type: "string" }, format: { type: "string", default: "text" } },
      strict: true,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const { base, stack: only, out: outFile } = values;
  const format = values.format;
  if (format !== "text" && format !== "markdown") usage(`--format must be text or markdown, got ${JSON.stringify(format)}`);
  if (!base) usage("--base is required (a git ref: main, origin/main, HEAD~1, a commit)");
  let commit: string;
  try {
    commit = execFileSync("git", ["rev-parse", "--verify", "--quiet", `${base}^{commit}`], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    usage(`--base ${JSON.stringify(base)} is not a commit of this repository (fetch it first, e.g. git fetch origin main)`);
  }

  const tmp = mkdtempSync(join(tmpdir(), "render-diff-"));
  const baseSrc = join(tmp, "base-src");
  try {
    execFileSync("git", ["worktree", "add", "--detach", "--quiet", baseSrc, commit], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    // The base renders with this checkout's installed packages (a change to package-lock is rendered with the new ones).
    if (!existsSync(join(baseSrc, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(baseSrc, "node_modules"), "dir");
    if (!existsSync(join(baseSrc, "render/cli.ts"))) throw new RenderFailed(`${base} (${commit.slice(0, 12)}) has no offline renderer (render/cli.ts)`);
    const headStacks = stacksIn(join(ROOT, "stacks"));
    const baseStacks = stacksIn(join(baseSrc, "stacks"));
    const stacks = only ? [only] : [...new Set([...baseStacks, ...headStacks])].sort();
    if (only && !headStacks.includes(only) && !baseStacks.includes(only)) usage(`no stack ${JSON.stringify(only)} in stacks/ at ${base} or in the working tree`);
    const jobs = stacks.flatMap((s) => [
      ...(baseStacks.includes(s) ? [{ side: "base", src: baseSrc, stack: s }] : []),
      ...(headStacks.includes(s) ? [{ side: "head", src: ROOT, stack: s }] : []),
    ]);
    const dirs = new Map<string, string>();
    await inParallel(jobs, (j) =>
      renderSide(j.src, j.stack, join(tmp, j.side, j.stack)).then(
        (dir) => void dirs.set(`${j.side}/${j.stack}`, dir),
        (e: Error) => Promise.reject(new RenderFailed(`${j.side === "base" ? `base ${base}` : "working tree"}: ${e.message}`)),
      ),
    );
    const diffs: StackDiff[] = stacks.map((s) => diffRenders(s, dirs.get(`base/${s}`), dirs.get(`head/${s}`)));
    const text = formatDiffs(diffs, format, `Offline render: ${base} (${commit.slice(0, 12)}) -> working tree`);
    if (outFile) writeFileSync(outFile, text);
    process.stdout.write(text);
  } finally {
    try {
      execFileSync("git", ["worktree", "remove", "--force", baseSrc], { cwd: ROOT, stdio: "ignore" });
    } catch {
      /* already gone */
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`render:diff: ${e instanceof RenderFailed ? e.message : ((e as Error).stack ?? e)}`);
  process.exit(1);
});
