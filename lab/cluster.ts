// A real cluster built the way a user builds one on hosts they own: lab hosts
// (lab/hosts.ts) stand in for the machines, an air-gapped bundle made from the toolchain
// is served on the lab bridge, and the real Pulumi CLI runs this program's lab stack
// (`stacks/Pulumi.<stack>.yaml`) with `pulumi up`; kubeadm builds the cluster. The
// checks then ask the cluster itself, from inside its hosts.
import { readFileSync } from "fs";
import { join } from "path";
import { buildBundle } from "../bundle/build";
import { ETCD_POD_LOGS, POD_LOGS } from "../components/plan/control-plane-member";
import { outputTail, PulumiEngine, readEventLog } from "../engine/pulumi";
import { serveBundle, BundleServer } from "./bundle-server";
import { hostSpecsOfStack } from "./hosts-cli";
import { GATEWAY, HostSpec, LabHosts } from "./hosts";
import { EndpointMode, ExecResult, LabError, waitUntil } from "./lab";
import { labCacheDir } from "./rootfs";

const ROOT = join(__dirname, "..");
/** Where the lab stacks' `kubernetes.packages.url` points. */
export const BUNDLE_PORT = 18080;
const ADMIN = ["--kubeconfig", "/etc/kubernetes/admin.conf"];

export type LabMode = EndpointMode;
export const stackOf = (mode: LabMode) => `lab-${mode}`;

/** Timings of one bring-up, seconds. */
export interface BringUp {
  hosts: number;
  bundle: number;
  up: number;
  /** Each resource's seconds in `pulumi up`, by name. */
  steps: Record<string, number>;
}

type EngineEvent = { timestamp: number; resourcePreEvent?: { metadata: { urn: string } }; resOutputsEvent?: { metadata: { urn: string } } };

/**
 * When each resource's step started (its first pre-event) and ended (its first outputs event
 * after that) in a `--event-log`, epoch seconds, by resource name. A replaced resource has
 * more steps (its replacement made, then the old one deleted at the end): the first is the one
 * that did the work.
 */
export function stepSpans(events: EngineEvent[]): Record<string, { start: number; end: number }> {
  const start = new Map<string, number>();
  const out: Record<string, { start: number; end: number }> = {};
  for (const e of events) {
    const pre = e.resourcePreEvent?.metadata.urn;
    if (pre && !start.has(pre)) start.set(pre, e.timestamp);
    const done = e.resOutputsEvent?.metadata.urn;
    const name = done?.split("::").pop();
    if (done && name && start.has(done) && !(name in out)) out[name] = { start: start.get(done)!, end: e.timestamp };
  }
  return out;
}

/** Seconds from each resource's pre-event to its outputs event in a `--event-log`, by resource name. */
export function stepDurations(events: EngineEvent[]): Record<string, number> {
  return Object.fromEntries(Object.entries(stepSpans(events)).map(([name, { start, end }]) => [name, end - start]));
}

/** Bring-up phases from step durations: the slowest host's prepare, init, each join, the slowest worker. */
export function phasesOf(steps: Record<string, number>, masters: string[], workers: string[]): Array<[string, number]> {
  const max = (names: string[]) => Math.max(0, ...names.map((n) => steps[n] ?? 0));
  return [
    ["copy bundle (slowest host)", max([...masters, ...workers].map((h) => `${h}-bundle`))],
    ["prepare (slowest host)", max([...masters, ...workers].map((h) => `${h}-prepare`))],
    [`init ${masters[0]}`, steps[`${masters[0]}-init`] ?? 0],
    ...masters.slice(1).map((m): [string, number] => [`join ${m}`, steps[`${m}-join`] ?? 0]),
    ["validate", Object.entries(steps).find(([step]) => step.endsWith("-control-plane-validate"))?.[1] ?? 0],
    ["workers join (slowest)", max(workers.map((w) => `${w}-join`))],
  ];
}

export class LabCluster {
  /** Bundles of other releases served beside the stack's (an upgrade's). */
  private readonly servers: BundleServer[] = [];

  private constructor(
    readonly mode: LabMode,
    readonly hosts: LabHosts,
    readonly engine: PulumiEngine,
    private readonly server: BundleServer,
    private readonly log: (s: string) => void,
  ) {}

  /**
   * A bundle of another Kubernetes release (an upgrade's), built from the toolchain and
   * served on the next free lab port: its folder and its URL.
   */
  async bundleOf(version: string): Promise<{ dir: string; url: string; seconds: number }> {
    const t0 = Date.now();
    const bundle = await buildBundle({
      out: join(labCacheDir(), `bundle-v${version}`),
      kubernetesVersion: version,
      withLabImages: true,
      root: ROOT,
      log: (l) => this.log(`bundle ${version}: ${l}`),
    });
    const server = await serveBundle(bundle.dir, GATEWAY, BUNDLE_PORT + 1 + this.servers.length);
    this.servers.push(server);
    this.log(`bundle ${bundle.dir} (${(bundle.bytes / 2 ** 20).toFixed(0)} MiB) served at ${server.url}`);
    return { dir: bundle.dir, url: server.url, seconds: (Date.now() - t0) / 1000 };
  }

