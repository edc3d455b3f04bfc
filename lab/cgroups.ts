// Each lab host in a cgroup of its own, in every cgroup hierarchy.
//
// This machine has cgroup v1 controllers and no systemd as PID 1, so systemd-nspawn
// (--keep-unit, --register=no) leaves a host in its caller's cgroup of every v1
// controller; with its own cgroup namespace, the host then sees that cgroup, shared by
// every host, as its root. Every host's kubelet put its kubepods.slice in the same
// place and every kubelet's cAdvisor watched every host's pods: with seven hosts the
// load average reached 54-79 and a grow to five masters took 654 s. Docker gives each
// kind node a cgroup of its own for the same reason (kind runs its nodes with a private
// cgroup namespace); here each host gets `<caller's cgroup>/kubeadm-ha-lab/<host>` in
// every hierarchy, and systemd-nspawn is started in them. That includes the named
// `name=systemd` hierarchy and the v2 one, where each host's systemd keeps its units:
// shared, every host's systemd made its kubelet.service and its pods' slices in the same
// cgroups as every other host's, and every kubelet took every other host's pods for
// orphans it tried to remove, every two seconds.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "fs";
import { dirname, join } from "path";

/** The folder, in each controller, that holds the hosts' cgroups. */
const LAB_CGROUP = "kubeadm-ha-lab";

/** Where each cgroup hierarchy is mounted (its whole tree), from /proc/self/mountinfo: v1 ones with their options, the v2 one as cgroup2. */
function mounts(): { point: string; type: string; options: string[] }[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => {
      const [before, after = ""] = line.split(" - ");
      const [type, , options = ""] = after.split(" ");
      const fields = before.split(" ");
      return { root: fields[3], point: fields[4], type, options: options.split(",") };
    })
    .filter((m) => m.root === "/" && (m.type === "cgroup" || m.type === "cgroup2"));
}

/**
 * This process's cgroup in every mounted hierarchy (from /proc/self/cgroup): each v1
 * controller, the named `name=systemd` one and the v2 (unified) one. systemd in a host
 * keeps its units in the last two: left shared, every host's systemd would put its
 * kubelet.service and kubepods.slice in the same cgroups as every other host's.
 */
function hostHierarchies(): { hierarchy: string; path: string }[] {
  const all = mounts();
  return readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .map((line) => /^\d+:([^:]*):(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, controllers, path]) => {
      const wanted = controllers.split(",");
      const mount = controllers === "" ? all.find((m) => m.type === "cgroup2") : all.find((m) => m.type === "cgroup" && wanted.every((c) => m.options.includes(c)));
      return mount && { hierarchy: mount.point, path };
    })
    .filter((h): h is { hierarchy: string; path: string } => h !== undefined && existsSync(join(h.hierarchy, "cgroup.procs")));
}

/** The folders (one per hierarchy) that hold the lab's hosts, under this process's own cgroups. */
export function labCgroupRoots(): string[] {
  return hostHierarchies().map(({ hierarchy, path }) => join(hierarchy, path, LAB_CGROUP));
}

/**
 * Makes a host's cgroup in every v1 controller (kept when there already) and returns
 * their folders. A new cpuset cgroup has no CPUs or memory nodes until given its parent's.
 */
export function makeHostCgroups(host: string): string[] {
  return labCgroupRoots().map((root) => {
    const dir = join(root, host);
    for (const d of [root, dir]) {
      if (existsSync(d)) continue;
      mkdirSync(d);
      for (const f of ["cpuset.cpus", "cpuset.mems"]) {
        if (existsSync(join(d, f))) writeFileSync(join(d, f), readFileSync(join(dirname(d), f), "utf8"));
      }
    }
    return dir;
  });
}

/** A shell prefix that moves the shell into these cgroups before what follows it. */
export function enterCgroups(dirs: string[]): string {
  return dirs.map((d) => `echo $$ > '${d}/cgroup.procs' && `).join("");
}

/** Removes cgroup folders, deepest first (a cgroup goes only when it has no processes and no children); returns those it could not remove. */
export function removeCgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const left = readdirSync(dir)
    .filter((e) => statSync(join(dir, e)).isDirectory())
    .flatMap((e) => removeCgroupTree(join(dir, e)));
  try {
    rmdirSync(dir);
  } catch {
    return [...left, dir];
  }
  return left;
}
