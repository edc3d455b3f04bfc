// The failover lab as tests: real keepalived and haproxy in network namespaces on the
// configs the program renders, a named apiserver stand-in per master. They pin what
// happens (the VIP moves, the proxy drops and re-adds a backend, the endpoint survives
// a lost master), never how fast: bench/failover measures that.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import { join } from "path";
import { Lab, LabError } from "../lab/lab";
import { backendRemoval, masterLoss, vipTakeover } from "../lab/scenarios";
import { ROOT } from "./helpers";

const namespaces = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });

test("SIGKILL of the keepalived holding the VIP: another master takes the VIP and the client is served again", async () => {
  const r = await vipTakeover();
  assert.notEqual(r.to, r.from);
  assert.ok(r.requests > 50);
  assert.ok(r.failedRequests < r.requests / 2, JSON.stringify(r));
});

test("a dead apiserver leaves the proxy's rotation and returns when it is back", async () => {
  const r = await backendRemoval();
  assert.ok(r.removalMs > 0 && r.returnMs > 0, JSON.stringify(r));
});

test("losing a whole master (link down, every process killed): the endpoint keeps answering", async () => {
  const r = await masterLoss();
  assert.ok(r.answersAfter, JSON.stringify(r));
});

test("the lab removes every namespace, link and process it made, also when a scenario fails", async () => {
  const lab = new Lab();
  lab.addHost("x", 50);
  // A duration nothing else on the machine sleeps for: pgrep below looks machine-wide.
  await lab.start(lab.hosts.get("x")!, "sleeper", ["sleep", "314159"]);
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
});

test("the lab refuses to run without root, saying why", () => {
  const res = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "lab/cli.ts")], { encoding: "utf8", uid: 65534, gid: 65534, env: { ...process.env, HOME: "/tmp" }, cwd: ROOT });
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /needs root/);
});

test("etcd from the rendered members: one down, writes go on; two down, none is acknowledged; back, no acknowledged write is lost", async () => {
  const { etcdScenario } = await import("../lab/etcd");
  const r = await etcdScenario();
  assert.ok(r.writesWithOneDown > 0, JSON.stringify(r));
  assert.equal(r.acknowledgedWithTwoDown, 0, JSON.stringify(r));
  assert.equal(r.lost, 0, JSON.stringify(r));
});
