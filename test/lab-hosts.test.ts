// Lab hosts (lab/hosts.ts): machines that behave like hosts a user owns, made and removed
// on this machine. Real systemd-nspawn containers booting a debootstrap root filesystem;
// needs root (CI runs as root), skipped locally otherwise with the reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { labCgroupRoots } from "../lab/cgroups";
import { HostSpec, LAB_HOSTS_DIR, LabHosts } from "../lab/hosts";
import { LAB_SSH_USER } from "../lab/rootfs";

const SPECS: HostSpec[] = [
  { name: "t-host-a", address: "10.199.96.30" },
  { name: "t-host-b", address: "10.199.96.31" },
];

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return "lab hosts need root";
  if (spawnSync("systemd-nspawn", ["--version"]).error || spawnSync("debootstrap", ["--version"]).error) {
    if (process.env.CI === "true") throw new Error("systemd-nspawn or debootstrap is missing on CI: setup.sh installs them");
    return "systemd-nspawn or debootstrap is missing: run ./setup.sh";
  }
  if (LabHosts.exists()) return "lab hosts exist already (a lab run is using them)";
  return false;
}

const ssh = (key: string, address: string, cmd: string) =>
  execFileSync(
    "ssh",
    ["-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", `${LAB_SSH_USER}@${address}`, cmd],
    { encoding: "utf8" },
  );

const leftovers = () => ({
  netns: spawnSync("ip", ["netns", "list"], { encoding: "utf8" })
    .stdout.split("\n")
    .filter((l) => l.startsWith("khl-")),
  mounts: readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(LAB_HOSTS_DIR)),
  dir: existsSync(LAB_HOSTS_DIR),
  nspawn: spawnSync("pgrep", ["-f", `systemd-nspawn -D ${LAB_HOSTS_DIR}`], { encoding: "utf8" }).stdout.trim(),
  cgroups: labCgroupRoots().filter((d) => existsSync(d)),
});

test("lab hosts boot like hosts a user owns, survive a crash and leave nothing behind", { skip: skipReason() }, async () => {
  const log = () => undefined;
  const hosts = await LabHosts.up(SPECS, log);
  try {
    const ids = new Set<string>();
    for (const h of SPECS) {
      // Over SSH from this machine, as the program reaches hosts you own: the user, passwordless sudo, systemd as PID 1.
      const out = ssh(
        hosts.sshKey,
        h.address,
        "hostname; cat /etc/machine-id; sudo -n cat /proc/1/comm; systemctl is-system-running; systemctl is-active containerd ssh; ip -4 -o addr show eth0",
      );
      const [hostname, machineId, pid1, running, containerd, sshd] = out.split("\n");
      assert.equal(hostname, h.name);
      assert.equal(pid1, "systemd");
      assert.match(running, /^(running|degraded)$/);
      assert.deepEqual([containerd, sshd], ["active", "active"]);
      assert.match(out, new RegExp(`inet ${h.address.replace(/\./g, "\\.")}/24`));
      ids.add(machineId);
    }
    assert.equal(ids.size, SPECS.length, "every host has its own machine-id");
    // Each host has its own SSH host key.
    const keys = SPECS.map((h) => readFileSync(`${LAB_HOSTS_DIR}/${h.name}/root/etc/ssh/ssh_host_ed25519_key.pub`, "utf8").split(" ")[1]);
    assert.equal(new Set(keys).size, SPECS.length);
    // The kubelet's cgroup v1 controllers are writable inside (nspawn mounts them read-only),
    // and each host's are its own: what one host makes there (its kubelet's kubepods.slice)
    // is in its cgroup on this machine, out of every other host's sight.
    // Every hierarchy, the named systemd one and the v2 one too (where each host's systemd
    // keeps its units, kubelet.service and the pods' slices): each host's PID 1 in its own.
    for (const h of SPECS) {
      const pid1 = hosts.nsenterArgs(h.name)[1];
      const lines = readFileSync(`/proc/${pid1}/cgroup`, "utf8").trim().split("\n");
      assert.ok(lines.some((l) => l.includes(":name=systemd:")) && lines.some((l) => l.startsWith("0::")), lines.join("; "));
      for (const l of lines) assert.match(l, new RegExp(`/kubeadm-ha-lab/${h.name}(/|$)`), `${h.name}'s systemd is not in a cgroup of its own: ${l}`);
    }
    const cpuset = labCgroupRoots().find((d) => d.includes("/cpuset/"))!;
    ssh(hosts.sshKey, SPECS[0].address, "sudo mkdir /sys/fs/cgroup/cpuset/lab-test");
    assert.ok(existsSync(join(cpuset, SPECS[0].name, "lab-test")), "a cgroup a host makes is under its own");
    assert.equal(ssh(hosts.sshKey, SPECS[1].address, "test -e /sys/fs/cgroup/cpuset/lab-test && echo seen || echo unseen").trim(), "unseen");
    assert.equal(ssh(hosts.sshKey, SPECS[0].address, "sudo rmdir /sys/fs/cgroup/cpuset/lab-test && echo ok").trim(), "ok");
    // A crash: the host stops answering; booted again, it is back with what it wrote to disk.
    ssh(hosts.sshKey, SPECS[1].address, "echo kept | sudo tee /var/lib/lab-test >/dev/null");
    await hosts.crash(SPECS[1].name);
    assert.notEqual((await hosts.exec(SPECS[1].name, ["true"])).code, 0, "a crashed host runs nothing");
    await hosts.boot(SPECS[1].name);
    assert.equal(ssh(hosts.sshKey, SPECS[1].address, "cat /var/lib/lab-test").trim(), "kept");
  } finally {
    LabHosts.down(log);
  }
  assert.deepEqual(leftovers(), { netns: [], mounts: [], dir: false, nspawn: "", cgroups: [] });
});

test("a second lab is refused while one exists, and down is safe to run twice", { skip: skipReason() }, async () => {
  const log = () => undefined;
  await LabHosts.up(SPECS.slice(0, 1), log);
  try {
    await assert.rejects(LabHosts.up(SPECS, log), /lab hosts exist already/);
  } finally {
    LabHosts.down(log);
  }
  assert.deepEqual(LabHosts.down(log), []);
  assert.deepEqual(leftovers(), { netns: [], mounts: [], dir: false, nspawn: "", cgroups: [] });
});
