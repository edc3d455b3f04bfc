// Runs the recipes: asks the module proxy (through the cache's own module cache), writes
// each wrapper module, runs one `go build` per build, and reuses a build whose stamp
// (everything that decides its output) is unchanged. Progress goes to stderr.
import { spawn, execFileSync } from "child_process";
import { createHash } from "crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { goEnv, Manifest, MANIFEST } from "./cache";
import { Build, ModuleSource, PrepareStep, Recipe } from "./recipe";

export class ToolchainError extends Error {}

const elapsed = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
};

export interface Log {
  (line: string): void;
}

/** Runs a command with the toolchain's Go environment; rejects with its output's tail. */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; onLine?: (l: string) => void }): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const lines = (chunk: string, acc: "out" | "err") => {
      if (acc === "out") out += chunk;
      else err += chunk;
      if (opts.onLine) for (const l of chunk.split("\n")) if (l) opts.onLine(l);
    };
    p.stdout.on("data", (d) => lines(d.toString(), "out"));
    p.stderr.on("data", (d) => lines(d.toString(), "err"));
    p.on("error", (e) => reject(new ToolchainError(`${cmd} could not be started: ${e.message}`)));
    p.on("close", (code) => {
      if (code === 0) return resolve(out);
      reject(new ToolchainError(proxyHint(`${cmd} ${args.join(" ")} failed (exit ${code}):\n${(err || out).split("\n").slice(-40).join("\n")}`)));
    });
  });
}

/** Turns "the proxy cannot be reached" into one clear sentence, keeping the detail. */
export function proxyHint(message: string, goproxy = process.env.GOPROXY || "https://proxy.golang.org,direct"): string {
  if (/dial tcp|no such host|connection refused|i\/o timeout|TLS handshake timeout|proxyconnect|network is unreachable/.test(message)) {
    return `the Go module proxy cannot be reached (GOPROXY=${goproxy}): the toolchain builds every program from its published module, so it needs the proxy once; later runs reuse the cache.\n${message}`;
  }
  return message;
}

export class Toolchain {
  readonly env: NodeJS.ProcessEnv;
  private readonly downloaded = new Map<string, Promise<{ Dir: string; GoMod: string; Info: string }>>();

  constructor(
    readonly dir: string,
    private readonly log: Log,
  ) {
    this.env = { ...process.env, ...goEnv(dir) };
    mkdirSync(join(dir, "work"), { recursive: true });
  }

  /** Downloads `module@version` into the cache's module cache (once per process). */
  private download(module: string, version: string) {
    const key = `${module}@${version}`;
    if (!this.downloaded.has(key)) {
      this.downloaded.set(
        key,
        run("go", ["mod", "download", "-json", key], { cwd: join(this.dir, "work"), env: this.env }).then((o) => JSON.parse(o)),
      );
    }
    return this.downloaded.get(key)!;
  }

  readonly source: ModuleSource = {
    goMod: async (m, v) => readFileSync((await this.download(m, v)).GoMod, "utf8"),
    file: async (m, v, path) => readFileSync(join((await this.download(m, v)).Dir, path), "utf8"),
    time: async (m, v) => (JSON.parse(readFileSync((await this.download(m, v)).Info, "utf8")) as { Time: string }).Time,
    commit: async (m, v) => (JSON.parse(readFileSync((await this.download(m, v)).Info, "utf8")) as { Origin?: { Hash?: string } }).Origin?.Hash,
    versions: async (m) => (await run("go", ["list", "-m", "-versions", m], { cwd: join(this.dir, "work"), env: this.env })).trim().split(/\s+/).slice(1),
    pseudoVersion: async (m, commit) =>
      (JSON.parse(await run("go", ["list", "-m", "-json", `${m}@${commit}`], { cwd: join(this.dir, "work"), env: this.env })) as { Version: string }).Version,
  };