  get stack() {
    return stackOf(this.mode);
  }

  /** Hosts, bundle server and engine, ready for `up`; everything is removed again by `close`. */
  /**
   * `bundleFrom`: the hosts fetch the bundle from the lab's URL (the stack's setting), or get
   * the folder copied over SSH. `spares`: more hosts, made with the stack's, that it does not list (yet).
   */
  static async open(
    mode: LabMode,
    log: (s: string) => void,
    bundleFrom: "url" | "folder" = "url",
    spares: HostSpec[] = [],
  ): Promise<{ cluster: LabCluster; timings: Omit<BringUp, "up" | "steps"> }> {
    const t0 = Date.now();
    if (LabHosts.exists()) throw new LabError("lab hosts exist already: remove them with npm run lab:hosts -- down (a lab run makes its own)");
    const hosts = await LabHosts.up([...hostSpecsOfStack(stackOf(mode)), ...spares], log);
    const t1 = Date.now();
    let server: BundleServer | undefined;
    let engine: PulumiEngine | undefined;
    try {
      const bundle = await buildBundle({ out: join(labCacheDir(), "bundle"), withLabImages: true, root: ROOT, log: (l) => log(`bundle: ${l}`) });
      server = await serveBundle(bundle.dir, GATEWAY, BUNDLE_PORT);
      log(`bundle ${bundle.dir} (${(bundle.bytes / 2 ** 20).toFixed(0)} MiB) served at ${server.url}`);
      const t2 = Date.now();
      engine = await PulumiEngine.start({ root: ROOT, log: (l) => log(l) });
      await engine.initStack(stackOf(mode));
      const at = ["--stack", stackOf(mode), "--config-file", engine.configFile(stackOf(mode))];
      await engine.must(["config", "set", "--secret", "kubeadm-ha:sshPrivateKey", ...at], { input: readFileSync(hosts.sshKey, "utf8") });
      if (bundleFrom === "folder") {
        // The other bundle source: the folder on this machine, copied to every host over SSH.
        await engine.must(["config", "rm", "--path", "kubeadm-ha:kubernetes.packages.url", ...at]);
        await engine.must(["config", "set", "--path", "kubeadm-ha:kubernetes.packages.path", bundle.dir, ...at]);
      }
      log(`${stackOf(mode)}: the hosts install from the bundle ${bundleFrom === "folder" ? `folder ${bundle.dir}, copied over SSH` : `at ${server.url}`}`);
      return { cluster: new LabCluster(mode, hosts, engine, server, log), timings: { hosts: (t1 - t0) / 1000, bundle: (t2 - t1) / 1000 } };
    } catch (e) {
      engine?.dispose();
      await server?.close();
      LabHosts.down(log);
      throw e;
    }
  }

  /** The arguments that point a CLI command at this stack and its config copy. */
  stackArgs(): string[] {
    return this.engine.stackArgs(this.stack);
  }

  /** `pulumi up --yes`; resolves with its duration and each resource's, from the engine's event log. */
  async up(): Promise<{ seconds: number; steps: Record<string, number> }> {
    const t0 = Date.now();
    const r = await this.upLogged([]);
    if (r.code !== 0) throw new LabError(`pulumi up failed (exit ${r.code}):\n${await this.failureOf(r.output, 80)}`);
    return { seconds: (Date.now() - t0) / 1000, steps: stepDurations(r.events) };
  }

  /**
   * What each running host's kubelet ran and said last, for a failed up: taken before the
   * hosts are removed, so a failure that does not come back can still be read.
   */
  async hostReports(): Promise<HostReport[]> {
    const out: HostReport[] = [];
    for (const h of this.hosts.hosts) {
      const run = async (cmd: string) => (await this.exec(h.name, ["sh", "-c", cmd])).stdout.trim();
      const report = {
        host: h.name,
        containers: await run(CONTAINERS),
        etcd: await run(`f="$(ls -t ${ETCD_POD_LOGS} 2>/dev/null | head -1)"; [ -z "$f" ] || tail -n 15 "$f" | cut -c1-400`),
        kubelet: await run("journalctl -u kubelet --no-pager -n 15 -o cat 2>/dev/null | cut -c1-400"),
      };
      if (report.containers || report.kubelet) out.push(report);
    }
    return out;
  }

  /**
   * Each master's running apiserver process, as `<pid>:<start time>` ("" when none runs): a
   * different one later is a restart, whichever way it came (the kubelet restarting the
   * container, or the static pod made again from its manifest, which starts its log over).
   */
  async apiserverProcesses(masters: string[]): Promise<ApiserverProcesses> {
    const running = await Promise.all(masters.map(async (m) => [m, (await this.exec(m, ["sh", "-c", APISERVER_PROCESS])).stdout.trim()] as const));
    return { at: new Date(), process: Object.fromEntries(running) };
  }

