// The failover lab: one network namespace per host, joined by a bridge in a switch
// namespace, each host with its own /etc/hosts; lab/controlplane.ts builds a real
// control plane in it from what the program renders.
// Everything it makes (namespaces, links, processes, files) is removed by close(),
// also when a scenario fails. It needs root.
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { NETNS_ETC, removeMountPoints } from "./hostfs";
import { hasTools, toolchainDir } from "../toolchain/cache";

/** What the lab runs from the toolchain. */
export const LAB_TOOLS = ["kubeadm", "kubectl", "etcd", "etcdctl", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/** The lab's own address range, inside its namespaces only (the onprem layout's 10.103.97.x, moved). */
export const LAB_NET = "10.199.97";
export const LAB_PREFIX = 24;

export class LabError extends Error {}

/** How the lab's clusters reach their apiservers. */
export type EndpointMode = "vip" | "local-proxy";

/** The modes a lab command runs: the one given with --mode, else both; another is refused. */
export function labModes(mode: string | undefined): EndpointMode[] {
  const modes: EndpointMode[] = mode ? [mode as EndpointMode] : ["vip", "local-proxy"];
  for (const m of modes) if (m !== "vip" && m !== "local-proxy") throw new LabError(`--mode must be vip or local-proxy, not ${m}`);
  return modes;
}

/** A lab command's progress line, with the time of day. */
export const labLog = (s: string) => console.log(`[lab ${new Date().toISOString().slice(11, 19)}] ${s}`);

/** Runs a lab command: a LabError ends it with its one-line message, anything else with its stack; exit 1. */
export function runLabCommand(main: () => Promise<void>): void {
  main().catch((e) => {
    console.error(e instanceof LabError ? `lab: ${e.message}` : e);
    process.exit(1);
  });
}

export interface LabHost {
  name: string;
  ns: string;
  address: string;
  /** The host's own /etc/hosts (`ip netns exec` binds /etc/netns/<ns>/hosts over /etc/hosts). */
  hostsFile: string;
}

export interface Sample {
  t: number;
  ok: boolean;
  /** A failed probe's exit status (a workload probe's: curl's, or 100 for an answer from no pod). */
  rc?: number;
}

/** A command's exit code and output. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a command and resolves with its exit code and output (never rejects on a non-zero exit); killed after `timeoutMs`. */
export function collect(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = opts.timeoutMs ? setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs) : undefined;
    p.on("close", (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.stdin.on("error", () => undefined); // the command may exit before reading its input
    p.stdin.end(opts.input ?? "");
  });
}

