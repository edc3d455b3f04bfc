// Where the toolchain lives: one cache folder outside the repository, keyed by what
// was built. Everything that reads a built tool (tests, the lab, the engine checks)
// finds it through the manifest the last `npm run toolchain` wrote.
import { existsSync, readFileSync } from "fs";
import { homedir } from "os";
import { join } from "path";

/** Overrides the cache folder. */
export const TOOLCHAIN_DIR_ENV = "KUBEADM_HA_TOOLCHAIN_DIR";

/** `$KUBEADM_HA_TOOLCHAIN_DIR`, else `$XDG_CACHE_HOME/kubeadm-ha/toolchain`, else `~/.cache/kubeadm-ha/toolchain`. */
export function toolchainDir(env: NodeJS.ProcessEnv = process.env): string {
  return cacheDir("toolchain", TOOLCHAIN_DIR_ENV, env);
}

/** `$<override>`, else `$XDG_CACHE_HOME/kubeadm-ha/<name>`, else `~/.cache/kubeadm-ha/<name>`. */
export function cacheDir(name: string, override: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env[override]) return env[override]!;
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache");
  return join(cache, "kubeadm-ha", name);
}

/** The Go caches live in the same folder, so a warm toolchain is one folder to keep. */
export function goEnv(dir: string): Record<string, string> {
  return {
    GOMODCACHE: join(dir, "go", "mod"),
    GOCACHE: join(dir, "go", "build"),
    GOPATH: join(dir, "go", "path"),
    // The wrappers have no go.sum in advance: let go record what it verifies.
    GOFLAGS: "-mod=mod -buildvcs=false -trimpath",
    GOTOOLCHAIN: "local",
  };
}

export const MANIFEST = "toolchain.json";

/** What a toolchain run leaves: every tool by name, with its absolute path and the build it came from. */
export interface Manifest {
  dir: string;
  tools: Record<string, { path: string; build: string }>;
  /** Versions it was built for (Kubernetes, etcd, Pulumi, plugins). */
  versions: Record<string, string>;
}

export class ToolMissing extends Error {}

export function readManifest(dir = toolchainDir()): Manifest | undefined {
  const p = join(dir, MANIFEST);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as Manifest) : undefined;
}

/** Absolute path of a built tool; throws ToolMissing with the command that builds it. */
export function tool(name: string, dir = toolchainDir()): string {
  const entry = readManifest(dir)?.tools[name];
  if (!entry || !existsSync(entry.path)) throw new ToolMissing(`${name} is not built in ${dir}: run npm run toolchain`);
  return entry.path;
}

/** True when every named tool is built. */
export const hasTools = (names: string[], dir = toolchainDir()) => names.every((n) => existsSync(readManifest(dir)?.tools[n]?.path ?? "/nonexistent"));
