// The rendered kubeadm-ha-encryption script puts one phase of the cluster's encryption config
// in place on a master and waits until that master's apiserver runs on it, or writes every
// Secret again. These tests run it for real (bash, the rendered text) with the master's paths
// under a temporary root and named stand-ins (test/fixtures/encryption-standins): kubectl
// plays the apiserver's /metrics (the hash of the config it loaded, reloaded a few looks after
// the file changed) and the Secrets, curl its livez. The lab runs the same script with the
// real apiservers and checks what etcd stores.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import { labHostsConfig, ROOT, tempDir } from "./helpers";
import { planCluster } from "../components/plan/cluster-plan";
import { ENCRYPTION_CONFIG, ENCRYPTION_STAGED, encryptionFiles, encryptionPlan, encryptionScript } from "../components/plan/encryption";

const plan = planCluster(labHostsConfig({ kubernetes: { encryption: { keyRound: 2 } } }));
// A rotation from key-1 to key-2: the read config lists both, key-1 first; the use config key-2 first.
const rotation = encryptionPlan(plan.config, { enabled: true, provider: "secretbox", keyRound: 1 }, false);
const KEYS = { 1: Buffer.alloc(32, 1).toString("base64"), 2: Buffer.alloc(32, 2).toString("base64") };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** lab-master-1 with both phases' configs staged; its apiserver running with the config flag, or not yet. */
function master(s: { configured: boolean; up: boolean; live?: "read" | "use"; secrets?: string[]; conflicts?: number }) {
  const root = tempDir("kubeadm-ha-encryption-");
  const state = join(root, "state");
  const under = (p: string) => join(root, p);
  for (const d of [state, under("etc/kubernetes/manifests"), under("etc/kubeadm-ha/secrets")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(state, "calls"), "");
  const staged = Object.fromEntries(encryptionFiles(rotation, KEYS).map((f) => [f.path, f.content]));
  for (const [path, content] of Object.entries(staged)) writeFileSync(under(path), content, { mode: 0o600 });
  writeFileSync(
    under("etc/kubernetes/manifests/kube-apiserver.yaml"),
    `spec:\n  containers:\n  - command:\n    - kube-apiserver\n${s.configured ? `    - --encryption-provider-config=${under(ENCRYPTION_CONFIG)}\n` : ""}`,
  );
  if (s.live) {
    mkdirSync(under("etc/kubernetes/encryption"), { recursive: true });
    writeFileSync(under(ENCRYPTION_CONFIG), staged[ENCRYPTION_STAGED[s.live]]);
    writeFileSync(join(state, "loaded"), sha256(staged[ENCRYPTION_STAGED[s.live]]));
  }
  if (s.up) writeFileSync(join(state, "apiserver-up"), "");
  const names = s.secrets ?? ["bootstrap-token-abcdef", "db-password"];
  writeFileSync(
    join(state, "secrets"),
    JSON.stringify({ apiVersion: "v1", kind: "List", items: names.map((name) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "default" } })) }),
  );
  if (s.conflicts) writeFileSync(join(state, "conflicts"), String(s.conflicts));
  const path = join(root, "kubeadm-ha-encryption");
  writeFileSync(path, encryptionScript(plan.masters[1]).split("/etc/kubernetes").join(under("etc/kubernetes")).split("/etc/kubeadm-ha").join(under("etc/kubeadm-ha")));
  chmodSync(path, 0o755);
  return {
    run: (action: string, env: Record<string, string> = {}) =>
      spawnSync("bash", [path, action], {
        encoding: "utf8",
        env: {
          ...process.env,
          PATH: `${join(ROOT, "test/fixtures/encryption-standins")}:${process.env.PATH}`,
          STANDIN_STATE: state,
          STANDIN_LIVE: under(ENCRYPTION_CONFIG),
          KUBEADM_HA_ENCRYPTION_TIMEOUT_S: "20",
          ...env,
        },
      }),
    live: () => (existsSync(under(ENCRYPTION_CONFIG)) ? readFileSync(under(ENCRYPTION_CONFIG), "utf8") : undefined),
    liveMode: () => statSync(under(ENCRYPTION_CONFIG)).mode & 0o777,
    liveMtime: () => statSync(under(ENCRYPTION_CONFIG)).mtimeMs,
    staged: (phase: "read" | "use") => staged[ENCRYPTION_STAGED[phase]],
    calls: () => readFileSync(join(state, "calls"), "utf8").split("\n").filter(Boolean),
  };
}

test("before its first start (init, join), a master gets the read config in place, root-only, and waits for no apiserver", () => {
  const m = master({ configured: false, up: false });
  const r = m.run("read");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(m.live(), m.staged("read"));
  assert.equal(m.liveMode(), 0o600);
  assert.match(r.stdout, /lab-master-1: the read config put in place\nlab-master-1: the apiserver starts on it/);
  assert.deepEqual(m.calls(), [], "no apiserver asked");
});

test("a rotation's read phase: the running apiserver is awaited until it has loaded the new config, by its hash", () => {
  const m = master({ configured: true, up: true, live: "use" });
  const r = m.run("read");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(m.live(), m.staged("read"));
  assert.match(r.stdout, /the apiserver runs on it/);
  assert.ok(m.calls().filter((c) => c.includes("--server https://10.0.0.11:6443 get --raw /metrics")).length >= 2, "it looked until the apiserver reloaded");
});

test("before 1.34 (no config hash in the metrics), the step waits for a successful reload after it wrote the file", () => {
  const m = master({ configured: true, up: true, live: "use" });
  const r = m.run("read", { STANDIN_BEFORE_134: "1" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(m.live(), m.staged("read"));
  assert.ok(m.calls().filter((c) => c.includes("get --raw /metrics")).length >= 2, "it looked until the apiserver reloaded");
  const again = m.run("read", { STANDIN_BEFORE_134: "1" });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /in place already\n.*the apiserver runs on it/s);
});

test("the use phase on a master already on it: the file is not touched and the apiserver answers at once", () => {
  const m = master({ configured: true, up: true, live: "use" });
  const before = m.liveMtime();
  const r = m.run("use");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /the use config is in place already/);
  assert.equal(m.liveMtime(), before);
  assert.equal(m.calls().length, 1);
});

test("an apiserver that never loads the new config fails the step, naming what it waited for", () => {
  const m = master({ configured: true, up: true, live: "read" });
  const r = m.run("use", { STANDIN_RELOAD_AFTER: "1000", KUBEADM_HA_ENCRYPTION_TIMEOUT_S: "3" });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /kubeadm-ha: lab-master-1: the apiserver loading the use config not reached after 3s/);
});

test("rewrite writes every Secret again, and runs the pass again when one changed meanwhile (Conflict)", () => {
  const m = master({ configured: true, up: true, live: "use", secrets: ["a", "b", "c"], conflicts: 1 });
  const r = m.run("rewrite");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /pass 1: Error from server \(Conflict\)/);
  assert.match(r.stdout, /every Secret written again with the cluster's key: 3 Secrets/);
});

test("rewrite gives up after three passes that all conflict, and says how to run it again", () => {
  const m = master({ configured: true, up: true, live: "use", conflicts: 5 });
  const r = m.run("rewrite");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /the Secrets could not all be written again; run sudo \/usr\/local\/sbin\/kubeadm-ha-encryption rewrite on a master/);
});
