// Lab hosts: machines on this one that behave like hosts a user owns. Each is a
// systemd-nspawn container booting the cached Debian root filesystem (lab/rootfs.ts)
// under an overlay of its own, with systemd as PID 1, sshd, containerd, its own
// hostname, machine-id and SSH host keys, in its own network namespace with an address
// on a lab bridge. The deploying machine (this one) reaches them over that bridge, as
// `pulumi up` reaches hosts you own over SSH.
//
// One call makes them (`up`), one removes them (`down`): everything is recorded in a
// state file as it is made, and `down` also finds what a crashed run left unrecorded
// (namespaces with the lab's prefix, mounts under its folder), so nothing is left
// behind. Needs root.
import { execFileSync, spawn, spawnSync } from "child_process";
import { randomUUID } from "crypto";
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "fs";
import { connect } from "net";
import { dirname, join } from "path";
import { enterCgroups, labCgroupRoots, makeHostCgroups, removeCgroupTree } from "./cgroups";
import { collect, ExecResult, killNamespace, LabError, makeSwitch, plugHost, waitUntil } from "./lab";
import { ensureRootfs, LAB_SSH_USER } from "./rootfs";

/** The hosts' network, apart from the failover lab's (lab/lab.ts). */
export const HOSTS_NET = "10.199.96";
export const HOSTS_PREFIX = 24;
/** The deploying machine's address on the lab bridge; the hosts' default route. */
export const GATEWAY = `${HOSTS_NET}.1`;
/** Where hosts keep their overlays and containerd data, and the lab its state. */
export const LAB_HOSTS_DIR = process.env.KUBEADM_HA_LAB_HOSTS_DIR || "/var/lib/kubeadm-ha-lab";
/** A folder of this machine every host mounts at LAB_SHARE_MOUNT, as hosts mount a file share (NFS): the lab stacks' backup directory is on it. */
export const LAB_SHARE = join(LAB_HOSTS_DIR, "share");
export const LAB_SHARE_MOUNT = "/mnt/lab-share";
/** Prefix of every namespace and link the lab makes. */
const PREFIX = "khl-";
const SWITCH_NS = `${PREFIX}switch`;
const GW_LINK = `${PREFIX}gw`;

export interface HostSpec {
  name: string;
  address: string;
}

export interface LabHostRecord extends HostSpec {
  ns: string;
  dir: string;
  /** The systemd-nspawn process while the host runs. */
  pid?: number;
  /** The host's own cgroups (lab/cgroups.ts), once booted. */
  cgroups?: string[];
}

interface State {
  rootfs: string;
  sshKey: string;
  hosts: LabHostRecord[];
}

const stateFile = () => join(LAB_HOSTS_DIR, "hosts.json");
const alive = (pid: number | undefined) => pid !== undefined && existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
const run = (argv: string[]) => execFileSync(argv[0], argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const tryRun = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });

function portOpen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port, timeout: 1000 });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("timeout", () => (s.destroy(), resolve(false)));
    s.once("error", () => resolve(false));
  });
}

export function requireHostTools(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new LabError("lab hosts need root (network namespaces, overlay mounts, systemd-nspawn): run as root");
  }
  for (const [tool, pkg] of [
    ["systemd-nspawn", "systemd-container"],
    ["debootstrap", "debootstrap"],
    ["nsenter", "util-linux"],
    ["ssh-keygen", "openssh-client"],
    ["ip", "iproute2"],
  ]) {
    if (spawnSync(tool, ["--version"]).error) throw new LabError(`${tool} is not installed (Debian package ${pkg}): run ./setup.sh`);
  }
}

/**
 * The hosts share this machine's kernel, and with it its per-user inotify limits: every
 * kubelet (cAdvisor), containerd and systemd takes inotify instances, and a kubelet that
 * gets none exits ("inotify_init: too many open files"; seen with seven hosts and the
 * default of 128). Raised, never lowered, to what kind's known issues advise, scaled by
 * the number of hosts.
 */
function raiseInotifyLimits(hosts: number, log: (s: string) => void): void {
  const want: Record<string, number> = { "fs.inotify.max_user_instances": Math.max(512, 128 * hosts), "fs.inotify.max_user_watches": 524288 };
  for (const [key, value] of Object.entries(want)) {
    const file = `/proc/sys/${key.replace(/\./g, "/")}`;
    const now = Number(readFileSync(file, "utf8").trim());
    if (now >= value) continue;
    writeFileSync(file, String(value));
    log(`lab hosts: ${key} raised from ${now} to ${value} (the hosts share this kernel's limit)`);
  }
}