const ip = (args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/** A switch: a namespace whose bridge br0 every host's link joins. */
export function makeSwitch(ns: string): void {
  ip(["netns", "add", ns]);
  ip(["-n", ns, "link", "add", "br0", "type", "bridge"]);
  ip(["-n", ns, "link", "set", "br0", "up"]);
}

/** A host's namespace: eth0 at `cidrAddress` (e.g. 10.0.0.5/24) on the switch's bridge (switch side named `peer`, 15 characters at most), loopback up. */
export function plugHost(ns: string, switchNs: string, peer: string, cidrAddress: string): void {
  ip(["netns", "add", ns]);
  ip(["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer, "netns", switchNs]);
  ip(["-n", switchNs, "link", "set", peer, "master", "br0", "up"]);
  ip(["-n", ns, "link", "set", "lo", "up"]);
  ip(["-n", ns, "addr", "add", cidrAddress, "dev", "eth0"]);
  ip(["-n", ns, "link", "set", "eth0", "up"]);
}

/** PIDs of the processes in a network namespace (none when it is gone). */
export function namespacePids(ns: string): string[] {
  return spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout?.split("\n").filter(Boolean) ?? [];
}

/** SIGKILLs every process in a network namespace. */
export function killNamespace(ns: string): void {
  for (const pid of namespacePids(ns)) spawnSync("kill", ["-9", pid]);
}

/** Resolves with the time `check` first held; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return Date.now();
    await sleep(everyMs);
  }
  throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function requireRoot(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new LabError("the failover lab needs root (it creates network namespaces and links): run it as root, e.g. sudo npm run lab");
  }
  for (const tool of ["ip", "keepalived", "haproxy", "curl", "unshare"]) {
    if (spawnSync(tool, ["-V"]).error && spawnSync(tool, ["--version"]).error) throw new LabError(`${tool} is not installed: run ./setup.sh`);
  }
  const missing = LAB_TOOLS.filter((t) => !hasTools([t]));
  if (missing.length)
    throw new LabError(`${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not built: run npm run toolchain (builds them from the Go module proxy into ${toolchainDir()})`);
}

export class Lab {
  readonly id = `kha${process.pid % 10000}`;
  readonly dir = mkdtempSync(join(tmpdir(), "kubeadm-ha-lab-"));
  readonly hosts = new Map<string, LabHost>();
  private readonly procs: Array<{ host: string; role: string; proc: ChildProcess; output: string[] }> = [];
  private readonly switchNs = `${this.id}-sw`;
  private closed = false;

  constructor() {
    requireRoot();
    // Also when the process dies of an error nobody caught.
    process.once("exit", () => this.close());
    chmodSync(this.dir, 0o755);
    makeSwitch(this.switchNs);
  }

  nsRun(ns: string, cmd: string[]): string {
    return execFileSync("ip", ["netns", "exec", ns, ...cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** A host: its namespace, eth0 on the lab bridge at LAB_NET.<octet>, loopback up. */
  addHost(name: string, octet: number): LabHost {
    const ns = `${this.id}-${name}`;
    const address = `${LAB_NET}.${octet}`;
    // Interface names are 15 characters at most: derive the switch-side one from the address.
    const peer = `${this.id.slice(-4)}h${octet}`;
    plugHost(ns, this.switchNs, peer, `${address}/${LAB_PREFIX}`);
    mkdirSync(`${NETNS_ETC}/${ns}`, { recursive: true });
    const hostsFile = `${NETNS_ETC}/${ns}/hosts`;
    writeFileSync(hostsFile, `127.0.0.1 localhost\n::1 localhost ip6-localhost\n${address} ${name}\n`);
    const host = { name, ns, address, hostsFile };
    this.hosts.set(name, host);
    return host;
  }

  /** Starts a process in a host's namespace, in its own process group; resolves once `ready` appears in its output (or at once). */
  async start(host: LabHost, role: string, cmd: string[], ready?: RegExp, timeoutMs = 10_000): Promise<ChildProcess> {
    const proc = spawn("ip", ["netns", "exec", host.ns, ...cmd], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const entry = { host: host.name, role, proc, output: [] as string[] };
    this.procs.push(entry);
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        entry.output.push(
          ...d
            .toString()
            .split("\n")
            .filter(Boolean)
            .map((l) => `${Date.now()} ${l}`),
        );
        if (ready && ready.test(d.toString())) resolve();
      };
      proc.stdout!.on("data", onData);
      proc.stderr!.on("data", onData);
      proc.once("exit", (code) => reject(new LabError(`${role} on ${host.name} exited (${code}) before it was ready:\n${entry.output.join("\n")}`)));
      if (!ready) resolve();
      timer = setTimeout(() => reject(new LabError(`${role} on ${host.name} was not ready after ${timeoutMs} ms:\n${entry.output.join("\n")}`)), timeoutMs);
    });
    // Settled either way: the readiness deadline no longer matters (and must not keep the process alive).
    await seen.finally(() => clearTimeout(timer));
    return proc;
  }

  /** Output lines of a process, each prefixed with the ms timestamp it was read at. */
  output(host: string, role: string): string[] {
    return this.procs.filter((p) => p.host === host && p.role === role).flatMap((p) => p.output);
  }

  /** SIGKILL to a process group (the process and anything it forked). */
  kill(host: string, role: string): number {
    const t = Date.now();
    for (const p of this.procs.filter((x) => x.host === host && x.role === role && x.proc.exitCode === null && x.proc.pid)) {
      try {
        process.kill(-p.proc.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    return t;
  }

  /**
   * SIGTERM to a process group, as the kubelet stops a static pod it replaces: resolves once
   * the process has exited (SIGKILL after `graceMs`, as the kubelet's grace period ends), with
   * the time the signal was sent.
   */
  async terminate(host: string, role: string, graceMs: number): Promise<number> {
    const t = Date.now();
    const running = this.procs.filter((x) => x.host === host && x.role === role && x.proc.exitCode === null && x.proc.signalCode === null && x.proc.pid);
    await Promise.all(
      running.map(
        (p) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => this.kill(host, role), graceMs);
            p.proc.once("exit", () => (clearTimeout(timer), resolve()));
            try {
              process.kill(-p.proc.pid!, "SIGTERM");
            } catch {
              clearTimeout(timer);
              resolve();
            }
          }),
      ),
    );
    return t;
  }

  /**
   * The host is lost: its link goes down first (a dead host says nothing more; killed
   * one by one, keepalived's VRRP child would leave gracefully with a priority-0
   * advert), then every process in its namespace is killed.
   */
  killHost(host: string): number {
    const t = Date.now();
    const ns = this.hosts.get(host)!.ns;
    this.nsRun(ns, ["ip", "link", "set", "eth0", "down"]);
    killNamespace(ns);
    return t;
  }

  /** Which host holds an address on eth0 (first found), or undefined. */
  holderOf(address: string, among: string[]): string | undefined {
    return among.find((h) => {
      try {
        return this.nsRun(this.hosts.get(h)!.ns, ["ip", "-o", "addr", "show", "dev", "eth0"]).includes(` ${address}/`);
      } catch {
        return false;
      }
    });
  }

  /** Resolves with the time `check` first held; polls every `everyMs`. */
  waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 50): Promise<number> {
    return waitUntil(what, check, timeoutMs, everyMs);
  }

  /** Runs a command in a host's namespace and resolves with its exit code and output (never throws on a non-zero exit). */
  exec(host: LabHost, cmd: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    return collect("ip", ["netns", "exec", host.ns, ...cmd], opts);
  }

  file(name: string, content: string, mode = 0o644): string {
    const path = join(this.dir, name);
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    return path;
  }

  /**
   * Runs a sampling program (probe.js, apiclient.js) in a host's namespace until `stop()`:
   * `started` resolves once it has its first sample; `stop` sends SIGTERM and resolves
   * with the JSON it prints.
   */
  sampler<T>(host: LabHost, argv: string[]): { started: Promise<void>; stop: () => Promise<T>; okSince: (t: number) => boolean } {
    const p = spawn("ip", ["netns", "exec", host.ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    const ended = new Promise<T>((resolve, reject) =>
      p.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new LabError(`${argv.join(" ")} failed (${code}): ${err}`)))),
    );
    ended.catch(() => undefined);
    const started = new Promise<void>((resolve, reject) => {
      p.stderr.on("data", (d) => {
        err += d;
        if (err.includes("sampling")) resolve();
      });
      ended.then(() => resolve(), reject);
    });
    // "ok <ms>" lines: the sampler saw a success at that time.
    const okSince = (t: number) => [...err.matchAll(/^ok (\d+)$/gm)].some((m) => Number(m[1]) >= t);
    return { started, stop: () => (p.kill("SIGTERM"), ended), okSince };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.procs) {
      try {
        if (p.proc.pid) process.kill(-p.proc.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    for (const h of this.hosts.values()) killNamespace(h.ns);
    // Synchronous (close also runs on process exit): poll until every killed process is gone,
    // so no mount namespace of theirs still holds a host path when the mount points go.
    const until = Date.now() + 10_000;
    while ([...this.hosts.values()].some((h) => namespacePids(h.ns).length) && Date.now() < until) spawnSync("sleep", ["0.05"]);
    for (const h of this.hosts.values()) {
      spawnSync("ip", ["netns", "del", h.ns]);
      rmSync(`${NETNS_ETC}/${h.ns}`, { recursive: true, force: true });
    }
    spawnSync("ip", ["netns", "del", this.switchNs]);
    rmSync(this.dir, { recursive: true, force: true });
    removeMountPoints();
  }
}

/**
 * Longest stretch without a successful request, starting at or after `from` (ms): between
 * consecutive successes, and from the last success to the last sample when none came after.
 */
export function longestGap(samples: Sample[], from: number): number {
  let lastOk = samples.filter((s) => s.ok && s.t < from).pop()?.t ?? from;
  let gap = 0;
  const after = samples.filter((x) => x.t >= from);
  for (const s of after) {
    if (s.ok) {
      gap = Math.max(gap, s.t - lastOk);
      lastOk = s.t;
    }
  }
  const last = after.at(-1);
  return last && !last.ok ? Math.max(gap, last.t - lastOk) : gap;
}
