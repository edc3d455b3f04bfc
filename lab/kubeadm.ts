// The real kubeadm (built by `npm run toolchain`) on the configs the program renders.
//   renderCluster / renderedKubeadmConfigs: one child-process render per stack, and the
//     kubeadm configs in it (init, control-plane join, worker join) with the rendered
//     script that fills each one's placeholders on the machine;
//   fillKubeadmConfig: runs that script for real (the token from a token file, or from a
//     stand-in metadata server for cloud workers) and returns the config kubeadm gets;
//   writeSharedPki: the shared CA set laid out as the program lays it out (sharedPkiFiles);
//   kubeadm / kubeadmValidate / kubeadmPhases: kubeadm itself, as a lab host when it
//     writes (lab/hostfs.ts: <root>/etc/kubernetes appears as /etc/kubernetes).
// Running scripts and kubeadm as a host needs root (private mount namespaces).
import { spawnSync } from "child_process";
import { X509Certificate } from "crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { cpus, tmpdir } from "os";
import { basename, dirname, join } from "path";
import { parse, parseAllDocuments } from "yaml";
import { renderFolder } from "../render/cache";
import { filesUnder } from "../render/files";
import { SharedPki, sharedPkiFiles } from "../components/plan/pki";
import { NODE_IP_PLACEHOLDER, NODE_NAME_PLACEHOLDER, TOKEN_FILE, TOKEN_PLACEHOLDER } from "../components/plan/kubeadm";
import { CERTIFICATES_CONFIG } from "../components/plan/certificates";
import { ETCD_MEMBER_CONFIG } from "../components/plan/etcd-member";
import { tool } from "../toolchain/cache";
import { asHost } from "./hostfs";
import { makeSharedPki, newBootstrapToken } from "./pki";

export { makeSharedPki, newBootstrapToken } from "./pki";
/** A bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` (lab/pki.ts newBootstrapToken). */
export const randomBootstrapToken = newBootstrapToken;

export const REPO_ROOT = join(__dirname, "..");
const PROJECT = "kubeadm-ha";

// ---------------------------------------------------------------- renders

/** A cluster stack rendered by render/cli.ts in its own process. */
export interface ClusterRender {
  stack: string;
  /** The render's output folder (resources.json, outputs.json, files/). */
  dir: string;
  outputs: Record<string, any>;
  resources: Array<{ type: string; name: string; inputs: any }>;
  /** The stack file's config, `kubeadm-ha:` keys without their namespace. */
  config: Record<string, any>;
  /** Every machine file by `<machine>/<absolute path>`, as RenderResult.files names them. */
  files: Map<string, string>;
}

/** A stack file's config, `kubeadm-ha:` keys without their namespace. */
export function stackConfig(stack: string, configDir = join(REPO_ROOT, "stacks")): Record<string, any> {
  const doc = parse(readFileSync(join(configDir, `Pulumi.${stack}.yaml`), "utf8")) ?? {};
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries((doc.config ?? {}) as Record<string, any>)) out[k.startsWith(`${PROJECT}:`) ? k.slice(PROJECT.length + 1) : k] = v;
  return out;
}

/** Shipped stacks that are one cluster each (every stack file whose layout is not a federation). */
export function clusterStacks(configDir = join(REPO_ROOT, "stacks")): string[] {
  return readdirSync(configDir)
    .flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? [])
    .filter((s) => (stackConfig(s, configDir).layout ?? "cluster") === "cluster")
    .sort();
}

