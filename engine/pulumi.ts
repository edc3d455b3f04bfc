// The real Pulumi engine on this program, offline: the CLI, language host and resource
// plugins `npm run toolchain` built, a throwaway PULUMI_HOME and a file:// backend in a
// temporary folder, the stack's config copied there (`--config-file`) so nothing in the
// repository is written, and everything removed again by `dispose()`.
import { spawn } from "child_process";
import { randomBytes } from "crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { readManifest, tool, toolchainDir } from "../toolchain/cache";
import { filesUnder } from "../render/files";
import { pluginVersions } from "../toolchain/pulumi";

/** The built tools the engine needs, by manifest name. */
export const ENGINE_TOOLS = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-command", "pulumi-resource-tls", "pulumi-resource-random"] as const;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class EngineError extends Error {}

/** One resource as the engine names it. */
export interface EngineResource {
  urn: string;
  type: string;
  name: string;
}

/** `urn:pulumi:stack::project::a$b$type::name` → type `type`, name `name`. */
export function parseUrn(urn: string): EngineResource {
  const m = /^urn:pulumi:[^:]*::[^:]*::(.*)::(.*)$/.exec(urn);
  if (!m) throw new Error(`not a Pulumi URN: ${urn}`);
  const chain = m[1].split("$");
  return { urn, type: chain[chain.length - 1], name: m[2] };
}

/** The engine's own resources that the program does not declare (the stack, default providers). */
export const isEngineOwn = (type: string) => type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:");

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/**
 * The secret values of a `pulumi stack export --show-secrets` deployment: every string
 * leaf inside a secret, less those that also appear outside any secret (a public
 * certificate inside a secret bundle is not itself secret).
 */
/** What a `pulumi preview --json` would change: `op name` for every step that is not "same", in the preview's order. */
/** The steps of a `preview --json` that change something: neither "same" nor a read (a StackReference is read on every run). */
export function changedSteps(preview: unknown): string[] {
  const steps = (preview as { steps?: Array<{ op: string; urn: string }> }).steps ?? [];
  return steps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => `${s.op} ${s.urn.split("::").pop()}`);
}

/** The events of a `--event-log` file, one JSON object a line; none when the file is not there. */
export function readEventLog<T = unknown>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

export function secretValues(deployment: unknown): string[] {
  const secret = new Set<string>();
  const plain = new Set<string>();
  const walk = (v: unknown, inSecret: boolean) => {
    if (typeof v === "string") (inSecret ? secret : plain).add(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, inSecret);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o[SECRET_SIG] !== undefined && "plaintext" in o) {
        let inner: unknown = o.plaintext;
        try {
          inner = JSON.parse(String(o.plaintext));
        } catch {
          /* a plain string */
        }
        walk(inner, true);
        return;
      }
      for (const x of Object.values(o)) walk(x, inSecret);
    }
  };
  walk(deployment, false);
  return [...secret].filter((s) => !plain.has(s));
}

/** Every file under `dir`, with its path relative to it. */
export function contentsUnder(dir: string): Array<{ path: string; content: string }> {
  return filesUnder(dir).map((path) => ({ path, content: readFileSync(join(dir, path), "latin1") }));
}

export interface EngineOptions {
  /** The project folder (Pulumi.yaml, node_modules). */
  root: string;
  /** Toolchain folder; default toolchainDir(). */
  toolchain?: string;
  /** Versions the plugins are installed as (the lockfile's); default from the manifest. */
  versions?: Record<string, string>;
  /** Progress lines. */
  log?: (line: string) => void;
}

export class PulumiEngine {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly backend: string;
  readonly configDir: string;
  readonly pulumi: string;
  private readonly log: (line: string) => void;
  private readonly stacks = new Set<string>();

  private constructor(
    readonly root: string,
    readonly dir: string,
    toolchain: string,
    log?: (l: string) => void,
  ) {
    this.log = log ?? (() => {});
    this.home = join(dir, "home");
    this.backend = join(dir, "backend");
    this.configDir = join(dir, "config");
    const bin = join(dir, "bin");
    for (const d of [this.home, this.backend, this.configDir, bin]) mkdirSync(d, { recursive: true });
    this.pulumi = tool("pulumi", toolchain);
    // The engine looks the language host up on PATH as pulumi-language-<runtime>.
    symlinkSync(tool("pulumi-language-nodejs", toolchain), join(bin, "pulumi-language-nodejs"));
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith("PULUMI_")) delete env[k];
    this.env = {
      ...env,
      PATH: [bin, dirname(process.execPath), process.env.PATH].filter(Boolean).join(":"),
      PULUMI_HOME: this.home,
      PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString("base64"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      // The SDK compiles the program with ts-node; the repository type-checks with tsc already.
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      NO_COLOR: "1",
    };
  }