export class LabHosts {
  private constructor(
    private readonly state: State,
    private readonly log: (s: string) => void,
  ) {}

  static exists(): boolean {
    return existsSync(stateFile());
  }

  /** The running lab, from its state file. */
  static load(log: (s: string) => void = () => undefined): LabHosts {
    if (!LabHosts.exists()) throw new LabError(`no lab hosts (no ${stateFile()}): make them with npm run lab:hosts -- up`);
    return new LabHosts(JSON.parse(readFileSync(stateFile(), "utf8")) as State, log);
  }

  /** Makes and boots the hosts; on any failure removes whatever was made, then throws. */
  static async up(specs: HostSpec[], log: (s: string) => void): Promise<LabHosts> {
    requireHostTools();
    if (LabHosts.exists()) throw new LabError(`lab hosts exist already (${stateFile()}): remove them with npm run lab:hosts -- down`);
    const leftovers = strays();
    if (leftovers.length) throw new LabError(`a previous lab left ${leftovers.join(", ")}: remove them with npm run lab:hosts -- down`);
    raiseInotifyLimits(specs.length, log);
    const rootfs = ensureRootfs(log);
    mkdirSync(LAB_HOSTS_DIR, { recursive: true, mode: 0o700 });
    const sshKey = join(LAB_HOSTS_DIR, "id_ed25519");
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kubeadm-ha lab", "-f", sshKey]);
    const lab = new LabHosts({ rootfs, sshKey, hosts: [] }, log);
    lab.save();
    try {
      makeSwitch(SWITCH_NS);
      run(["ip", "link", "add", GW_LINK, "type", "veth", "peer", "name", "gw", "netns", SWITCH_NS]);
      run(["ip", "-n", SWITCH_NS, "link", "set", "gw", "master", "br0", "up"]);
      run(["ip", "addr", "add", `${GATEWAY}/${HOSTS_PREFIX}`, "dev", GW_LINK]);
      run(["ip", "link", "set", GW_LINK, "up"]);
      for (const spec of specs) lab.make(spec);
      const t0 = Date.now();
      await Promise.all(specs.map((s) => lab.boot(s.name)));
      log(`lab hosts: ${specs.length} booted (systemd running, sshd answering) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return lab;
    } catch (e) {
      log(`lab hosts: making them failed; removing what was made`);
      LabHosts.down(log);
      throw e;
    }
  }

  /** Removes every host and everything the lab made; safe to run at any time, also twice. */
  static down(log: (s: string) => void): string[] {
    const removed: string[] = [];
    const state: State | undefined = LabHosts.exists() ? (JSON.parse(readFileSync(stateFile(), "utf8")) as State) : undefined;
    for (const h of state?.hosts ?? []) {
      if (stopHost(h)) removed.push(`host ${h.name}`);
    }
    // Processes in the lab's namespaces (also of hosts the state file never recorded).
    for (const ns of labNamespaces()) killNamespace(ns);
    for (const m of labMounts()) {
      if (tryRun(["umount", m]).status !== 0) tryRun(["umount", "-l", m]);
      removed.push(`mount ${m}`);
    }
    for (const ns of labNamespaces()) {
      tryRun(["ip", "netns", "del", ns]);
      removed.push(`netns ${ns}`);
    }
    if (tryRun(["ip", "link", "show", GW_LINK]).status === 0) tryRun(["ip", "link", "del", GW_LINK]);
    // The hosts' cgroups, once their processes (killed above) have left them.
    for (const root of new Set([...labCgroupRoots(), ...(state?.hosts ?? []).flatMap((h) => (h.cgroups ?? []).map(dirname))])) {
      if (!existsSync(root)) continue;
      let left = removeCgroupTree(root);
      for (const until = Date.now() + 10_000; left.length && Date.now() < until; left = removeCgroupTree(root)) spawnSync("sleep", ["0.2"]);
      removed.push(left.length ? `cgroups ${root} (not all: ${left.join(", ")} still in use)` : `cgroups ${root}`);
    }
    if (existsSync(LAB_HOSTS_DIR)) {
      rmSync(LAB_HOSTS_DIR, { recursive: true, force: true });
      removed.push(LAB_HOSTS_DIR);
    }
    log(`lab hosts: removed ${removed.length ? removed.join(", ") : "nothing (none were there)"}`);
    return removed;
  }

  get hosts(): readonly LabHostRecord[] {
    return this.state.hosts;
  }

  /** The private key the program connects with (its public half is in every host's authorized_keys). */
  get sshKey(): string {
    return this.state.sshKey;
  }

  host(name: string): LabHostRecord {
    const h = this.state.hosts.find((x) => x.name === name);
    if (!h) throw new LabError(`no lab host ${name} (hosts: ${this.state.hosts.map((x) => x.name).join(", ")})`);
    return h;
  }

  private save() {
    writeFileSync(stateFile(), JSON.stringify(this.state, null, 2) + "\n", { mode: 0o600 });
  }

  /** Namespace, link, overlay root and the host's own identity files; recorded before each piece is made. */
  private make(spec: HostSpec) {
    const ns = `${PREFIX}${spec.name}`.slice(0, 60);
    const dir = join(LAB_HOSTS_DIR, spec.name);
    const rec: LabHostRecord = { ...spec, ns, dir };
    this.state.hosts.push(rec);
    this.save();
    const link = `${PREFIX}${spec.address.split(".").pop()}`;
    plugHost(ns, SWITCH_NS, link, `${spec.address}/${HOSTS_PREFIX}`);
    run(["ip", "-n", ns, "route", "add", "default", "via", GATEWAY]);
    this.disk(rec);
  }

  /**
   * The host's machine replaced by a new one at the same address, as when a server is
   * swapped or reinstalled: stopped, a fresh disk from the root filesystem, a new
   * machine-id and SSH host keys, booted.
   */
  async rebuild(name: string): Promise<void> {
    const h = this.host(name);
    if (alive(h.pid)) await this.crash(name);
    const root = join(h.dir, "root");
    if (tryRun(["umount", root]).status !== 0) run(["umount", "-l", root]);
    for (const d of ["upper", "work", "containerd"]) rmSync(join(h.dir, d), { recursive: true, force: true });
    this.disk(h);
    await this.boot(name);
    this.log(`${name}: rebuilt as a new machine at ${h.address}`);
  }

  /** A fresh disk (an overlay over the root filesystem) with the host's own identity files. */
  private disk(spec: LabHostRecord) {
    const dir = spec.dir;
    for (const d of ["upper", "work", "root", "containerd"]) mkdirSync(join(dir, d), { recursive: true });
    run(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${this.state.rootfs},upperdir=${join(dir, "upper")},workdir=${join(dir, "work")}`, join(dir, "root")]);
    const root = join(dir, "root");
    const put = (path: string, content: string, mode = 0o644) => {
      writeFileSync(join(root, path), content);
      chmodSync(join(root, path), mode);
    };
    put("etc/hostname", `${spec.name}\n`);
    put("etc/machine-id", `${randomUUID().replace(/-/g, "")}\n`, 0o444);
    put("etc/hosts", `127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n${spec.address} ${spec.name}\n`);
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `root@${spec.name}`, "-f", join(root, "etc/ssh/ssh_host_ed25519_key")]);
    const home = join(root, "home", LAB_SSH_USER);
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    put(`home/${LAB_SSH_USER}/.ssh/authorized_keys`, readFileSync(`${this.state.sshKey}.pub`, "utf8"), 0o600);
    const ids = run(["chroot", root, "id", "-u", LAB_SSH_USER]).trim();
    run(["chown", "-R", `${ids}:${ids}`, join(home, ".ssh")]);
  }

  /** Boots a host (first time, or again after `crash`); resolves once systemd runs and sshd answers. */
  async boot(name: string): Promise<void> {
    const h = this.host(name);
    if (alive(h.pid)) return;
    const out = openSync(join(h.dir, "console.log"), "a");
    mkdirSync(LAB_SHARE, { recursive: true, mode: 0o700 });
    h.cgroups = makeHostCgroups(name);
    this.save();
    const p = spawn(
      "sh",
      [
        "-c",
        `${enterCgroups(h.cgroups)}exec systemd-nspawn "$@"`,
        "systemd-nspawn",
        "-D",
        join(h.dir, "root"),
        "--boot",
        "--register=no",
        "--keep-unit",
        `--machine=${name}`,
        `--hostname=${name}`,
        `--network-namespace-path=/run/netns/${h.ns}`,
        "--capability=all",
        "--bind=/dev/kmsg",
        `--bind=${join(h.dir, "containerd")}:/var/lib/containerd`,
        `--bind=${LAB_SHARE}:${LAB_SHARE_MOUNT}`,
        "--property=DeviceAllow=char-* rwm",
        "--rlimit=RLIMIT_NOFILE=1048576",
      ],
      // A writable /proc/sys and no seccomp filter: the kubelet and containerd set sysctls and use every syscall.
      { detached: true, stdio: ["ignore", out, out], env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: "1", SYSTEMD_SECCOMP: "0" } },
    );
    p.unref();
    h.pid = p.pid;
    this.save();
    const console_ = () => readFileSync(join(h.dir, "console.log"), "utf8").split("\n").slice(-20).join("\n");
    await waitUntil(
      `${name} to start systemd`,
      () => {
        if (!alive(h.pid)) throw new LabError(`systemd-nspawn for ${name} exited:\n${console_()}`);
        return leaderPid(h.pid) !== undefined;
      },
      30_000,
    );
    await waitUntil(
      `${name} to finish booting (systemctl is-system-running)`,
      async () => /^(running|degraded)/.test((await this.exec(name, ["systemctl", "is-system-running"])).stdout),
      90_000,
      250,
    );
    await waitUntil(`sshd on ${name} (${h.address}:22)`, () => portOpen(h.address, 22), 30_000, 250);
    this.log(`${name}: booted, sshd answering on ${h.address}:22`);
  }

  /** `nsenter` arguments that enter every namespace of the host's systemd, or undefined when it is not running. */
  private enter(name: string): string[] | undefined {
    const leader = leaderPid(this.host(name).pid);
    return leader === undefined ? undefined : ["-t", String(leader), "-a"];
  }

  /** `nsenter` arguments that enter every namespace of a running host. */
  nsenterArgs(name: string): string[] {
    const args = this.enter(name);
    if (!args) throw new LabError(`${name} is not running`);
    return args;
  }

  /** Runs a command inside a host (every namespace of its systemd); never throws on a non-zero exit. */
  exec(name: string, argv: string[], input = ""): Promise<ExecResult> {
    const args = this.enter(name);
    if (!args) return Promise.resolve({ code: -1, stdout: "", stderr: `${name} is not running` });
    return collect("nsenter", [...args, ...argv], { input });
  }

  /**
   * The host is lost at once, as a machine whose power fails: its link goes down, then its
   * systemd and everything under it (containerd, kubelet, every pod) is SIGKILLed.
   * Returns the time it happened. Its disk (overlay, containerd data) stays for `boot`.
   */
  async crash(name: string): Promise<number> {
    const h = this.host(name);
    tryRun(["ip", "-n", h.ns, "link", "set", "eth0", "down"]);
    const t = Date.now();
    const leader = leaderPid(h.pid);
    if (leader !== undefined) tryRun(["kill", "-9", String(leader)]);
    await waitUntil(`systemd-nspawn of ${name} to exit`, () => !alive(h.pid), 30_000, 100);
    h.pid = undefined;
    this.save();
    tryRun(["ip", "-n", h.ns, "link", "set", "eth0", "up"]);
    return t;
  }
}