  private goVersion = execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).trim();

  /** Everything that decides a build's output; a changed stamp rebuilds. */
  stamp(b: Build): string {
    return createHash("sha256")
      .update(JSON.stringify({ go: this.goVersion, b }))
      .digest("hex");
  }

  /** Builds (or reuses) one build; returns the absolute paths of its outputs by name. */
  async build(b: Build): Promise<Record<string, string>> {
    const home = join(this.dir, b.id);
    const bin = join(home, "bin");
    const outputs = b.kind === "go" ? Object.fromEntries(b.outputs.map((o) => [b.renames?.[o] ?? o, join(bin, b.renames?.[o] ?? o)])) : { [b.output]: join(bin, b.output) };
    const stampFile = join(home, "stamp");
    const stamp = this.stamp(b);
    if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && Object.values(outputs).every((p) => existsSync(p))) {
      this.log(`  ${b.title}: built already (${b.id})`);
      return outputs;
    }
    const t0 = Date.now();
    this.log(`  ${b.title}: building ...`);
    // Built aside and swapped in at the end: a lab or test using the old binaries keeps them until then,
    // and an interrupted build leaves the old one in place.
    const staging = `${home}.partial`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(join(staging, "bin"), { recursive: true });
    if (b.kind === "go") await this.goBuild(b, staging, join(staging, "bin"), t0);
    else await this.cBuild(b, join(staging, "bin"));
    for (const p of Object.values(outputs)) if (!existsSync(p.replace(home, staging))) throw new ToolchainError(`${b.title}: the build left no ${p.split("/").pop()}`);
    writeFileSync(join(staging, "stamp"), stamp);
    rmSync(home, { recursive: true, force: true });
    renameSync(staging, home);
    this.log(`  ${b.title}: built in ${elapsed(Date.now() - t0)}`);
    return outputs;
  }

  private async goBuild(b: Extract<Build, { kind: "go" }>, home: string, bin: string, t0: number) {
    const mod = join(home, "module");
    for (const [path, content] of Object.entries(b.files)) {
      mkdirSync(join(mod, path, ".."), { recursive: true });
      writeFileSync(join(mod, path), content);
    }
    const env = { ...this.env, CGO_ENABLED: b.cgo ? "1" : "0" };
    for (const step of b.prepare ?? []) await this.prepareStep(b, step, home, mod, env, t0);
    // One build of every main package: shared packages compile once.
    let compiled = 0;
    const beat = setInterval(() => this.log(`    ${b.id}: ${compiled} packages compiled, ${elapsed(Date.now() - t0)}`), 30_000);
    try {
      const args = ["build", "-v", "-o", bin + "/", "-ldflags", ["-s", "-w", ...b.ldflags].join(" ")];
      if (b.tags?.length) args.push("-tags", b.tags.join(","));
      await run("go", [...args, ...b.packages], { cwd: mod, env, onLine: () => compiled++ });
    } finally {
      clearInterval(beat);
    }
    for (const [from, to] of Object.entries(b.renames ?? {})) renameSync(join(bin, from), join(bin, to));
  }

  /** Builds one generator from the wrapper module and runs it in the module folder. */
  private async prepareStep(b: Extract<Build, { kind: "go" }>, step: PrepareStep, home: string, mod: string, env: NodeJS.ProcessEnv, t0: number) {
    const tools = join(home, "prepare");
    mkdirSync(tools, { recursive: true });
    this.log(`    ${b.id}: ${step.title}: building ${step.package} ...`);
    let compiled = 0;
    const beat = setInterval(() => this.log(`    ${b.id}: ${step.title}: ${compiled} packages compiled, ${elapsed(Date.now() - t0)}`), 30_000);
    try {
      await run("go", ["build", "-v", "-o", tools + "/", "-ldflags", ["-s", "-w", ...(step.ldflags ?? [])].join(" "), step.package], { cwd: mod, env, onLine: () => compiled++ });
    } finally {
      clearInterval(beat);
    }
    const bin = join(tools, step.package.split("/").pop()!);
    this.log(`    ${b.id}: ${step.title}: running ${[bin.split("/").pop(), ...step.args].join(" ")} (${elapsed(Date.now() - t0)})`);
    try {
      await run(bin, step.args, { cwd: mod, env });
    } catch (e) {
      throw new ToolchainError(`${b.title}: ${step.title} failed: ${(e as Error).message}`);
    }
    const missing = step.produces.filter((f) => !existsSync(join(mod, f)));
    if (missing.length) throw new ToolchainError(`${b.title}: ${step.title} left no ${missing.join(", ")} in ${mod}`);
  }

  private async cBuild(b: Extract<Build, { kind: "c" }>, bin: string) {
    const src = join((await this.download(b.module, b.version)).Dir, b.source);
    await run("cc", [...b.cflags, "-o", join(bin, b.output), src], { cwd: bin, env: this.env });
    chmodSync(join(bin, b.output), 0o755);
  }

  /** Resolves and builds every recipe, in order; records each build in the manifest as soon as it is done. */
  async buildAll(recipes: Recipe[], versions: Record<string, string>): Promise<Manifest> {
    let merged = this.record({}, versions);
    for (const r of recipes) {
      this.log(`${r.name}:`);
      for (const b of await r.resolve(this.source)) {
        const tools: Manifest["tools"] = {};
        for (const [name, path] of Object.entries(await this.build(b))) tools[name + (r.toolSuffix ?? "")] = { path, build: b.id };
        // Recorded at once: a later failure (or a concurrent run) does not lose it.
        merged = this.record(tools, versions);
      }
    }
    return merged;
  }

  /** Merges tools into the manifest on disk (what earlier runs, e.g. with --only, recorded stays). */
  private record(tools: Manifest["tools"], versions: Record<string, string>): Manifest {
    const p = join(this.dir, MANIFEST);
    const old: Manifest | undefined = existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : undefined;
    const merged: Manifest = { dir: this.dir, tools: { ...old?.tools, ...tools }, versions: { ...old?.versions, ...versions } };
    const tmp = `${p}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(merged, null, 2) + "\n");
    renameSync(tmp, p);
    return merged;
  }
}
