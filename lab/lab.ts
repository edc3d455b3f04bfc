// The failover lab: one network namespace per host, joined by a bridge in a switch
// namespace, running Debian's keepalived and haproxy on the configs the program
// renders, a named stand-in for kube-apiserver's /readyz on each master, and a client.
// Everything it makes (namespaces, links, processes, files) is removed by close(),
// also when a scenario fails. It needs root.
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { VIP_PROXY_PORT } from "../components/plan/onprem-endpoint";
import { renderedVipFiles } from "./rendered";

/** The lab's own address range, inside its namespaces only (the onprem layout's 10.103.97.x, moved). */
export const LAB_NET = "10.199.97";
export const LAB_PREFIX = 24;

export class LabError extends Error {}

export interface LabHost {
  name: string;
  ns: string;
  address: string;
}

export interface Sample {
  t: number;
  ok: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function requireRoot(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new LabError("the failover lab needs root (it creates network namespaces and links): run it as root, e.g. sudo npm run lab");
  }
  for (const tool of ["ip", "keepalived", "haproxy", "openssl", "etcd", "etcdctl"]) {
    if (spawnSync(tool, ["-V"]).error && spawnSync(tool, ["--version"]).error) throw new LabError(`${tool} is not installed: run ./setup.sh`);
  }
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
    chmodSync(this.dir, 0o755);
    this.ip(["netns", "add", this.switchNs]);
    this.nsRun(this.switchNs, ["ip", "link", "add", "br0", "type", "bridge"]);
    this.nsRun(this.switchNs, ["ip", "link", "set", "br0", "up"]);
  }

  private ip(args: string[]) {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
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
    this.ip(["netns", "add", ns]);
    this.ip(["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer, "netns", this.switchNs]);
    this.nsRun(this.switchNs, ["ip", "link", "set", peer, "master", "br0", "up"]);
    this.nsRun(ns, ["ip", "link", "set", "lo", "up"]);
    this.nsRun(ns, ["ip", "addr", "add", `${address}/${LAB_PREFIX}`, "dev", "eth0"]);
    this.nsRun(ns, ["ip", "link", "set", "eth0", "up"]);
    const host = { name, ns, address };
    this.hosts.set(name, host);
    return host;
  }

  /** Starts a process in a host's namespace, in its own process group; resolves once `ready` appears in its output (or at once). */
  async start(host: LabHost, role: string, cmd: string[], ready?: RegExp, timeoutMs = 10_000): Promise<ChildProcess> {
    const proc = spawn("ip", ["netns", "exec", host.ns, ...cmd], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const entry = { host: host.name, role, proc, output: [] as string[] };
    this.procs.push(entry);
    const seen = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        entry.output.push(...d.toString().split("\n").filter(Boolean).map((l) => `${Date.now()} ${l}`));
        if (ready && ready.test(d.toString())) resolve();
      };
      proc.stdout!.on("data", onData);
      proc.stderr!.on("data", onData);
      proc.once("exit", (code) => reject(new LabError(`${role} on ${host.name} exited (${code}) before it was ready:\n${entry.output.join("\n")}`)));
      if (!ready) resolve();
      setTimeout(() => reject(new LabError(`${role} on ${host.name} was not ready after ${timeoutMs} ms:\n${entry.output.join("\n")}`)), timeoutMs);
    });
    await seen;
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
   * The host is lost: its link goes down first (a dead host says nothing more; killed
   * one by one, keepalived's VRRP child would leave gracefully with a priority-0
   * advert), then every process in its namespace is killed.
   */
  killHost(host: string): number {
    const t = Date.now();
    const ns = this.hosts.get(host)!.ns;
    this.nsRun(ns, ["ip", "link", "set", "eth0", "down"]);
    const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const pid of pids) spawnSync("kill", ["-9", pid]);
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

  async waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (check()) return Date.now();
      await sleep(50);
    }
    throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  file(name: string, content: string, mode = 0o644): string {
    const path = join(this.dir, name);
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    return path;
  }

  /** Runs the lab's client against URL for durationMs; resolves with every request's time and outcome. */
  probe(client: LabHost, url: string, durationMs: number, intervalMs = 50, timeoutMs = 400): Promise<Sample[]> {
    return new Promise((resolve, reject) => {
      const p = spawn("ip", ["netns", "exec", client.ns, process.execPath, join(__dirname, "probe.js"), url, String(durationMs), String(intervalMs), String(timeoutMs)], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.on("close", (code) => {
        if (code !== 0) return reject(new LabError(`probe failed (${code})`));
        resolve((JSON.parse(out) as Array<[number, number]>).map(([t, ok]) => ({ t, ok: ok === 1 })));
      });
    });
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
    for (const h of this.hosts.values()) {
      for (const pid of spawnSync("ip", ["netns", "pids", h.ns], { encoding: "utf8" }).stdout?.split("\n").filter(Boolean) ?? []) spawnSync("kill", ["-9", pid]);
      spawnSync("ip", ["netns", "del", h.ns]);
    }
    spawnSync("ip", ["netns", "del", this.switchNs]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Longest stretch without a successful request, starting at or after `from` (ms). */
export function longestGap(samples: Sample[], from: number): number {
  let lastOk = samples.filter((s) => s.ok && s.t < from).pop()?.t ?? from;
  let gap = 0;
  for (const s of samples.filter((x) => x.t >= from)) {
    if (s.ok) {
      gap = Math.max(gap, s.t - lastOk);
      lastOk = s.t;
    }
  }
  return gap;
}

/**
 * The onprem-vip layout in the lab: its three masters, each running haproxy and
 * keepalived on exactly the files the program renders for it, plus an apiserver
 * stand-in; and a client.
 */
export async function vipCluster(lab: Lab) {
  const rendered = await renderedVipFiles(LAB_NET);
  const masters = rendered.masters.map((m) => lab.addHost(m.name, m.octet));
  const client = lab.addHost("client", 100);
  const vip = `${LAB_NET}.${rendered.vipOctet}`;
  const key = join(lab.dir, "tls.key");
  const crt = join(lab.dir, "tls.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-subj", "/CN=apiserver-standin", "-days", "1"], { stdio: "ignore" });
  const check = lab.file("check-apiserver-proxy.sh", rendered.check, 0o755);
  for (const [i, m] of masters.entries()) {
    const files = rendered.masters[i];
    await lab.start(m, "apiserver", [process.execPath, join(__dirname, "apiserver-standin.js"), "6443", crt, key, "200", "ok", "0.0.0.0"], /listening/);
    await lab.start(m, "haproxy", ["haproxy", "-db", "-f", lab.file(`haproxy-${m.name}.cfg`, files.haproxy)], undefined);
    const conf = lab.file(`keepalived-${m.name}.conf`, files.keepalived(check));
    const run = join(lab.dir, m.name);
    await lab.start(m, "keepalived", ["keepalived", "-n", "-l", "-D", "-f", conf, "-p", `${run}.pid`, "-r", `${run}-vrrp.pid`, "-c", `${run}-checkers.pid`], undefined);
  }
  const names = masters.map((m) => m.name);
  await lab.waitFor("a master to take the VIP", () => lab.holderOf(vip, names) !== undefined, 20_000);
  return { masters, client, vip, names, url: `https://${vip}:${VIP_PROXY_PORT}/readyz` };
}
