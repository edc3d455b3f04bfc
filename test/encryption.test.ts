// Secrets encrypted at rest and the audit log, as planned (plan/encryption.ts, plan/audit.ts,
// plan/apiserver-flags.ts) and as kubeadm takes them: which keys every apiserver reads and
// writes with through a cluster's life (made encrypted, moved from plain bytes, rotated,
// turned off), what a running cluster refuses, and the flags and mounts kubeadm puts into the
// apiserver's manifest (kubeadm itself writes it, in a dry run).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { parse, parseAllDocuments } from "yaml";
import { labHostsConfig, tempDir, toolchainSkip } from "./helpers";
import { planCluster } from "../components/plan/cluster-plan";
import { certificatesConfig } from "../components/plan/kubeadm";
import { describeProviders, encryptionChangeProblems, encryptionConfiguration, encryptionOutput, encryptionPlan, storedPrefix } from "../components/plan/encryption";
import { auditPolicy, auditPolicyPath } from "../components/plan/audit";
import { tool } from "../toolchain/cache";

const config = (kubernetes: Record<string, unknown> = {}) => labHostsConfig({ kubernetes });
const KEYS = { 1: Buffer.alloc(32, 1).toString("base64"), 2: Buffer.alloc(32, 2).toString("base64"), 3: Buffer.alloc(32, 3).toString("base64") };

test("a cluster made now is encrypted from its first Secret: every apiserver reads and writes with key-1, plain bytes read last", () => {
  const c = config();
  const p = encryptionPlan(c, undefined, true);
  assert.equal(describeProviders(p.read), "secretbox/key-1, identity");
  assert.deepEqual(p.read, p.use);
  assert.equal(p.previous, undefined);
  assert.deepEqual(encryptionOutput(c, p), { enabled: true, provider: "secretbox", keyRound: 1 });
  assert.equal(storedPrefix({ provider: "secretbox", round: 1 }), "k8s:enc:secretbox:v1:key-1:");
});

test("a cluster made before encryption existed (settled, no output) reads its plain Secrets while every apiserver moves to key-1", () => {
  const c = config();
  const p = encryptionPlan(c, undefined, false);
  assert.equal(describeProviders(p.read), "identity, secretbox/key-1", "reads key-1 before any apiserver writes with it");
  assert.equal(describeProviders(p.use), "secretbox/key-1, identity");
  assert.deepEqual(encryptionOutput(c, p).previous, "identity");
});

test("a key rotation: every apiserver reads key-2 while writing key-1, then writes key-2 and still reads key-1; the up after keeps key-1 readable", () => {
  const c = config({ encryption: { keyRound: 2 } });
  const p = encryptionPlan(c, { enabled: true, provider: "secretbox", keyRound: 1 }, false);
  assert.equal(describeProviders(p.read), "secretbox/key-1, secretbox/key-2, identity");
  assert.equal(describeProviders(p.use), "secretbox/key-2, secretbox/key-1, identity");
  assert.deepEqual(p.keys.map((k) => k.round).sort(), [1, 2]);
  const next = encryptionPlan(c, encryptionOutput(c, p), false);
  assert.deepEqual(next, p, "an up with nothing changed runs nothing again");
});

test("the next rotation lets the key two rounds back go (every Secret was written again with the one after it)", () => {
  const c = config({ encryption: { keyRound: 3 } });
  const p = encryptionPlan(c, { enabled: true, provider: "secretbox", keyRound: 2, previous: { provider: "secretbox", round: 1 } }, false);
  assert.equal(describeProviders(p.use), "secretbox/key-3, secretbox/key-2, identity");
  assert.deepEqual(p.keys.map((k) => k.round).sort(), [2, 3]);
});

test("encryption turned off: the apiservers write plain bytes and still read the key they wrote with", () => {
  const c = config({ encryption: { enabled: false } });
  const p = encryptionPlan(c, { enabled: true, provider: "secretbox", keyRound: 1 }, false);
  assert.equal(describeProviders(p.use), "identity, secretbox/key-1");
  assert.equal(describeProviders(p.read), "secretbox/key-1, identity");
});

