// Each lab host in a cgroup of its own, in every cgroup v1 controller.
//
// This machine has cgroup v1 controllers and no systemd as PID 1, so systemd-nspawn
// (--keep-unit, --register=no) leaves a host in its caller's cgroup of every v1
// controller; with its own cgroup namespace, the host then sees that cgroup, shared by
// every host, as its root. Every host's kubelet put its kubepods.slice in the same
// place and every kubelet's cAdvisor watched every host's pods: with seven hosts the
// load average reached 54-79 and a grow to five masters took 654 s. Docker gives each
// kind node a cgroup of its own for the same reason (kind runs its nodes with a private
// cgroup namespace); here each host gets `<caller's cgroup>/kubeadm-ha-lab/<host>` in
// every controller, and systemd-nspawn is started in them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "fs";
import { dirname, join } from "path";

const CGROUP_FS = "/sys/fs/cgroup";
/** The folder, in each controller, that holds the hosts' cgroups. */
const LAB_CGROUP = "kubeadm-ha-lab";

/** This process's cgroup in each mounted v1 controller hierarchy (from /proc/self/cgroup): the controller's folder and the path in it. */
function v1Cgroups(): { hierarchy: string; path: string }[] {
  return readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .map((line) => line.split(":"))
    .filter(([, controllers, path]) => controllers && path !== undefined && !controllers.startsWith("name="))
    .map(([, controllers, path]) => ({ hierarchy: join(CGROUP_FS, controllers), path }))
    .filter(({ hierarchy }) => existsSync(join(hierarchy, "cgroup.procs")));
}

/** The folders (one per controller) that hold the lab's hosts, under this process's own cgroups. */
export function labCgroupRoots(): string[] {
  return v1Cgroups().map(({ hierarchy, path }) => join(hierarchy, path, LAB_CGROUP));
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
