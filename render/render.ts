// Offline render: runs the program on the mock runtime from a stack file and
// returns every resource and every file that reaches a machine, secrets
// replaced by "[secret]". The output is a public contract (README "Render output").
import { existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, posix } from "path";
import { parse } from "yaml";
import { isSecret, plain, SIG_ASSET, SIG_KEY, SIG_RESOURCE, SIG_SECRET, UNKNOWN_VALUE } from "./wire";
import { RENDER_PLATFORMS } from "./platforms";
import { inParallel } from "./parallel";
import { renderInChildProcess } from "./child";
import { cachedRender, renderCacheDir } from "./cache";
import { installMocks, MOCK_ORGANIZATION, PROJECT, Registration, ResourceOptionsSeen } from "./mocks";
import { decodeBundle } from "../components/plan/bundle";
import { filesOfBootConfig } from "../components/plan/cloud-init";
import { clusterDotOfConfig, federationDot, FederationView } from "./topology";
import { orderText } from "./order";
import { ConfigError, fromRawConfig } from "../components/config/validate";
import { MemberKind, memberKindProblems, validateFederationConfig } from "../components/config/federation";

export const SECRET = "[secret]";
export const UNKNOWN = "[unknown]";

export interface RenderedResource {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  dependencies: string[];
  inputs: unknown;
  /** Resource options set on it (deleteBeforeReplace, ignoreChanges, ...); {} when none. */
  options: ResourceOptionsSeen;
  /** Components only: the outputs they registered, secrets as "[secret]" (absent when none). */
  outputs?: unknown;
  /**
   * SSH steps only: where the step connects (its connection input is secret as a whole,
   * for its key): host and user, and the bastion it goes through, if any.
   */
  sshTarget?: SshTarget;
}

export interface SshTarget {
  host: string;
  user: string;
  via?: string;
}

export interface RenderedFile {
  /** `<machine>/<path>` relative to files/. */
  path: string;
  content: string;
  mode: string;
}

export interface RenderResult {
  stack: string;
  resources: RenderedResource[];
  files: RenderedFile[];
  outputs: Record<string, unknown>;
  summary: string;
  /** The stack's picture as Graphviz DOT (the CLI writes it and its SVG). */
  topology: string;
  /** order.txt: the waves `pulumi up` works through the resources in. */
  order: string;
}

export class RenderError extends Error {}

export interface StackFile {
  config: Record<string, string>;
  secretKeys: string[];
}

/** Reads `stacks/Pulumi.<stack>.yaml` into Pulumi's config map (`ns:key` -> string). */
export function readStackFile(configDir: string, stack: string): StackFile {
  const path = join(configDir, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new RenderError(`no stack file ${path}: create it, or pick one of stacks/Pulumi.<name>.yaml`);
  }
  let doc: { config?: Record<string, unknown> } | null;
  try {
    doc = parse(text);
  } catch (e) {
    // The yaml library's message names the line and column and shows the code frame.
    throw new RenderError(
      `${path} is not valid YAML: ${(e as Error).message}\nFix: correct the line shown (YAML indents with spaces, never tabs; a value with ': ', '#' or a leading '{', '[', '*' or '&' needs quotes), then check it with \`npm run render -- --stack ${stack}\``,
    );
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(doc?.config ?? {})) {
    const key = k.includes(":") ? k : `${PROJECT}:${k}`;
    if (v && typeof v === "object" && !Array.isArray(v) && "secure" in v) {
      // Encrypted in the stack file: cannot be read offline. The value stands in for it and stays secret.
      config[key] = `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET} ${key} is encrypted in the stack file\n-----END OPENSSH PRIVATE KEY-----\n`;
      secretKeys.push(key);
    } else config[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return { config, secretKeys };
}

/** Replaces secrets, assets, resource references and unknowns in serialized inputs. */
function clean(v: unknown, secrets: Set<string>, inSecret = false): unknown {
  if (v === UNKNOWN_VALUE) return UNKNOWN;
  if (Array.isArray(v)) return v.map((x) => clean(x, secrets, inSecret));
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === SIG_SECRET) {
      collectStrings(o.value, secrets);
      return SECRET;
    }
    if (o[SIG_KEY] === SIG_ASSET) return { asset: o.text ?? o.path ?? o.uri };
    if (o[SIG_KEY] === SIG_RESOURCE) return { resource: o.urn };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, k === "connection" ? cleanConnection(x, secrets) : clean(x, secrets, inSecret)]));
  }
  return v;
}