  /**
   * The apiservers that are not the process they were at `before`, and why, as the kubelet
   * told it: the host's journal since then (the kubelet, containerd, the kubeadm-ha services,
   * haproxy) about kube-apiserver, kubeadm-ha or a probe. Empty: none restarted.
   */
  async apiserverRestarts(before: ApiserverProcesses): Promise<string[]> {
    const now = await this.apiserverProcesses(Object.keys(before.process));
    const since = before.at.toISOString().replace("T", " ").slice(0, 19);
    return Promise.all(
      Object.entries(now.process)
        .filter(([m, p]) => p !== before.process[m])
        .map(async ([m, p]) => {
          const journal = (
            await this.exec(m, [
              "sh",
              "-c",
              `journalctl --no-pager -o short-iso --since '${since} UTC' 2>/dev/null | grep -Ei 'kube-apiserver|kubeadm-ha|probe' | grep -Ev 'reconciler_common|status_manager|event.go' | tail -n 20 | cut -c1-300`,
            ])
          ).stdout.trim();
          return `${m}'s apiserver is not the process it was (${before.process[m] || "none"} -> ${p || "none"}); its journal said:\n${journal || "(nothing about kube-apiserver)"}`;
        }),
    );
  }

  async diagnose(): Promise<string> {
    return (await this.hostReports())
      .flatMap((r) => [
        `--- ${r.host}: containers (pod/container: times started, last written)\n${r.containers || "(none)"}`,
        ...(r.etcd ? [`--- ${r.host}: etcd's last lines\n${r.etcd}`] : []),
        `--- ${r.host}: kubelet's last lines\n${r.kubelet || "(none)"}`,
      ])
      .join("\n");
  }

  /** What a failed `pulumi up` said last, and what each host ran and said: for a scenario's report. */
  async failureOf(output: string, lines: number): Promise<string> {
    return `${outputTail(output, lines)}\n${await this.diagnose()}`;
  }

  /** `pulumi up --yes --skip-preview` with more arguments, and the engine's events (from its `--event-log`). */
  async upLogged(args: string[]): Promise<{ code: number; output: string; events: EngineEvent[] }> {
    const events = join(this.engine.dir, `events-${Date.now()}.jsonl`);
    // The CLI writes --event-log only with its debug commands enabled.
    const r = await this.engine.run(["up", "--yes", "--skip-preview", "--event-log", events, ...args, ...this.stackArgs()], {
      timeoutMs: 45 * 60_000,
      env: { PULUMI_DEBUG_COMMANDS: "true" },
    });
    return { code: r.code, output: r.stdout + r.stderr, events: readEventLog(events) as EngineEvent[] };
  }

  /** Runs a command on a host. */
  exec(host: string, argv: string[], input = ""): Promise<ExecResult> {
    return this.hosts.exec(host, argv, input);
  }

  /** kubectl with the admin kubeconfig on a master. */
  async kubectl(master: string, args: string[], input = ""): Promise<string> {
    const r = await this.exec(master, ["kubectl", ...ADMIN, ...args], input);
    if (r.code !== 0) throw new LabError(`kubectl ${args.join(" ")} on ${master} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    await waitUntil(what, check, timeoutMs, 500);
  }

  /** Resolves with `f()` once it stops throwing; on timeout, fails with its last error. */
  async eventually<T>(what: string, f: () => Promise<T>, timeoutMs: number): Promise<T> {
    let last: unknown;
    let value: T | undefined;
    try {
      await waitUntil(
        what,
        async () => {
          try {
            value = await f();
            return true;
          } catch (e) {
            last = e;
            return false;
          }
        },
        timeoutMs,
        1000,
      );
    } catch (e) {
      throw new LabError(`${(e as Error).message}; last: ${(last as Error)?.message ?? last}`);
    }
    return value as T;
  }

  async close(): Promise<void> {
    this.engine.dispose();
    await this.server.close();
    for (const s of this.servers) await s.close();
    LabHosts.down(this.log);
  }
}

/** Each master's apiserver process at a moment: `<pid>:<start time in clock ticks since boot>`. */
export interface ApiserverProcesses {
  at: Date;
  process: Record<string, string>;
}
const APISERVER_PROCESS = `for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = kube-apiserver ] && echo "\${p#/proc/}:$(cut -d' ' -f22 "$p/stat")"; done; true`;

/** One host's part of a failed up's report. */
export interface HostReport {
  host: string;
  containers: string;
  etcd: string;
  kubelet: string;
}

/**
 * Each container the kubelet started on a host, from the logs it keeps under /var/log/pods
 * (one file per start; hosts have containerd's ctr, not crictl): what ran, and how often.
 */
const CONTAINERS = `cd ${POD_LOGS} 2>/dev/null || exit 0
for d in */*/; do
  [ -d "$d" ] || continue
  echo "\${d%/}: $(ls "$d" | grep -c '\\.log$') start(s), last written $(date -r "$d$(ls -t "$d" | head -1)" +%T)"
done`;
