// The root filesystem every lab host boots: Debian made with debootstrap, the packages a
// host you own would have before this program touches it (systemd, sshd, containerd,
// haproxy, keepalived, ...), and no Kubernetes: that comes from the air-gapped bundle,
// as on a real host without a route to pkgs.k8s.io. Built once and cached outside the
// repository, keyed by everything that decides its content; hosts boot it read-only
// under an overlay of their own.
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import { cacheDir } from "../toolchain/cache";
import { LabError } from "./lab";

/** Overrides the lab's cache folder (root filesystems). */
export const LAB_CACHE_ENV = "KUBEADM_HA_LAB_CACHE";

export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return cacheDir("lab", LAB_CACHE_ENV, env);
}

/** The user the program connects as (passwordless sudo, key only), as on a fresh cloud image. */
export const LAB_SSH_USER = "labadmin";

export const ROOTFS = {
  suite: "bookworm",
  mirror: process.env.KUBEADM_HA_DEBIAN_MIRROR || "http://deb.debian.org/debian",
  // What the prepare step expects a host to have or get from its own package mirror.
  packages: [
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "sudo",
    "iproute2",
    "iputils-ping",
    "kmod",
    "procps",
    "ca-certificates",
    "curl",
    "jq",
    "bind9-dnsutils",
    "containerd",
    "runc",
    "iptables",
    "conntrack",
    "ethtool",
    "socat",
    "haproxy",
    "keepalived",
  ],
};

/**
 * The lab's own quirk, not the program's: a host here is a systemd-nspawn container on a
 * cgroup v1 machine, and nspawn mounts the v1 controllers read-only; the kubelet must
 * create kubepods.slice in them (kind's entrypoint fixes the same thing in its nodes).
 */
const CGROUPS_RW_UNIT = `[Unit]
Description=Lab host: cgroup v1 controllers writable (systemd-nspawn mounts them read-only)
DefaultDependencies=no
After=local-fs.target
Before=containerd.service kubelet.service
ConditionPathIsReadWrite=!/sys/fs/cgroup/cpuset

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for d in /sys/fs/cgroup /sys/fs/cgroup/*; do mount -o remount,bind,rw "$d" || true; done'

[Install]
WantedBy=sysinit.target
`;

/** Files written into the root filesystem after debootstrap (path → [mode, content]). */
function customisation(): Record<string, [number, string]> {
  return {
    "/etc/systemd/system/lab-cgroups-rw.service": [0o644, CGROUPS_RW_UNIT],
    [`/etc/sudoers.d/${LAB_SSH_USER}`]: [0o440, `${LAB_SSH_USER} ALL=(ALL) NOPASSWD:ALL\n`],
    "/etc/ssh/sshd_config.d/lab.conf": [0o644, "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n"],
    // No package source is reachable from a lab host: say so instead of timing out.
    "/etc/apt/sources.list": [0o644, `# lab host: no package mirror is reachable (air-gapped); was ${"deb " + ROOTFS.mirror + " " + ROOTFS.suite + " main"}\n`],
  };
}

/** Everything that decides the root filesystem's content. */
export function rootfsKey(): string {
  const files = customisation();
  return createHash("sha256")
    .update(JSON.stringify({ v: 1, suite: ROOTFS.suite, packages: ROOTFS.packages, files, user: LAB_SSH_USER }))
    .digest("hex")
    .slice(0, 12);
}

export function rootfsDir(): string {
  return join(labCacheDir(), `rootfs-${ROOTFS.suite}-${rootfsKey()}`);
}

const chroot = (root: string, argv: string[]) =>
  execFileSync("chroot", [root, ...argv], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" } });

/**
 * The cached root filesystem, made when missing: debootstrap into `<dir>.partial`, then
 * customised and renamed, so an interrupted build is never taken for a finished one.
 * (LabHosts.up has checked that debootstrap is installed.)
 */
export function ensureRootfs(log: (s: string) => void): string {
  const dir = rootfsDir();
  if (existsSync(join(dir, "etc/os-release"))) return dir;
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  log(`lab hosts: debootstrap ${ROOTFS.suite} (minbase + ${ROOTFS.packages.length} packages) from ${ROOTFS.mirror} into ${partial} (about a minute)`);
  const t0 = Date.now();
  const r = spawnSync("debootstrap", ["--variant=minbase", `--include=${ROOTFS.packages.join(",")}`, ROOTFS.suite, partial, ROOTFS.mirror], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new LabError(
      `debootstrap failed (exit ${r.status}); is ${ROOTFS.mirror} reachable? Set KUBEADM_HA_DEBIAN_MIRROR to use another mirror.\n${(r.stdout + r.stderr).split("\n").slice(-15).join("\n")}`,
    );
  }
  for (const [path, [mode, content]] of Object.entries(customisation())) {
    const p = join(partial, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
    chmodSync(p, mode);
  }
  mkdirSync(join(partial, "etc/systemd/system/sysinit.target.wants"), { recursive: true });
  symlinkSync("/etc/systemd/system/lab-cgroups-rw.service", join(partial, "etc/systemd/system/sysinit.target.wants/lab-cgroups-rw.service"));
  chroot(partial, ["useradd", "--create-home", "--shell", "/bin/bash", LAB_SSH_USER]);
  // Each host gets its own host keys and machine-id when it is made.
  chroot(partial, ["sh", "-c", "rm -f /etc/ssh/ssh_host_* && : > /etc/machine-id && rm -f /var/lib/dbus/machine-id && apt-get clean"]);
  renameSync(partial, dir);
  log(`lab hosts: root filesystem ready in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${dir}`);
  return dir;
}