  /** A fresh home and file backend, logged in, with the built plugins installed. */
  static async start(opts: EngineOptions): Promise<PulumiEngine> {
    const toolchain = opts.toolchain ?? toolchainDir();
    const dir = mkdtempSync(join(tmpdir(), "kubeadm-ha-engine-"));
    let engine: PulumiEngine | undefined;
    try {
      engine = new PulumiEngine(opts.root, dir, toolchain, opts.log);
      await engine.must(["login", `file://${engine.backend}`]);
      const plugins = pluginVersions(opts.versions ?? readManifest(toolchain)?.versions ?? {});
      for (const [name, version] of Object.entries(plugins)) {
        await engine.must(["plugin", "install", "resource", name, version, "--file", tool(`pulumi-resource-${name}`, toolchain)]);
      }
      return engine;
    } catch (e) {
      if (engine) engine.dispose();
      else rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Runs the CLI in the project folder; never rejects for a non-zero exit. A run that
   * outlives `timeoutMs` (default 10 minutes) is interrupted, then killed.
   */
  run(args: string[], opts: { cwd?: string; input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const p = spawn(this.pulumi, args, { cwd: opts.cwd ?? this.root, env: { ...this.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        p.kill("SIGINT");
        setTimeout(() => p.kill("SIGKILL"), 10_000).unref();
      }, opts.timeoutMs ?? 600_000);
      p.stdout.on("data", (d) => (stdout += d));
      p.stderr.on("data", (d) => (stderr += d));
      p.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.on("close", (code) => {
        clearTimeout(timer);
        this.log(`pulumi ${args.join(" ")}: exit ${code} in ${((Date.now() - t0) / 1000).toFixed(1)}s${timedOut ? " (timed out)" : ""}`);
        resolve({ code: code ?? -1, stdout, stderr: timedOut ? `${stderr}\ntimed out after ${opts.timeoutMs ?? 600_000} ms` : stderr });
      });
      p.stdin.end(opts.input ?? "");
    });
  }

  /** Runs the CLI; rejects with its output when it fails. */
  async must(args: string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new EngineError(`pulumi ${args.join(" ")} failed (exit ${r.code}):\n${outputTail(r.stdout + r.stderr, 60)}`);
    return r.stdout;
  }

  /** Where a stack's config lives for this engine: a copy of stacks/Pulumi.<stack>.yaml. */
  configFile(stack: string): string {
    return join(this.configDir, "stacks", `Pulumi.${stack}.yaml`);
  }

  /**
   * Creates `stack` in the file backend with a passphrase secrets provider. `stack init`
   * writes the encryption salt into the stack's config file, so it runs in a folder that
   * holds a copy of Pulumi.yaml and of the stack's config, never in the repository.
   */
  async initStack(stack: string): Promise<string> {
    if (this.stacks.has(stack)) return this.configFile(stack);
    const projectYaml = join(this.root, "Pulumi.yaml");
    const stackDir = /^stackConfigDir:\s*(\S+)/m.exec(readFileSync(projectYaml, "utf8"))?.[1] ?? ".";
    const source = join(this.root, stackDir, `Pulumi.${stack}.yaml`);
    if (!existsSync(source)) throw new EngineError(`no stack config ${source}`);
    const target = this.configFile(stack);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(projectYaml, join(this.configDir, "Pulumi.yaml"));
    copyFileSync(source, target);
    if (stackDir !== "stacks") throw new EngineError(`Pulumi.yaml's stackConfigDir is ${stackDir}; this helper expects stacks`);
    await this.must(["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], { cwd: this.configDir });
    this.stacks.add(stack);
    return target;
  }

  /** `pulumi preview --json` of the program in the repository; the resources it would have. */
  async preview(stack: string, extra: string[] = []): Promise<{ resources: EngineResource[]; raw: unknown }> {
    const out = await this.must(["preview", ...this.stackArgs(stack), "--json", ...extra]);
    const raw = JSON.parse(out) as { steps?: Array<{ urn: string; op: string }> };
    const resources = (raw.steps ?? []).map((s) => parseUrn(s.urn));
    return { resources, raw };
  }

  /** `pulumi up` of the given URNs only (no dependents). */
  async upTargets(stack: string, urns: string[]): Promise<string> {
    const targets = urns.flatMap((u) => ["--target", u]);
    return this.must(["up", ...this.stackArgs(stack), "--yes", "--skip-preview", ...targets]);
  }

  /** The arguments that point a command at a stack and its config file copy, without prompts. */
  stackArgs(stack: string): string[] {
    return ["--stack", stack, "--config-file", this.configFile(stack), "--non-interactive"];
  }

  /** `pulumi stack export`, plain or with secrets shown. */
  async exportStack(stack: string, showSecrets = false): Promise<{ text: string; json: unknown }> {
    const text = await this.must(["stack", "export", "--stack", stack, ...(showSecrets ? ["--show-secrets"] : [])]);
    return { text, json: JSON.parse(text) };
  }

  /** Every file the backend keeps (state, history, backups). */
  backendFiles() {
    return contentsUnder(this.backend);
  }

  /** Removes the home, the backend and the config copies. */
  dispose() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The last lines of a command's output, runs of lines that differ only in their timestamp (a client's retry warnings) folded into a count. */
export function outputTail(output: string, lines: number): string {
  return collapseRepeats(output.split("\n")).slice(-lines).join("\n");
}

/** Runs of lines that differ only in their timestamp (a client's retry warnings) as the first and a count. */
export function collapseRepeats(lines: string[]): string[] {
  const key = (l: string) => l.replace(/"ts":"[^"]*"/, "").replace(/^[IWE]\d{4} [\d:.]+ /, "");
  const out: string[] = [];
  let run = 0;
  lines.forEach((l, i) => {
    if (i > 0 && key(l) === key(lines[i - 1])) {
      run++;
      return;
    }
    if (run) out.push(`    (${run} more like the line above)`);
    run = 0;
    out.push(l);
  });
  if (run) out.push(`    (${run} more like the line above)`);
  return out;
}
