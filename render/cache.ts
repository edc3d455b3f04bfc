// Renders of the shipped stacks kept between runs and shared between processes: the
// tests, the kubeadm checks and render:diff need the same renders again and again, and a
// render is a Node process running the whole program (seconds each). An entry is keyed by
// everything a render reads: the program's sources (index.ts, components/, render/), the
// stack files, Pulumi.yaml, tsconfig.json and the lockfile; a change to any makes a new
// key. A render from another stack folder (a test's variant of a stack) is keyed by that
// folder's files too, unless its stack file names a local file or folder (packages.path,
// restore.file: files the key does not cover); renders with last outputs are never kept.
//
// Each entry holds `out/` (the render's folder, as the CLI writes it) and `render.json`
// (the whole result). An entry is made in a folder of its own and renamed into place, so a
// reader never sees half of one; a lock file keeps two processes from making the same one.
import { spawn } from "child_process";
import { createHash } from "crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { parse } from "yaml";
import { cacheDir } from "../toolchain/cache";
import type { RenderResult } from "./render";
import { filesUnder } from "./files";
import { renderInChildProcess } from "./child";

/** Overrides the cache folder; `off` renders every time. */
export const RENDER_CACHE_ENV = "KUBEADM_HA_RENDER_CACHE";
/** Entries not used for this long are removed when a new one is made. */
const KEEP_UNUSED_MS = 3 * 24 * 3600_000;
/** How long a process waits for another that makes the same entry. */
const WAIT_FOR_OTHER_MS = 10 * 60_000;

/** `$KUBEADM_HA_RENDER_CACHE`, else `~/.cache/kubeadm-ha/renders`; undefined when it is `off`. */
export function renderCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[RENDER_CACHE_ENV] === "off" ? undefined : cacheDir("renders", RENDER_CACHE_ENV, env);
}

/** What a render reads from a source tree, relative to it. */
const INPUTS = { files: ["index.ts", "Pulumi.yaml", "tsconfig.json", "package-lock.json"], dirs: ["components", "render", "stacks"] };

const digests = new Map<string, string>();
/** sha256 over every file a render of `root` reads: paths and contents. */
export function sourcesDigest(root: string): string {
  const r = resolve(root);
  if (!digests.has(r)) {
    const h = createHash("sha256");
    const files = [...INPUTS.files.filter((f) => existsSync(join(r, f))), ...INPUTS.dirs.flatMap((d) => filesUnder(join(r, d)).map((f) => join(d, f)))].sort();
    for (const f of files)
      h.update(`${f}\0`)
        .update(readFileSync(join(r, f)))
        .update("\0");
    digests.set(r, h.digest("hex"));
  }
  return digests.get(r)!;
}

export interface CachedRender {
  /** The render's folder (resources.json, outputs.json, files/, topology.*, order.txt): read it, never write it. */
  dir: string;
  /** The whole result, as renderStack returns it. */
  result(): RenderResult;
}

const inProcess = new Map<string, Promise<CachedRender>>();

/**
 * The render of `root`'s stack `stack` (from `root`/stacks), made in a child process the first
 * time its sources are seen and read from the cache after. Without a cache
 * (KUBEADM_HA_RENDER_CACHE=off), `scratch` holds a fresh render.
 */
export function cachedRender(root: string, stack: string, scratch: () => string): Promise<CachedRender> {
  const base = renderCacheDir();
  const key = base ? `${sourcesDigest(root).slice(0, 32)}-${stack}` : `${resolve(root)}:${stack}`;
  return once(key, () => (base ? fromCache(root, stack, base, key) : renderInto(root, stack, scratch()).then((dir) => entryAt(dir))));
}

/** The render of `key`, made by `make` once per process (made again after a failure). */
function once(key: string, make: () => Promise<CachedRender>): Promise<CachedRender> {
  if (!inProcess.has(key)) {
    const made = make();
    inProcess.set(key, made);
    made.catch(() => inProcess.delete(key));
  }
  return inProcess.get(key)!;
}

/**
 * The folder of a render of `stack` from `configDir`: a tree's own stacks/ from the cache
 * (cachedRender); another stack folder from the cache too, keyed by its files, unless its
 * stack file names a local file (a fresh render into `scratch()`).
 */
export async function renderFolder(root: string, stack: string, configDir: string, scratch: () => string): Promise<string> {
  if (resolve(configDir) === resolve(root, "stacks")) return (await cachedRender(root, stack, scratch)).dir;
  const base = renderCacheDir();
  if (base && !namesLocalFiles(configDir, stack)) {
    const key = `${sourcesDigest(root).slice(0, 32)}-${folderDigest(configDir).slice(0, 16)}-${stack}`;
    return (await once(key, () => fromCache(root, stack, base, key, configDir))).dir;
  }
  const dir = scratch();
  const { code, stderr } = await renderInChildProcess(root, stack, dir, configDir);
  if (code !== 0) throw new Error(`render of ${stack} failed: ${stderr}`);
  return dir;
}