/** A command's connection is secret as a whole (provider schema); only its keys are secret values. */
function cleanConnection(v: unknown, secrets: Set<string>): unknown {
  const inner = isSecret(v) ? (v as { value: unknown }).value : v;
  const keys: unknown[] = [];
  const walk = (x: unknown) => {
    if (x && typeof x === "object")
      for (const [k, y] of Object.entries(x))
        if (k === "privateKey" || k === "password") keys.push(y);
        else walk(y);
  };
  walk(inner);
  collectStrings(keys, secrets);
  return SECRET;
}

function sshTargetOf(connection: unknown): SshTarget {
  const c = plain(connection) as { host?: unknown; user?: unknown; proxy?: { host?: unknown } };
  const text = (v: unknown) => (isSecret(v) ? SECRET : typeof v === "string" ? v : "(known after create)");
  const proxy = plain(c.proxy) as { host?: unknown } | undefined;
  return { host: text(plain(c.host)), user: text(c.user ?? "root"), ...(proxy ? { via: text(plain(proxy.host)) } : {}) };
}

function collectStrings(v: unknown, out: Set<string>) {
  if (typeof v === "string") {
    if (v.length >= 12) out.add(v);
    // Multi-line secrets (PEM, bundles): every substantial line is secret too.
    for (const line of v.split("\n")) if (line.length >= 24 && !/^-----(BEGIN|END) /.test(line)) out.add(line);
  } else if (Array.isArray(v)) v.forEach((x) => collectStrings(x, out));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => collectStrings(x, out));
}

/** Problems that make a render fail: duplicate URNs, stringified Outputs, bad cloud names. */
export function checkRegistrations(regs: Registration[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of regs) {
    if (seen.has(r.urn)) problems.push(`duplicate URN ${r.urn}: two resources of type ${r.type} are named ${JSON.stringify(r.name)}; derive child names from their parent's name`);
    seen.add(r.urn);
    const walk = (v: unknown, path: string) => {
      if (typeof v === "string" && v.includes("Calling [toString] on an [Output<T>] is not supported")) {
        problems.push(`${r.urn}: input ${path} contains a stringified Output; use pulumi.interpolate or .apply() instead of a template string`);
      } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v && typeof v === "object") Object.entries(v).forEach(([k, x]) => walk(x, path ? `${path}.${k}` : k));
    };
    walk(r.rawInputs, "");
    for (const p of RENDER_PLATFORMS) problems.push(...p.nameProblems(r));
  }
  return problems;
}

/** Files that reach machines: boot configs (and their write_files), command scripts and bundles. */
export function machineFiles(regs: Registration[]): RenderedFile[] {
  const byUrn = new Map(regs.map((r) => [r.urn, r]));
  const files: RenderedFile[] = [];
  const add = (machine: string, path: string, content: string, mode = "0644") => files.push({ path: posix.join(machine, path.replace(/^\/+/, "")), content, mode });
  const addFilesOf = (machine: string, text: unknown, secret: boolean, list: (t: string) => { path: string; mode: string; content: string }[]) => {
    if (typeof text !== "string") return;
    for (const f of list(text)) add(machine, f.path, secret ? SECRET : f.content, f.mode);
  };
  for (const r of regs) {
    for (const boot of RENDER_PLATFORMS.map((p) => p.bootConfig(r))) {
      if (!boot) continue;
      add(boot.machine, "cloud-init.yaml", boot.secret ? SECRET : String(boot.text));
      addFilesOf(boot.machine, boot.text, boot.secret, filesOfBootConfig);
    }
    if (r.type === "command:remote:Command") {
      const parent = r.parent ? byUrn.get(r.parent) : undefined;
      const machine = parent?.type === "kubeadm-ha:bootstrap:MachineSteps" ? parent.name : "unknown-machine";
      const step = r.name.startsWith(machine + "-") ? r.name.slice(machine.length + 1) : r.name;
      for (const phase of ["create", "update", "delete"] as const) {
        const script = r.rawInputs[phase];
        if (script !== undefined) add(machine, `commands/${step}${phase === "create" ? "" : "." + phase}.sh`, isSecret(script) ? SECRET : String(script), "0755");
      }
      const stdin = r.rawInputs.stdin;
      if (stdin !== undefined && stdin !== UNKNOWN_VALUE) addFilesOf(machine, plain(stdin), isSecret(stdin), decodeBundle);
    }
  }
  return files;
}