test("a running cluster refuses a key round lowered or raised by two, and a new provider on the old key, naming the key and a fix", () => {
  const last = { enabled: true, provider: "secretbox", keyRound: 2 };
  for (const round of [1, 4]) {
    const [problem, ...more] = encryptionChangeProblems(last, config({ encryption: { keyRound: round } }));
    assert.equal(more.length, 0);
    assert.equal(problem.key, "kubeadm-ha:kubernetes.encryption.keyRound");
    assert.match(problem.message, new RegExp(`^is ${round}, after 2`));
    assert.equal(problem.fix, "set it to 2 (no rotation) or 3 (rotate the key)");
  }
  const [provider] = encryptionChangeProblems(last, config({ encryption: { provider: "aescbc", keyRound: 2 } }));
  assert.equal(provider.key, "kubeadm-ha:kubernetes.encryption.provider");
  assert.match(provider.fix, /raise kubernetes.encryption.keyRound to 3 with it/);
  assert.deepEqual(encryptionChangeProblems(last, config({ encryption: { provider: "aescbc", keyRound: 3 } })), []);
  assert.deepEqual(encryptionChangeProblems(undefined, config({ encryption: { keyRound: 7 } })), [], "a new cluster starts at any round");
});

test("the EncryptionConfiguration names each key by its round, covers Secrets, and holds the keys' bytes only where given", () => {
  const c = config({ encryption: { keyRound: 2, provider: "aescbc" } });
  const p = encryptionPlan(c, { enabled: true, provider: "secretbox", keyRound: 1 }, false);
  const doc = parse(encryptionConfiguration(p.use, KEYS));
  assert.equal(doc.kind, "EncryptionConfiguration");
  assert.deepEqual(doc.resources[0].resources, ["secrets"]);
  assert.deepEqual(doc.resources[0].providers, [
    { aescbc: { keys: [{ name: "key-2", secret: KEYS[2] }] } },
    { secretbox: { keys: [{ name: "key-1", secret: KEYS[1] }] } },
    { identity: {} },
  ]);
  assert.throws(() => encryptionConfiguration(p.use, { 1: KEYS[1] }), /no key of round 2/);
});

test("the audit policy logs metadata only: no rule asks for a request or response body", () => {
  const policy = parse(auditPolicy());
  assert.equal(policy.kind, "Policy");
  assert.deepEqual(new Set(policy.rules.map((r: { level: string }) => r.level)), new Set(["None", "Metadata"]));
  assert.deepEqual(policy.rules[policy.rules.length - 1], { level: "Metadata" }, "everything else at Metadata");
  assert.match(auditPolicyPath(), /^\/etc\/kubernetes\/audit\/policy-[0-9a-f]{12}\.yaml$/);
});

test(
  "kubeadm writes the apiserver's manifest with the encryption config (reloaded), the audit log and their folders mounted; none of the audit with it off",
  { skip: toolchainSkip(["kubeadm"]) },
  () => {
    const kubeadm = tool("kubeadm");
    const manifest = (c: ReturnType<typeof config>) => {
      const dir = tempDir("kubeadm-ha-dryrun-");
      const plan = planCluster(c);
      writeFileSync(join(dir, "config.yaml"), certificatesConfig(plan, plan.masters[0]));
      mkdirSync(join(dir, "out"));
      const r = spawnSync(kubeadm, ["init", "phase", "control-plane", "apiserver", "--config", join(dir, "config.yaml"), "--dry-run"], {
        encoding: "utf8",
        env: { ...process.env, KUBEADM_INIT_DRYRUN_DIR: join(dir, "out") },
      });
      assert.equal(r.status, 0, r.stderr);
      return parseAllDocuments(readFileSync(join(dir, "out/kube-apiserver.yaml"), "utf8"))[0].toJS();
    };
    const on = manifest(config());
    const command: string[] = on.spec.containers[0].command;
    for (const flag of [
      "--encryption-provider-config=/etc/kubernetes/encryption/config.yaml",
      "--encryption-provider-config-automatic-reload=true",
      `--audit-policy-file=${auditPolicyPath()}`,
      "--audit-log-path=/var/log/kubernetes/audit/audit.log",
      "--audit-log-maxage=30",
      "--audit-log-maxbackup=10",
      "--audit-log-maxsize=100",
    ]) {
      assert.ok(command.includes(flag), `${flag} missing`);
    }
    const mounts = Object.fromEntries(on.spec.containers[0].volumeMounts.map((v: { mountPath: string; readOnly?: boolean }) => [v.mountPath, v.readOnly === true]));
    assert.deepEqual([mounts["/etc/kubernetes/encryption"], mounts["/etc/kubernetes/audit"], mounts["/var/log/kubernetes/audit"]], [true, true, false]);
    const off: string[] = manifest(config({ audit: { enabled: false } })).spec.containers[0].command;
    assert.ok(!off.some((f) => f.startsWith("--audit-")));
    assert.ok(
      off.includes("--encryption-provider-config=/etc/kubernetes/encryption/config.yaml"),
      "the encryption config stays: turning encryption on again is a file, not a restart",
    );
  },
);
