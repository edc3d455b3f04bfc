// Shared fixture: one offline render of a stack per test process (the SDK keeps one runtime per process).
import { createServer } from "net";
import { join } from "path";
import { parse } from "yaml";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { REQUIRED_FILES } from "../bundle/manifest";
import { tmpdir } from "os";
import assert from "node:assert/strict";
import { RenderResult, RenderedResource } from "../render/render";
import { cachedRender, renderFolder } from "../render/cache";
import { ClusterConfig, ConfigError, ConfigProblem, validateClusterConfig } from "../components/config/validate";
import { hasTools, toolchainDir } from "../toolchain/cache";

export const ROOT = join(__dirname, "..");

/** A shipped stack's render (render/cache.ts: made once for these sources, shared by every test process). */
export async function renderOnce(stack = "gcp-three-zone"): Promise<RenderResult> {
  return (await cachedRender(ROOT, stack, () => tempDir(`render-${stack}-`))).result();
}

export const ofType = (r: RenderResult, type: string) => r.resources.filter((x) => x.type === type);
/** The type a provider's resource class registers with (its static `__pulumiType`, kept out of the SDKs' .d.ts). */
export const pulumiTypeOf = (cls: unknown) => (cls as { __pulumiType: string }).__pulumiType;
export const inputs = (x: RenderedResource) => x.inputs as Record<string, any>;
export const named = (r: RenderResult, name: string) => {
  const found = r.resources.find((x) => x.name === name);
  if (!found) throw new Error(`no resource named ${name}`);
  return found;
};
export const file = (r: RenderResult, path: string) => {
  const f = r.files.find((x) => x.path === path);
  if (!f) throw new Error(`no rendered file ${path}`);
  return f.content;
};

/** A boot config (cloud-init.yaml) as cloud-init reads it: its commands and the files it writes. */
export interface BootConfig {
  runcmd?: string[][];
  write_files?: Array<{ path: string; content: string; permissions?: string }>;
}
export const bootConfigOf = (text: string) => parse(text) as BootConfig;
/** The boot config's command that runs `program`, with its arguments (undefined: none runs it). */
export const commandOf = (boot: BootConfig, program: string) => boot.runcmd?.find((c) => c[0] === program);

/** The problems of the ConfigError `f` throws; fails the test when it throws none. */
export function problemsOf(f: () => unknown): ConfigProblem[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail("expected the config to be rejected");
}

/** A bundle folder whose bundle.json holds `version` (file digests are not read by validation). */
export function fakeBundle(version: string): string {
  const dir = tempDir("airgap-bundle-");
  const sha = "0".repeat(64);
  const files = Object.fromEntries([...REQUIRED_FILES, "images/pause.tar"].map((f) => [f, sha]));
  writeFileSync(
    join(dir, "bundle.json"),
    JSON.stringify({
      format: 1,
      kubernetesVersion: version,
      arch: "amd64",
      cniPlugins: "v1.9.1",
      images: [{ ref: "registry.k8s.io/pause:3.10.1", file: "images/pause.tar" }],
      files,
    }),
  );
  return dir;
}

/** A render made by the CLI in its own process (one program per process): its directory and resources. */
export interface ChildRender {
  /** The render's folder: a shipped stack's is the render cache's, shared by every test process: read it, never change or remove it (the cleanup is the helpers'). */
  dir: string;
  resources: RenderedResource[];
  outputs: Record<string, unknown>;
}

const temps: string[] = [];
process.once("exit", () => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A temporary folder, removed when the test process exits (tests leave nothing in /tmp). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

const childRenders = new Map<string, Promise<ChildRender>>();

/**
 * Renders `stack` in a child process, once per test process; a shipped stack's render comes
 * from the render cache (render/cache.ts), made once for these sources.
 */
export function renderInChild(stack: string, configDir = join(ROOT, "stacks")): Promise<ChildRender> {
  const key = `${configDir}/${stack}`;
  if (!childRenders.has(key)) {
    childRenders.set(
      key,
      renderFolder(ROOT, stack, configDir, () => tempDir(`child-render-${stack}-`)).then((dir) => {
        const read = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8"));
        return { dir, resources: read("resources.json"), outputs: read("outputs.json") };
      }),
    );
  }
  return childRenders.get(key)!;
}

/**
 * A stack folder holding copies of the shipped stack files and `name`'s stack file `text`, as
 * if it had been dropped into stacks/: a federation's members resolve as they do there.
 */
export function besideShippedStacks(name: string, text: string | Buffer): string {
  const dir = tempDir(`stacks-${name}-`);
  for (const s of SHIPPED_STACKS) writeFileSync(join(dir, `Pulumi.${s}.yaml`), readFileSync(join(ROOT, "stacks", `Pulumi.${s}.yaml`)));
  writeFileSync(join(dir, `Pulumi.${name}.yaml`), text);
  return dir;
}

/** A variant's render: what it made, or (status 1) what the failed render printed. */
export type VariantRender = { resources: RenderedResource[]; outputs: Record<string, unknown>; status: 0 | 1; stderr: string };

/**
 * Renders `name`, a variant of the shipped stack `of` (its file with `change` applied), in a
 * folder of its own beside copies of the shipped stack files (a federation's members); from
 * the render cache when the same files rendered before (render/cache.ts renderFolder).
 */
export async function renderVariant(of: string, name: string, change: (text: string) => string): Promise<VariantRender> {
  const dir = besideShippedStacks(name, change(readFileSync(join(ROOT, "stacks", `Pulumi.${of}.yaml`), "utf8")));
  try {
    const r = await renderInChild(name, dir);
    return { resources: r.resources, outputs: r.outputs, status: 0, stderr: "" };
  } catch (e) {
    return { resources: [], outputs: {}, status: 1, stderr: (e as Error).message };
  }
}

/** Every shipped stack: stacks/Pulumi.<name>.yaml. */
export const SHIPPED_STACKS = readdirSync(join(ROOT, "stacks"))
  .flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? [])
  .sort();

/**
 * Why a test that runs the toolchain's programs cannot run here (false when it can). On CI
 * (CI=true) a missing program fails the run instead: CI builds the toolchain first, so a
 * silent skip there would hide a broken toolchain.
 */
export function toolchainSkip(names: string[]): string | false {
  const missing = names.filter((n) => !hasTools([n]));
  if (!missing.length) return false;
  const why = `${missing.join(", ")} not built in ${toolchainDir()}: run npm run toolchain`;
  if (process.env.CI === "true") throw new Error(`CI builds the toolchain before the tests, yet ${why}`);
  return why;
}

/** A port on 127.0.0.1 nothing listens on (for a moment). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The validated config of a small cluster on hosts you own (`lab`: three masters
 * lab-master-0..2 at 10.0.0.10..12 in zones z0..z2, local-proxy), with `extra` keys on top:
 * what the tests of the masters' scripts render them for.
 */
export function labHostsConfig(extra: Record<string, unknown> = {}): ClusterConfig {
  return validateClusterConfig(
    {
      platform: "static",
      clusterName: "lab",
      hosts: { masters: [0, 1, 2].map((i) => ({ name: `lab-master-${i}`, address: `10.0.0.1${i}`, zone: `z${i}` })) },
      network: { nodeCidr: "10.0.0.0/24" },
      endpoint: { mode: "local-proxy" },
      ...extra,
    },
    "lab",
  );
}