/**
 * Whether a render of `stack` from `configDir` reads a file or folder of this machine that the
 * key does not cover: a bundle's folder (packages.path) or a snapshot to restore
 * (restore.file), in the stack's file or a member's beside it. (backups.path is a folder on
 * the machines, not read by the render.)
 */
export function namesLocalFiles(configDir: string, stack: string): boolean {
  if (!existsSync(join(configDir, `Pulumi.${stack}.yaml`))) return true;
  return readdirSync(configDir)
    .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
    .some((f) => {
      const config = (parse(readFileSync(join(configDir, f), "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
      const has = (key: string, field: string) => {
        const v = config[`kubeadm-ha:${key}`];
        return config[`kubeadm-ha:${key}.${field}`] !== undefined || (v !== null && typeof v === "object" && field in v);
      };
      return has("packages", "path") || has("restore", "file");
    });
}

/** sha256 over the names and contents of the files directly in `dir` (the stack files a render from it may read). */
function folderDigest(dir: string): string {
  const h = createHash("sha256");
  for (const e of readdirSync(dir, { withFileTypes: true })
    .filter((x) => x.isFile())
    .sort((a, b) => (a.name < b.name ? -1 : 1)))
    h.update(`${e.name}\0`)
      .update(readFileSync(join(dir, e.name)))
      .update("\0");
  return h.digest("hex");
}

function entryAt(entry: string): CachedRender {
  let result: RenderResult | undefined;
  const json = join(entry, "render.json");
  return {
    dir: join(entry, "out"),
    result: () => {
      if (!existsSync(json)) throw new Error(`${entry} holds a render's folder only (made by a tree from before the render cache)`);
      return (result ??= JSON.parse(readFileSync(json, "utf8")) as RenderResult);
    },
  };
}

async function fromCache(root: string, stack: string, base: string, key: string, configDir?: string): Promise<CachedRender> {
  mkdirSync(base, { recursive: true });
  const entry = join(base, key);
  const lock = `${entry}.lock`;
  const deadline = Date.now() + WAIT_FOR_OTHER_MS;
  for (;;) {
    if (existsSync(join(entry, "out", "resources.json"))) {
      const now = new Date();
      utimesSync(entry, now, now); // used: kept
      return entryAt(entry);
    }
    if (takeLock(lock)) break;
    if (Date.now() > deadline) throw new Error(`render cache: ${lock} held for ${WAIT_FOR_OTHER_MS / 60_000} min by another process; remove it if no render runs`);
    await new Promise((r) => setTimeout(r, 200)); // another process is making it: its entry, or its lock gone, ends the wait
  }
  try {
    const tmp = `${entry}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await renderInto(root, stack, tmp, configDir);
    rmSync(entry, { recursive: true, force: true });
    renameSync(tmp, entry);
    prune(base);
    return entryAt(entry);
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Takes `lock` (a file holding our pid); a lock whose process is gone is taken over. */
function takeLock(lock: string): boolean {
  try {
    closeSync(openSync(lock, "wx"));
    writeFileSync(lock, String(process.pid));
    return true;
  } catch {
    const pid = Number(readFileSync(lock, { encoding: "utf8", flag: "a+" }).trim());
    if (pid > 0 && !alive(pid)) rmSync(lock, { force: true });
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function prune(base: string): void {
  const now = Date.now();
  for (const e of readdirSync(base)) {
    const p = join(base, e);
    if (!e.endsWith(".lock") && now - statSync(p).mtimeMs > KEEP_UNUSED_MS) rmSync(p, { recursive: true, force: true });
  }
}

/**
 * Renders in a child process (the SDK runs one program per process) into `entry`/out and
 * `entry`/render.json, with `root`'s own code: its render/cache.ts, or, in a tree from before
 * the cache (render:diff's base), its render CLI (no render.json: the folder alone).
 */
function renderInto(root: string, stack: string, entry: string, configDir?: string): Promise<string> {
  const own = join(root, "render", "cache.ts");
  const args = existsSync(own)
    ? [own, root, stack, entry, ...(configDir ? [configDir] : [])]
    : [join(root, "render", "cli.ts"), "--stack", stack, "--out", join(entry, "out"), ...(configDir ? ["--config-dir", configDir] : [])];
  return new Promise((resolveEntry, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => (code === 0 ? resolveEntry(entry) : reject(new Error(`render of ${stack} failed (exit ${code}): ${stderr.trim()}`))));
  });
}

// The child: node --import tsx render/cache.ts <root> <stack> <entry> [<config dir>]
if (require.main === module) {
  const [root, stack, entry, configDir] = process.argv.slice(2);
  // (Required here, not imported above: a reader of the cache never loads the program.)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { renderStack } = require("./render") as typeof import("./render");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { writeRender } = require("./output") as typeof import("./output");
  renderStack(resolve(root), stack, configDir ? resolve(configDir) : undefined)
    .then((result) => {
      mkdirSync(entry, { recursive: true });
      writeRender(join(entry, "out"), result);
      writeFileSync(join(entry, "render.json"), JSON.stringify(result));
    })
    .catch((e) => {
      console.error((e as Error).message ?? e);
      process.exit(1);
    });
}