function readTree(dir: string): Map<string, string> {
  return new Map(filesUnder(dir).map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

// Renders are separate Node processes: at most one per core at a time.
let running = 0;
const waiting: Array<() => void> = [];
async function limited<T>(f: () => Promise<T>): Promise<T> {
  if (running >= Math.max(1, cpus().length)) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const renders = new Map<string, Promise<ClusterRender>>();
const renderDirs: string[] = [];
process.once("exit", () => renderDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Renders `stack` once per process (in a child process; several stacks render side by side). */
export function renderCluster(stack: string, configDir = join(REPO_ROOT, "stacks")): Promise<ClusterRender> {
  const key = `${configDir}/${stack}`;
  if (!renders.has(key)) {
    const scratch = () => {
      const d = mkdtempSync(join(tmpdir(), `kubeadm-render-${stack}-`));
      renderDirs.push(d);
      return d;
    };
    // A shipped stack's render comes from the render cache (render/cache.ts); others are made here.
    const made = limited(() => renderFolder(REPO_ROOT, stack, configDir, scratch));
    const p = made.then((dir) => {
      const read = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8"));
      return { stack, dir, outputs: read("outputs.json"), resources: read("resources.json"), config: stackConfig(stack, configDir), files: readTree(join(dir, "files")) };
    });
    p.catch(() => undefined); // reported to whoever awaits it
    renders.set(key, p);
  }
  return renders.get(key)!;
}

// ---------------------------------------------------------------- configs

export type KubeadmRole = "init" | "control-plane-join" | "worker-join";

/** One kubeadm config a machine receives, as rendered (placeholders in). */
export interface RenderedKubeadmConfig {
  stack: string;
  machine: string;
  /** Absolute path on the machine. */
  path: string;
  role: KubeadmRole;
  /** Kinds of its documents, in order. */
  kinds: string[];
  content: string;
  /** The rendered script that fills the placeholders on the machine. */
  filler: { path: string; content: string; how: "render-config" | "boot-script" };
}

/** The documents of a multi-document YAML file, as plain objects. */
export function yamlDocs(text: string): any[] {
  return parseAllDocuments(text).map((d) => d.toJS());
}

const RENDER_CONFIG = "/usr/local/sbin/kubeadm-ha-render-config";

function fillerOf(r: ClusterRender, machine: string, path: string): RenderedKubeadmConfig["filler"] {
  const own = [...r.files].filter(([p]) => p.startsWith(`${machine}/`));
  // A boot script of the machine that reads the config itself (cloud workers: the template).
  const script = own.find(([p, c]) => p.startsWith(`${machine}/usr/local/sbin/`) && `/${p.slice(machine.length + 1)}` !== RENDER_CONFIG && c.includes(`"${path}"`));
  if (script) return { path: `/${script[0].slice(machine.length + 1)}`, content: script[1], how: "boot-script" };
  // Otherwise a command that passes it to kubeadm-ha-render-config.
  const caller = own.find(([, c]) => c.includes(`${RENDER_CONFIG} ${path} `));
  const renderConfig = r.files.get(`${machine}${RENDER_CONFIG}`);
  if (caller && renderConfig) return { path: RENDER_CONFIG, content: renderConfig, how: "render-config" };
  throw new Error(`${r.stack}: nothing rendered for ${machine} fills the placeholders of ${path}`);
}

/** Every kubeadm config in `stack`'s render: master-0's init, the masters' joins, the workers' (or pools') joins. */
export async function renderedKubeadmConfigs(stack: string, configDir?: string): Promise<RenderedKubeadmConfig[]> {
  const r = await renderCluster(stack, configDir);
  const out: RenderedKubeadmConfig[] = [];
  for (const [p, content] of r.files) {
    const m = /^([^/]+)(\/etc\/kubeadm-ha\/[^/]+)$/.exec(p);
    if (!m || !/^apiVersion: kubeadm\.k8s\.io\//m.test(content)) continue;
    const [, machine, path] = m;
    // The renewal's config is kubeadm's too, but no init or join reads it (lifetime.test.ts checks it).
    if (path === CERTIFICATES_CONFIG) continue;
    // An external etcd member's config is kubeadm's too, read by its member script's `kubeadm
    // init phase etcd local`, not by an init or join: test/etcd-cluster.test.ts runs it.
    if (path === ETCD_MEMBER_CONFIG) continue;
    const docs = yamlDocs(content);
    const kinds = docs.map((d) => String(d?.kind));
    const joinDoc = docs.find((d) => d?.kind === "JoinConfiguration");
    const role: KubeadmRole = kinds.includes("InitConfiguration") ? "init" : joinDoc?.controlPlane ? "control-plane-join" : "worker-join";
    out.push({ stack, machine, path, role, kinds, content, filler: fillerOf(r, machine, path) });
  }
  const order: KubeadmRole[] = ["init", "control-plane-join", "worker-join"];
  return out.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role) || a.machine.localeCompare(b.machine));
}

/** Placeholders the program puts in kubeadm configs (the machine replaces them). */
export const PLACEHOLDERS = [TOKEN_PLACEHOLDER, NODE_NAME_PLACEHOLDER, NODE_IP_PLACEHOLDER];

// ---------------------------------------------------------------- filling

/** A VM's identity as its metadata server tells it (cloud workers only). */
export interface NodeIdentity {
  name: string;
  ip: string;
  /** AWS: the region IMDS answers. */
  region?: string;
}

export interface FilledConfig {
  /** The config as kubeadm gets it. */
  path: string;
  /** Boot scripts: what the script asked the metadata stand-in (`<url> <body>`), in order. */
  requests: string[];
}

export class FillError extends Error {}

function writeExecutable(path: string, content: string) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, 0o755);
}

/** Stand-in for the metadata servers a cloud worker asks at boot: GCP metadata, AWS IMDSv2 and SSM GetParameter. */
const CURL_STANDIN = `#!/usr/bin/env bash
# curl stand-in (kubeadm-ha lab): answers the metadata requests of a worker's boot script.
set -euo pipefail
url="" data="" config=""
while [ $# -gt 0 ]; do
  case "$1" in
    -d|--data) data="$2"; shift 2 ;;
    -K|--config) config="$2"; shift 2 ;;
    -H|--header|-X|--request|--aws-sigv4) shift 2 ;;
    http://*|https://*) url="$1"; shift ;;
    *) shift ;;
  esac
done
if [ "$config" = "-" ]; then cat >/dev/null; fi
printf '%s %s\\n' "$url" "$data" >>"$STANDIN_LOG"
gcp=http://metadata.google.internal/computeMetadata/v1/instance
imds=http://169.254.169.254/latest
case "$url" in
  "$gcp/name" | "$imds/meta-data/instance-id") printf '%s' "$STANDIN_NODE_NAME" ;;
  "$gcp/network-interfaces/0/ip" | "$imds/meta-data/local-ipv4") printf '%s' "$STANDIN_NODE_IP" ;;
  "$gcp/attributes/"*) printf '%s' "$STANDIN_TOKEN" ;;
  http://metadata.google.internal/computeMetadata/v1/project/project-id) printf 'lab-project' ;;
  "$gcp/service-accounts/default/token") printf '{"access_token":"lab-access-token","expires_in":3599}' ;;
  https://secretmanager.googleapis.com/v1/projects/lab-project/secrets/*/versions/latest:access) printf '{"payload":{"data":"%s"}}' "$(printf '%s' "$STANDIN_TOKEN" | base64)" ;;
  "$imds/api/token") printf 'imds-session-token' ;;
  "$imds/meta-data/placement/region") printf '%s' "$STANDIN_REGION" ;;
  "$imds/meta-data/iam/security-credentials/") printf 'worker-role' ;;
  "$imds/meta-data/iam/security-credentials/worker-role") printf '{"AccessKeyId":"AKIDLAB","SecretAccessKey":"lab","Token":"lab"}' ;;
  https://ssm.*.amazonaws.com/) printf '{"Parameter":{"Value":"%s"}}' "$STANDIN_TOKEN" ;;
  *) echo "curl: (22) the lab's metadata stand-in has no answer for $url" >&2; exit 22 ;;
esac
`;

/** kubeadm stand-in for boot scripts: keeps the config `join` is given, so the real kubeadm can read it. */
const KUBEADM_STANDIN = `#!/usr/bin/env bash
# kubeadm stand-in (kubeadm-ha lab): keeps the config of \`kubeadm join --config F\`.
set -euo pipefail
case "$1" in
  join) while [ $# -gt 0 ]; do if [ "$1" = "--config" ]; then cp "$2" "$STANDIN_CAPTURE"; exit 0; fi; shift; done; exit 1 ;;
  reset) exit 0 ;;
  *) echo "kubeadm stand-in: unexpected $*" >&2; exit 1 ;;
esac
`;

/**
 * The config as kubeadm gets it on the machine: runs the rendered script that fills it.
 * - render-config (masters, own hosts' workers): `kubeadm-ha-render-config SRC DST` with
 *   `$KUBEADM_HA_TOKEN_FILE` = `tokenFile` (a file as sharedPkiFiles writes it).
 * - boot-script (GCP/AWS pool templates): the pool's join script itself, as a host with
 *   its own /etc/kubernetes, /etc/kubeadm-ha, /run and /usr/local/sbin; curl answers as
 *   the metadata server (`node`, and the token read from `tokenFile`), kubeadm-ha-prepare
 *   does nothing and kubeadm keeps the config it is handed. Needs root.
 * `work` keeps the scripts and stand-ins (a temporary folder, removed, when not given).
 */
export function fillKubeadmConfig(cfg: RenderedKubeadmConfig, opts: { tokenFile: string; dst: string; node?: NodeIdentity; work?: string }): FilledConfig {
  if (opts.work) return fill(cfg, { ...opts, work: opts.work });
  const work = mkdtempSync(join(tmpdir(), "kubeadm-fill-"));
  try {
    return fill(cfg, { ...opts, work });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function fill(cfg: RenderedKubeadmConfig, opts: { tokenFile: string; dst: string; node?: NodeIdentity; work: string }): FilledConfig {
  const work = opts.work;
  mkdirSync(dirname(opts.dst), { recursive: true });
  if (cfg.filler.how === "render-config") {
    const script = join(work, "sbin", basename(cfg.filler.path));
    const src = join(work, "src", basename(cfg.path));
    writeExecutable(script, cfg.filler.content);
    mkdirSync(dirname(src), { recursive: true });
    writeFileSync(src, cfg.content);
    const res = spawnSync(script, [src, opts.dst], { encoding: "utf8", env: { ...process.env, KUBEADM_HA_TOKEN_FILE: opts.tokenFile } });
    if (res.status !== 0) throw new FillError(`${cfg.filler.path} ${cfg.path} failed (${res.status}): ${res.stderr}${res.error ?? ""}`);
    return { path: opts.dst, requests: [] };
  }
  if (!opts.node) throw new FillError(`${cfg.machine}:${cfg.path} is filled at boot from the metadata server: give the node's name and address`);
  const host = join(work, "host");
  const sbin = join(work, "sbin");
  const bin = join(work, "bin");
  mkdirSync(dirname(join(host, cfg.path)), { recursive: true });
  writeFileSync(join(host, cfg.path), cfg.content);
  writeExecutable(join(sbin, basename(cfg.filler.path)), cfg.filler.content);
  writeExecutable(join(sbin, "kubeadm-ha-prepare"), "#!/bin/sh\n# lab: the machine is prepared already\nexit 0\n");
  writeExecutable(join(bin, "curl"), CURL_STANDIN);
  writeExecutable(join(bin, "kubeadm"), KUBEADM_STANDIN);
  // GCP workers install a unit that keeps pods from the metadata server: written here, not on this machine.
  writeExecutable(join(bin, "systemctl"), "#!/bin/sh\n# systemctl stand-in (kubeadm-ha lab): the boot script's units are not started here\nexit 0\n");
  const units = join(work, "systemd");
  mkdirSync(units, { recursive: true });
  const log = join(work, "metadata-requests.log");
  const capture = join(work, "kubeadm-join-config.yaml");
  writeFileSync(log, "");
  const token = readFileSync(opts.tokenFile, "utf8").trim();
  const inner = `set -e; mount -t tmpfs -o mode=0755 lab-run /run; mount --bind '${sbin}' /usr/local/sbin; exec '${cfg.filler.path}'`;
  const argv = asHost(host, ["sh", "-c", inner]);
  const res = spawnSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    timeout: 60_000,
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      STANDIN_LOG: log,
      STANDIN_CAPTURE: capture,
      STANDIN_TOKEN: token,
      KUBEADM_HA_SYSTEMD_DIR: units,
      STANDIN_NODE_NAME: opts.node.name,
      STANDIN_NODE_IP: opts.node.ip,
      STANDIN_REGION: opts.node.region ?? "us-east-1",
    },
  });
  if (res.status !== 0 || !existsSync(capture)) throw new FillError(`${cfg.filler.path} on ${cfg.machine} failed (${res.status}): ${res.stdout}${res.stderr}${res.error ?? ""}`);
  copyFileSync(capture, opts.dst);
  return { path: opts.dst, requests: readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

// ---------------------------------------------------------------- PKI

/**
 * Makes the shared PKI for `clusterName` (lab/pki.ts) and lays it out under `root` exactly
 * where sharedPkiFiles puts it on a master: `<root>/etc/kubernetes/pki/...` and the token
 * file `<root>/etc/kubeadm-ha/secrets/bootstrap-token`.
 */
export function writeSharedPki(root: string, clusterName: string, token?: string): SharedPki {
  const pki = makeSharedPki(clusterName, token);
  for (const f of sharedPkiFiles(pki)) {
    const p = join(root, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content, { mode: parseInt(f.mode, 8) });
    chmodSync(p, parseInt(f.mode, 8));
  }
  return pki;
}

/** Where writeSharedPki put the token file under `root`. */
export const tokenFileUnder = (root: string) => join(root, TOKEN_FILE);

// ---------------------------------------------------------------- kubeadm

export interface Run {
  argv: string[];
  status: number | null;
  stdout: string;
  stderr: string;
}

export class KubeadmError extends Error {
  constructor(readonly run: Run) {
    super(`${run.argv.join(" ")} exited ${run.status}:\n${run.stdout}${run.stderr}`);
  }
}

/** Runs the built kubeadm; as the lab host whose files are under `root` when given (needs root). */
export function kubeadm(args: string[], opts: { root?: string; timeoutMs?: number } = {}): Run {
  const argv = opts.root ? asHost(opts.root, [tool("kubeadm"), ...args]) : [tool("kubeadm"), ...args];
  const res = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: opts.timeoutMs ?? 120_000 });
  return { argv, status: res.status, stdout: res.stdout ?? "", stderr: (res.stderr ?? "") + (res.error ? String(res.error) : "") };
}

