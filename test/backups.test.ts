// etcd backups in the config and the pure plan: where snapshots go by default, the keys that
// apply only to one destination, the secret kept out of messages, and what the masters'
// script and timer are given.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "child_process";
import { readFileSync, writeFileSync } from "fs";
import { parse, stringify } from "yaml";
import { renderInChildProcess } from "../render/child";
import { join } from "path";
import { ConfigError, validateClusterConfig } from "../components/config/validate";
import { planCluster } from "../components/plan/cluster-plan";
import {
  backupCheckSeconds,
  backupConfig,
  backupCredentials,
  backupScript,
  backupUnits,
  initialCluster,
  RESTORE_PHASES,
  restoreCommand,
  restoreToken,
  snapshotName,
} from "../components/plan/backups";
import { renderInChild, ROOT, tempDir } from "./helpers";

const gcp = () => ({ region: "europe-west1", zones: ["europe-west1-b", "europe-west1-c", "europe-west1-d"], adminCidrs: ["198.51.100.0/24"] });
const owned = () => ({
  platform: "static",
  hosts: {
    masters: [
      { name: "m0", address: "10.0.0.10", zone: "a" },
      { name: "m1", address: "10.0.0.11", zone: "b" },
      { name: "m2", address: "10.0.0.12", zone: "c" },
    ],
  },
  network: { nodeCidr: "10.0.0.0/24" },
  endpoint: { mode: "local-proxy" },
});
const planOfConfig = (stack: string, raw: Record<string, unknown>) => planCluster(validateClusterConfig(raw, stack));
const S3 = { endpoint: "https://minio.example.com:9000", bucket: "etcd-backups", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "do-not-print-me" };