/** The container's PID 1 (the child of systemd-nspawn `pid`), while it runs. */
function leaderPid(pid: number | undefined): number | undefined {
  if (!alive(pid)) return undefined;
  const child = tryRun(["pgrep", "-P", String(pid)])
    .stdout.split("\n")
    .filter(Boolean)[0];
  return child ? Number(child) : undefined;
}

/** Stops a host's container if it runs (its root is unmounted with the lab's other mounts); true when there was something to stop. */
function stopHost(h: LabHostRecord): boolean {
  if (!alive(h.pid)) return false;
  tryRun(["kill", "-9", String(leaderPid(h.pid) ?? h.pid)]);
  const until = Date.now() + 20_000;
  while (alive(h.pid) && Date.now() < until) spawnSync("sleep", ["0.1"]);
  if (alive(h.pid)) tryRun(["kill", "-9", String(h.pid)]);
  return true;
}

function labNamespaces(): string[] {
  return tryRun(["ip", "netns", "list"])
    .stdout.split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith(PREFIX));
}

/** Mounts under the lab's folder, deepest first. */
function labMounts(): string[] {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && m.startsWith(LAB_HOSTS_DIR + "/"));
  return [...new Set(mounts)].sort((a, b) => b.length - a.length);
}

/** What a crashed run may have left without a state file. */
function strays(): string[] {
  return [
    ...labNamespaces().map((n) => `netns ${n}`),
    ...labMounts().map((m) => `mount ${m}`),
    ...(tryRun(["ip", "link", "show", GW_LINK]).status === 0 ? [`link ${GW_LINK}`] : []),
    ...labCgroupRoots()
      .filter((d) => existsSync(d))
      .map((d) => `cgroups ${d}`),
  ];
}