/** `kubeadm config validate --config <path>`. */
export function kubeadmValidate(configPath: string): Run {
  return kubeadm(["config", "validate", "--config", configPath]);
}

/** The init phases that turn a node's config into certificates, kubeconfigs and static pod manifests. */
export const CONTROL_PLANE_PHASES: string[][] = [
  ["certs", "all"],
  ["kubeconfig", "all"],
  ["control-plane", "all"],
  ["etcd", "local"],
];

/** `kubeadm init phase <phase> --config <configPath>` for each phase, as the host under `root`; throws KubeadmError at the first failure. */
export function kubeadmPhases(root: string, configPath: string, phases: string[][] = CONTROL_PLANE_PHASES): Run[] {
  return phases.map((phase) => {
    const run = kubeadm(["init", "phase", ...phase, "--config", configPath], { root });
    if (run.status !== 0) throw new KubeadmError(run);
    return run;
  });
}

// ---------------------------------------------------------------- reading what kubeadm wrote

/** A file of the host under `root`, by its absolute path on the host. */
export const hostFile = (root: string, path: string) => readFileSync(join(root, path), "utf8");
export const hostFileExists = (root: string, path: string) => existsSync(join(root, path)) && statSync(join(root, path)).isFile();

export const certificateAt = (root: string, path: string) => new X509Certificate(readFileSync(join(root, path)));

