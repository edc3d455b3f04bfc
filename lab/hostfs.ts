// A lab host's own files where the real programs look for them. kubeadm, etcd and
// kube-apiserver use fixed paths (/etc/kubernetes, /var/lib/etcd, ...); every lab host
// shares this machine's filesystem, so each command runs in a private mount namespace
// with the host's folders bind-mounted over those paths. Nothing is mounted outside
// that namespace: when the command ends, the mounts are gone. Needs root.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "fs";

/** Paths a lab host keeps to itself, by absolute path → folder under the host's root. */
export const HOST_PATHS = ["/etc/kubernetes", "/var/lib/etcd", "/var/lib/kubelet", "/etc/kubeadm-ha", "/var/log/kubernetes"] as const;

/** Where `ip netns exec` looks for a namespace's own /etc files (the lab writes hosts files there). */
export const NETNS_ETC = "/etc/netns";

/**
 * Mount points must exist on the machine. A lab makes them (and /etc/netns) when missing and
 * `removeMountPoints` removes them again when empty, also ones an earlier lab that was
 * killed left behind; directories that have content are never touched.
 */
function ensureMountPoint(path: string) {
  if (!existsSync(path)) mkdirSync(path, { recursive: true });
}

/** Whether any process on the machine has something mounted on one of the host paths (another lab running). */
export function hostPathsInUse(): boolean {
  const paths = new Set<string>(HOST_PATHS);
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
    } catch {
      continue; // gone
    }
    if (info.split("\n").some((l) => paths.has(l.split(" ")[4]))) return true;
  }
  return false;
}

/**
 * Removes the mount points (and /etc/netns) when empty, unless another lab still uses
 * them: removing a directory that is a mount point in another process's mount namespace
 * detaches that mount there (Linux >= 3.18).
 */
export function removeMountPoints(): void {
  if (hostPathsInUse()) return;
  for (const p of [...HOST_PATHS, NETNS_ETC]) {
    try {
      if (readdirSync(p).length === 0) rmdirSync(p);
    } catch {
      /* not there */
    }
  }
}

/**
 * The argv that runs `argv` as the lab host whose files are under `root` (`<root>/etc/kubernetes`
 * appears as /etc/kubernetes, and so on), inside network namespace `netns` when given.
 * `ip netns exec` also binds /etc/netns/<netns>/hosts over /etc/hosts when that file exists.
 * With `hostname`, the command also gets its own UTS namespace with that hostname.
 */
export function asHost(root: string, argv: string[], netns?: string, hostname?: string): string[] {
  const binds: string[] = [];
  for (const p of HOST_PATHS) {
    ensureMountPoint(p);
    mkdirSync(root + p, { recursive: true });
    binds.push(`mount --bind '${root + p}' '${p}'`);
  }
  // Its own hostname too (a UTS namespace): leader election and etcd name themselves after it.
  const setName = hostname ? `hostname '${hostname}'; ` : "";
  const script = `set -e; ${setName}${binds.join("; ")}; exec "$@"`;
  const inner = ["unshare", "--mount", "--propagation", "private", ...(hostname ? ["--uts"] : []), "--", "sh", "-c", script, "sh", ...argv];
  return netns ? ["ip", "netns", "exec", netns, ...inner] : inner;
}