function summarize(stack: string, regs: Registration[], outputs: Record<string, unknown>): string {
  const byType = new Map<string, number>();
  for (const r of regs) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  const lines = [`stack ${stack}: ${regs.length} resources`];
  for (const [t, n] of [...byType.entries()].sort()) lines.push(`  ${String(n).padStart(3)}  ${t}`);
  // Machines by zone, from the stack outputs: the same on every platform.
  const zones = new Map<string, string[]>();
  const at = (zone: string, what: string) => zones.set(zone, [...(zones.get(zone) ?? []), what]);
  for (const m of (outputs.masters as Array<{ name: string; zone: string; address: string }> | undefined) ?? []) at(m.zone, `${m.name} (${m.address})`);
  for (const p of (outputs.pools as Array<{ zones: Array<{ zone: string; group: string; nodes: number; min: number; max: number }> }> | undefined) ?? []) {
    for (const z of p.zones) at(z.zone, `${z.group} (${z.nodes} nodes, ${z.min}..${z.max})`);
  }
  if (zones.size) {
    lines.push("machines by zone:");
    for (const [z, ms] of [...zones.entries()].sort()) lines.push(`  ${z}: ${ms.join(", ")}`);
  }
  const members = outputs.members as Array<{ stack: string; cloud: string; region: string }> | undefined;
  if (members) lines.push("members:", ...members.map((m) => `  ${m.stack}: ${m.cloud} ${m.region}`));
  const dns = outputs.dnsNames as Array<{ name: string; level: string; members: string[] }> | undefined;
  if (dns) lines.push("DNS names:", ...dns.map((d) => `  ${d.level.padEnd(6)} ${d.name} -> ${d.members.join(", ")}`));
  return lines.join("\n");
}

async function resolveOutputs(mod: Record<string, unknown>, secrets: Set<string>): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(mod)) {
    if (v === undefined) continue;
    const o = pulumi.output(v);
    const [value, secret] = await Promise.all([new Promise((r) => o.apply(r)), pulumi.isSecret(o)]);
    if (secret) collectStrings(value, secrets);
    out[k] = secret ? SECRET : value;
  }
  return out;
}

/** Where a known secret value shows up in plain text: `[where, text]` pairs in, problems out. */
export function findLeaks(secrets: Set<string>, texts: Array<[string, string]>): string[] {
  const leaks = new Set<string>();
  for (const [where, text] of texts) for (const s of secrets) if (text.includes(s)) leaks.add(`${where} contains a secret value (${s.slice(0, 4)}...)`);
  return [...leaks];
}

/**
 * Runs the program once for `stack` on the mock runtime. Run it once per process:
 * the SDK keeps one runtime per process.
 */
/**
 * A federation's members, rendered on the fly (each in its own process, as many at
 * once as there are cores): their outputs answer the federation's StackReferences.
 */
async function renderMembers(root: string, stack: string, configDir: string, config: Record<string, string>): Promise<Record<string, Record<string, unknown>>> {
  // A bad federation config is reported as the program would, with any member stack
  // that does not exist, before any member is rendered.
  let members: Array<{ stack?: unknown }>;
  let invalid: string | undefined;
  try {
    members = validateFederationConfig(fromRawConfig(config), stack).members;
  } catch (e) {
    invalid = (e as Error).message;
    members = rawList(config[`${PROJECT}:members`]);
  }
  const stacks = [...new Set(members.map((m) => m?.stack).filter((s): s is string => typeof s === "string" && s.length > 0))];
  const fileOf = (s: string) => join(configDir, `Pulumi.${s.split("/").pop()}.yaml`);
  const unknown = stacks
    .filter((s) => !existsSync(fileOf(s)))
    .map((s) => `${PROJECT}:members: unknown member stack ${JSON.stringify(s)}: there is no ${fileOf(s)}. Fix: name a cluster stack of stacks/, or add its stack file`);
  if (invalid || unknown.length) throw new RenderError([...(invalid ? [invalid] : []), ...unknown].join("\n"));
  // Members that cannot be members (another federation, hosts you own), from their stack files, before any is rendered.
  const kinds = memberKindProblems(stacks, (s): MemberKind => {
    const c = readStackFile(configDir, s.split("/").pop()!).config;
    if (c[`${PROJECT}:layout`] === "federation") return { layout: "federation" };
    return { layout: "cluster", platform: c[`${PROJECT}:platform`] ?? "gcp" };
  });
  if (kinds.length) throw new RenderError(new ConfigError(kinds).message);
  const outputs: Record<string, Record<string, unknown>> = {};
  await inParallel(stacks, async (s) => {
    const local = s.split("/").pop()!;
    if (renderCacheDir() && isShipped(root, local, fileOf(s))) {
      // The same stack file as the tree's own: its render is the cached one (render/cache.ts).
      const render = await cachedRender(root, local, () => mkdtempSync(join(tmpdir(), `member-${local}-`))).catch((e: Error) => {
        throw new RenderError(`member stack ${s} did not render:\n${e.message}`);
      });
      outputs[s] = JSON.parse(readFileSync(join(render.dir, "outputs.json"), "utf8"));
      return;
    }
    const out = mkdtempSync(join(tmpdir(), `member-${local}-`));
    const res = await renderInChildProcess(root, local, out, configDir);
    if (res.code !== 0) throw new RenderError(`member stack ${s} did not render:\n${res.stderr.trim()}`);
    outputs[s] = JSON.parse(readFileSync(join(out, "outputs.json"), "utf8"));
    rmSync(out, { recursive: true, force: true });
  });
  return outputs;
}