/** DNS names and IP addresses of a certificate's subjectAltName. */
export function subjectAltNames(cert: X509Certificate): { dns: string[]; ip: string[] } {
  const entries = (cert.subjectAltName ?? "").split(/,\s*/).filter(Boolean);
  return {
    dns: entries.filter((e) => e.startsWith("DNS:")).map((e) => e.slice(4)),
    ip: entries.filter((e) => e.startsWith("IP Address:")).map((e) => e.slice(11)),
  };
}

/** The API server URL a kubeconfig points at. */
export function kubeconfigServer(text: string): string {
  const clusters = (parse(text)?.clusters ?? []) as Array<{ cluster: { server: string } }>;
  if (clusters.length !== 1) throw new Error(`expected one cluster in the kubeconfig, found ${clusters.length}`);
  return clusters[0].cluster.server;
}

/** `extraArgs` of one component in a ClusterConfiguration, as `--name=value` flags. */
export function extraArgFlags(cluster: any, component: "apiServer" | "controllerManager" | "scheduler" | "etcd"): string[] {
  const list = (component === "etcd" ? cluster?.etcd?.local?.extraArgs : cluster?.[component]?.extraArgs) ?? [];
  return (list as Array<{ name: string; value: string }>).map((a) => `--${a.name}=${a.value}`);
}
