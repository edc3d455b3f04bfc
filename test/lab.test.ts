// Tier 1: a real HA control plane in network namespaces, built by kubeadm from what the
// program renders for the hosts-you-own stacks (onprem-vip: keepalived + haproxy on the
// masters; onprem-local-proxy: haproxy on every node), running the real etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler from the toolchain. The
// tests pin what happens (the endpoint keeps answering, a survivor takes each Lease, no
// acknowledged write is lost), never how fast: bench/failover measures that.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import { existsSync, readdirSync } from "fs";
import { join } from "path";
import { ControlPlane, EndpointMode } from "../lab/controlplane";
import { apiserverKilled, apiserverRestarted, etcdLeaderKilled, kubectlCreatesAndReads, masterLost, proxyKilledOnVipHolder, twoMastersDown } from "../lab/cp-scenarios";
import { Lab, LabError, LAB_TOOLS } from "../lab/lab";
import { HOST_PATHS, NETNS_ETC } from "../lab/hostfs";
import { ROOT, toolchainSkip } from "./helpers";

const namespaces = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
const notBuilt = toolchainSkip(LAB_TOOLS);

for (const mode of ["vip", "local-proxy"] as EndpointMode[]) {
  describe(`a real control plane behind the ${mode} endpoint`, { skip: notBuilt }, () => {
    let lab: Lab;
    let cp: ControlPlane;
    before(async () => {
      lab = new Lab();
      cp = await new ControlPlane(lab, mode).start();
    });
    after(() => lab?.close());

    test("kubeadm built three masters from the rendered configs: kubectl through the endpoint creates and reads objects", async () => {
      const r = await kubectlCreatesAndReads(cp);
      assert.ok(r.created);
      assert.equal(r.read, "through-the-endpoint");
      // The three etcd members kubeadm joined one at a time (their mirror pods).
      assert.equal(r.nodes.trim().split("\n").length, 3, r.nodes);
    });

    test("a SIGKILLed kube-apiserver leaves the proxy's rotation and returns when it is ready again", async () => {
      const r = await apiserverKilled(cp);
      assert.ok(r.removalMs > 0 && r.returnMs >= 0, JSON.stringify(r));
      assert.ok(r.failedRequests < r.requests / 2, JSON.stringify(r));
    });

    test("losing the master that holds the scheduler's and controller-manager's Leases: the endpoint answers, writes go on, a survivor takes each Lease", async () => {
      const r = await masterLost(cp, "lease-holder");
      assert.ok(r.leases.length > 0, `the lost master held no Lease: ${JSON.stringify(r)}`);
      for (const l of r.leases) {
        assert.ok(l.takeoverMs > 0, JSON.stringify(r));
        assert.notEqual(l.newHolder, r.lost);
        assert.ok(
          cp.masters.some((m) => m.name === l.newHolder),
          JSON.stringify(r),
        );
      }
      assert.ok(r.writesAfter > 0, JSON.stringify(r));
      assert.ok(r.answersAfter, JSON.stringify(r));
    });

    if (mode === "vip") {
      test("haproxy killed on the VIP holder: keepalived moves the VIP to a master whose proxy works", async () => {
        const r = await proxyKilledOnVipHolder(cp);
        assert.ok(r.vipMovedMs > 0, JSON.stringify(r));
      });
    }

    test("the etcd leader killed: the other members elect a new one", async () => {
      const r = await etcdLeaderKilled(cp);
      assert.ok(r.electionMs > 0, JSON.stringify(r));
    });

    test("two masters down: no write is acknowledged; both back: no acknowledged write is lost", async () => {
      const r = await twoMastersDown(cp);
      assert.ok(r.attemptsWithTwoDown > 0, JSON.stringify(r));
      assert.equal(r.acknowledgedWithTwoDown, 0, JSON.stringify(r));
      assert.ok(r.acknowledged > 0, JSON.stringify(r));
      assert.equal(r.lost, 0, JSON.stringify(r));
    });

    test("an apiserver restarted as the kubelet replaces its static pod leaves the proxy's rotation before it stops: no write through the endpoint is refused", async () => {
      const r = await apiserverRestarted(cp);
      assert.ok(r.shutdownDelayS > 0, `no shutdown delay in the rendered apiserver: ${JSON.stringify(r)}`);
      assert.ok(r.removalMs < r.exitMs, `the proxy took it out only after it stopped: ${JSON.stringify(r)}`);
      assert.deepEqual(r.refused, [], `writes refused: ${JSON.stringify(r)}`);
      // A write in flight to it when the proxy marks it down loses its connection (haproxy
      // shuts the sessions of a server marked down, so the clients of a dead one move at once).
      for (const u of r.unanswered) assert.ok(Math.abs(u - r.removalMs) < 1000, `a write unanswered away from the proxy's mark: ${JSON.stringify(r)}`);
      assert.ok(r.writes > 0);
    });
  });
}

test("the lab removes every namespace, link, process and hosts file it made, also when a scenario fails", async () => {
  const lab = new Lab();
  const host = lab.addHost("x", 50);
  // A duration nothing else on the machine sleeps for: pgrep below looks machine-wide.
  await lab.start(host, "sleeper", ["sleep", "314159"]);
  assert.match(namespaces(), new RegExp(`${lab.id}-x`));
  await assert.rejects(
    (async () => {
      try {
        throw new LabError("scenario failed on purpose");
      } finally {
        lab.close();
      }
    })(),
    /on purpose/,
  );
  assert.doesNotMatch(namespaces(), new RegExp(lab.id));
  assert.equal(spawnSync("pgrep", ["-f", "^sleep 314159$"]).status, 1, "the host's processes are gone");
  assert.equal(spawnSync("test", ["-e", host.hostsFile]).status, 1, "its /etc/netns hosts file is gone");
  for (const p of [...HOST_PATHS, NETNS_ETC]) assert.ok(!existsSync(p) || readdirSync(p).length > 0, `${p} is left behind, empty`);
});

test("the lab refuses to run without root, saying why", () => {
  const res = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "lab/cli.ts")], {
    encoding: "utf8",
    uid: 65534,
    gid: 65534,
    env: { ...process.env, HOME: "/tmp" },
    cwd: ROOT,
  });
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /needs root/);
});