/** Whether `file` is, byte for byte, `root`'s own stack file of `stack` (so its render is the tree's own). */
function isShipped(root: string, stack: string, file: string): boolean {
  const own = join(root, "stacks", `Pulumi.${stack}.yaml`);
  return existsSync(own) && readFileSync(own).equals(readFileSync(file));
}

/** A config value that should be a list, as written (for messages about a config that failed validation). */
function rawList(json: string | undefined): Array<{ stack?: unknown }> {
  try {
    const v = JSON.parse(json ?? "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** Renders a stack; `lastOutputs`: its outputs of a last `pulumi up`, as the program reads them back (none: never up). */
export async function renderStack(root: string, stack: string, configDir = join(root, "stacks"), lastOutputs?: Record<string, unknown>): Promise<RenderResult> {
  const { config, secretKeys } = readStackFile(configDir, stack);
  const stackOutputs = config[`${PROJECT}:layout`] === "federation" ? await renderMembers(root, stack, configDir, config) : {};
  if (lastOutputs) stackOutputs[`${MOCK_ORGANIZATION}/${PROJECT}/${stack}`] = lastOutputs;
  const regs = installMocks(stack, config, secretKeys, stackOutputs);
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(join(root, "index"));
    // `export = async () => outputs`, as Pulumi runs it; or plain top-level exports.
    mod = typeof program === "function" ? ((await program()) ?? {}) : program;
  } catch (e) {
    const err = e as Error;
    // Reads (a federation's StackReferences to its members) create nothing; anything else registered before a config error is a defect.
    const made = regs.filter((r) => r.type !== "pulumi:pulumi:StackReference");
    if (made.length) throw new RenderError(`${err.message}\n(${made.length} resources were registered before the error)`);
    throw new RenderError(err.message);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();
  const secrets = new Set<string>();
  const outputs = await resolveOutputs(mod, secrets);
  const problems = checkRegistrations(regs);
  if (problems.length) throw new RenderError(`render of ${stack} failed:\n` + problems.map((p) => `  - ${p}`).join("\n"));
  const resources: RenderedResource[] = regs.map((r) => ({
    urn: r.urn,
    type: r.type,
    name: r.name,
    parent: r.parent,
    dependencies: r.dependencies,
    inputs: clean(r.rawInputs, secrets),
    options: r.options,
    ...(r.rawOutputs ? { outputs: clean(r.rawOutputs, secrets) } : {}),
    ...(r.rawInputs.connection !== undefined ? { sshTarget: sshTargetOf(r.rawInputs.connection) } : {}),
  }));
  const files = machineFiles(regs);
  // The picture, from the same pure plan the program built (a federation: from its outputs).
  const topology = config[`${PROJECT}:layout`] === "federation" ? federationDot(stack, outputs as unknown as FederationView) : clusterDotOfConfig(stack, config);
  const order = orderText(stack, resources);
  // Last line of defence: no secret value may appear in anything the render writes.
  const leaks = findLeaks(secrets, [
    ["resources.json", JSON.stringify(resources)],
    ["outputs.json", JSON.stringify(outputs)],
    ["topology.dot", topology],
    ["order.txt", order],
    ...files.map((f): [string, string] => [`files/${f.path}`, f.content]),
  ]);
  if (leaks.length) throw new RenderError(`render of ${stack} would leak secrets:\n` + leaks.map((l) => `  - ${l}`).join("\n"));
  return { stack, resources, files, outputs, summary: summarize(stack, regs, outputs), topology, order };
}