function problems(raw: Record<string, unknown>): ConfigError["problems"] {
  try {
    validateClusterConfig(raw, "dev");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  return [];
}

test("snapshots every 15 minutes, kept 7 days: to a bucket on a cloud, to a folder on the masters you own", () => {
  const cloud = validateClusterConfig(gcp(), "dev").backups;
  assert.deepEqual(cloud, { enabled: true, every: "15m", keepDays: 7, destination: "bucket", path: undefined });
  const mine = validateClusterConfig(owned(), "dev").backups;
  assert.equal(mine.destination, "directory");
  assert.equal(mine.path, "/var/backups/kubeadm-ha");
});

test("a destination that cannot exist on the platform is refused, with the ones that can", () => {
  const [bucket] = problems({ ...owned(), backups: { destination: "bucket" } });
  assert.equal(bucket.key, "kubeadm-ha:backups.destination");
  assert.match(bucket.fix, /"directory".*"s3"/);
  const [folder] = problems({ ...gcp(), backups: { destination: "directory" } });
  assert.equal(folder.key, "kubeadm-ha:backups.destination");
  assert.match(folder.message, /go with the masters/);
});

test("a key of another destination is refused, naming the destination in force", () => {
  const [path] = problems({ ...gcp(), backups: { path: "/mnt/backups" } });
  assert.equal(path.key, "kubeadm-ha:backups.path");
  assert.match(path.message, /applies only to destination "directory" \(the destination is "bucket"\)/);
  const [s3] = problems({ ...owned(), backups: { s3: S3 } });
  assert.equal(s3.key, "kubeadm-ha:backups.s3");
  const [missing] = problems({ ...owned(), backups: { destination: "s3" } });
  assert.equal(missing.key, "kubeadm-ha:backups.s3");
  assert.match(missing.message, /missing/);
});

test("an interval outside 5m..24h is refused", () => {
  const [p] = problems({ ...gcp(), backups: { every: "1m" } });
  assert.equal(p.key, "kubeadm-ha:backups.every");
  assert.match(p.message, /"1m" is outside 5m to 24h/);
});

test("the endpoint's secret key never appears in an error message", () => {
  const all = problems({ ...owned(), backups: { destination: "s3", s3: { ...S3, secretAccessKey: 42 } } });
  assert.ok(all.length > 0);
  assert.ok(!JSON.stringify(all).includes("do-not-print-me"));
  const typo = problems({ ...owned(), backups: { destination: "s3", s3: { ...S3, secretAccesKey: "do-not-print-me" } } });
  assert.ok(typo.some((p) => p.key.startsWith("kubeadm-ha:backups.s3")));
  assert.ok(!JSON.stringify(typo).includes("do-not-print-me"), JSON.stringify(typo));
});

test("a snapshot's name sorts by time and names the cluster and the master", () => {
  assert.equal(snapshotName("prod", new Date("2026-12-03T10:15:00.123Z"), "prod-master-1"), "prod/20261203T101500Z-prod-master-1.db");
});

test("the timer checks a third of the interval, from a minute", () => {
  assert.equal(backupCheckSeconds(900), 300);
  assert.equal(backupCheckSeconds(120), 60);
});

test("a restore names every master at its peer URL as the initial cluster", () => {
  const plan = planOfConfig("dev", owned());
  assert.equal(initialCluster(plan), "m0=https://10.0.0.10:2380,m1=https://10.0.0.11:2380,m2=https://10.0.0.12:2380");
});

test("the masters' destination file and credentials quote every value for bash", () => {
  const plan = planOfConfig("dev", { ...owned(), backups: { destination: "s3", s3: { ...S3, secretAccessKey: "it's/secret" } } });
  const config = backupConfig(plan, { kind: "s3", bucket: "etcd-backups", region: "us-east-1", endpoint: S3.endpoint, credentials: "keys" });
  const dir = tempDir("kubeadm-ha-backups-");
  writeFileSync(join(dir, "config.env"), config + backupCredentials("AKIAEXAMPLE", "it's/secret"));
  const read = execFileSync(
    "bash",
    ["-c", `set -eu; . ${join(dir, "config.env")}; printf '%s|' "$CLUSTER" "$EVERY_S" "$KEEP_DAYS" "$DESTINATION" "$BUCKET" "$ENDPOINT" "$CREDENTIALS" "$SECRET_ACCESS_KEY"`],
    { encoding: "utf8" },
  );
  assert.equal(read, "dev|900|7|s3|etcd-backups|https://minio.example.com:9000|keys|it's/secret|");
});

test("the script and its units pass shellcheck and systemd's own checks of their form", () => {
  const plan = planOfConfig("dev", owned());
  const dir = tempDir("kubeadm-ha-backups-");
  writeFileSync(join(dir, "script"), backupScript(plan, plan.masters[0]));
  execFileSync("shellcheck", ["--shell=bash", "--severity=style", join(dir, "script")]);
  const [service, timer] = backupUnits(plan);
  assert.match(service.content, /ExecStart=\/usr\/local\/sbin\/kubeadm-ha-etcd-backup snapshot-if-due/);
  assert.match(timer.content, /OnUnitActiveSec=300\n/);
});

test("a misspelt secret key's value is not printed either, nor key material under any unknown key", () => {
  const [p] = problems({ ...gcp(), sshPrivatKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc" });
  assert.equal(p.key, "kubeadm-ha:sshPrivatKey");
  assert.match(p.message, /\[secret\]/);
  const [q] = problems({ ...gcp(), zone: "europe-west1-b" });
  assert.match(q.message, /"europe-west1-b"/, "an ordinary unknown key still shows its value");
});

test("a restore names exactly one snapshot the masters can get", () => {
  const both = problems({ ...owned(), restore: { snapshot: "dev/20261203T101500Z-m0.db", file: "./x.db" } });
  assert.equal(both[0].key, "kubeadm-ha:restore");
  const bucket = problems({ ...gcp(), clusterName: "dev", restore: { snapshot: "dev/20261203T101500Z-dev-master-0.db" } });
  assert.equal(bucket[0].key, "kubeadm-ha:restore.snapshot");
  assert.match(bucket[0].fix, /restore\.file/);
  const other = problems({ ...owned(), clusterName: "dev", restore: { snapshot: "prod/20261203T101500Z-m0.db" } });
  assert.match(other[0].message, /another cluster/);
  const missing = problems({ ...owned(), restore: { file: "/nonexistent/snapshot.db" } });
  assert.equal(missing[0].key, "kubeadm-ha:restore.file");
  assert.match(missing[0].message, /does not exist/);
});

test("every master's restore shares one cluster token, new for each snapshot and round", () => {
  const at = (restore: Record<string, unknown>) => restoreToken(validateClusterConfig({ ...owned(), clusterName: "dev", restore }, "dev"));
  const a = at({ snapshot: "dev/20261203T101500Z-m0.db" });
  assert.match(a, /^dev-restore-1-[0-9a-f]{8}$/);
  assert.equal(at({ snapshot: "dev/20261203T101500Z-m0.db" }), a);
  assert.notEqual(at({ snapshot: "dev/20261203T101500Z-m0.db", round: 2 }), a);
  assert.notEqual(at({ snapshot: "dev/20261203T103000Z-m0.db" }), a);
});

test("each phase of a restore on a master passes shellcheck, and the member phase fetches, restores, and removes the copy", () => {
  const config = validateClusterConfig({ ...owned(), clusterName: "dev", restore: { snapshot: "dev/20261203T101500Z-m0.db" } }, "dev");
  const plan = planCluster(config);
  const dir = tempDir("kubeadm-ha-restore-");
  const files = RESTORE_PHASES.map((p) => {
    const f = join(dir, `${p}.sh`);
    writeFileSync(f, restoreCommand(plan.masters[1], p, config));
    return f;
  });
  execFileSync("shellcheck", ["--shell=bash", "--severity=style", ...files]);
  const member = restoreCommand(plan.masters[1], "member", config);
  assert.match(
    member,
    /fetch dev\/20261203T101500Z-m0\.db \/var\/lib\/kubeadm-ha\/etcd-backups\/restore\.db\n.*restore \/var\/lib\/kubeadm-ha\/etcd-backups\/restore\.db dev-restore-1-[0-9a-f]{8}\n.*rm -f/,
  );
});

test("a restore renders every resource of the stack, its four phases in order on every master, and only the validation waits for it", async () => {
  const dir = tempDir("kubeadm-ha-restore-render-");
  const doc = parse(readFileSync(join(ROOT, "stacks/Pulumi.lab-local-proxy.yaml"), "utf8"));
  doc.config["kubeadm-ha:restore"] = { snapshot: "lab/20261203T101500Z-lab-master-0.db" };
  writeFileSync(join(dir, "Pulumi.lab-local-proxy.yaml"), stringify(doc));
  // The stack was up: the program reads back what it settled.
  const plain = await renderInChild("lab-local-proxy");
  writeFileSync(join(dir, "last.json"), JSON.stringify({ settled: plain.outputs.settled }));
  const out = join(dir, "out");
  const r = await renderInChildProcess(ROOT, "lab-local-proxy", out, dir, join(dir, "last.json"));
  assert.equal(r.code, 0, r.stderr);
  const resources = JSON.parse(readFileSync(join(out, "resources.json"), "utf8")) as typeof plain.resources;
  const names = (rs: typeof resources) =>
    rs
      .map((x) => x.name)
      .filter((n) => !/-restore-/.test(n))
      .sort();
  assert.deepEqual(names(resources), names(plain.resources), "a resource the program did not register would be deleted by pulumi up");
  const byName = new Map(resources.map((x) => [x.name, x]));
  const urn = (n: string) => byName.get(n)!.urn;
  for (const [i, phase] of RESTORE_PHASES.entries()) {
    for (const m of ["lab-master-0", "lab-master-1", "lab-master-2"]) {
      const step = byName.get(`${m}-restore-${phase}`);
      assert.ok(step, `no ${m}-restore-${phase}`);
      if (i > 0)
        for (const other of ["lab-master-0", "lab-master-1", "lab-master-2"])
          assert.ok(step.dependencies.includes(urn(`${other}-restore-${RESTORE_PHASES[i - 1]}`)), `${step.name} does not wait for ${other}'s ${RESTORE_PHASES[i - 1]}`);
    }
  }
  for (const n of ["lab-master-0-init", "lab-master-1-join", "lab-master-2-join"])
    assert.ok(!byName.get(n)!.dependencies.some((u) => /-restore-/.test(u)), `${n} waits for the restore`);
  assert.ok(byName.get("lab-control-plane-validate")!.dependencies.includes(urn("lab-master-2-restore-start-apiserver")));
});
