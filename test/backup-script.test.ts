// The rendered kubeadm-ha-etcd-backup script decides on a master whether the cluster's
// snapshot is due, lets one master at a time take it, and keeps the destination pruned.
// These tests run it for real (bash, the rendered text) with the master's paths under a
// temporary root and named stand-ins: kubectl keeps the one Lease as the API would
// (test/fixtures/certificates-standins), ctr runs etcd's tools as the etcd image would
// (test/fixtures/backup-standins); the s3 destination's requests go to a real
// S3-compatible server. The lab runs the same script with the real programs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "fs";
import { join } from "path";
import { freePort, labHostsConfig, ROOT, tempDir, toolchainSkip } from "./helpers";
import { tool } from "../toolchain/cache";
import { planCluster } from "../components/plan/cluster-plan";
import {
  BACKUP_CONFIG,
  BACKUP_CREDENTIALS,
  BACKUP_STAGING,
  backupConfig,
  backupCredentials,
  backupScript,
  LAST_SNAPSHOT_ANNOTATION,
  snapshotName,
} from "../components/plan/backups";

let script: string;
/** lab-master-1's script when etcd is external: three members of its own at 10.0.0.30-32. */
let externalScript: string;
let config: string;
const EVERY_S = 900;
before(() => {
  const backups = { every: "15m", keepDays: 7, path: "/mnt/share/etcd-backups" };
  const plan = planCluster(labHostsConfig({ backups }));
  script = backupScript(plan, plan.masters[1]);
  config = backupConfig(plan, { kind: "directory", path: "/mnt/share/etcd-backups" });
  const hosts = (kind: string, first: number) => [0, 1, 2].map((i) => ({ name: `lab-${kind}-${i}`, address: `10.0.0.${first + i}`, zone: `z${i}` }));
  const external = planCluster(labHostsConfig({ backups, etcd: { topology: "external" }, hosts: { masters: hosts("master", 10), etcd: hosts("etcd", 30) } }));
  externalScript = backupScript(external, external.masters[1]);
});

/** lab-master-1, with the cluster's Lease as `lease` says, and snapshots already at the destination. */
function master(
  s: {
    lease?: { holder: string; renewedSecondsAgo: number; lastSnapshotSecondsAgo?: number };
    unhealthy?: boolean;
    unhealthyMembers?: string[];
    imageMissing?: boolean;
    external?: boolean;
    existing?: string[];
    destination?: string;
    credentials?: string;
  } = {},
) {
  const root = tempDir("kubeadm-ha-backup-");
  const state = join(root, "state");
  const share = join(root, "mnt/share/etcd-backups");
  for (const d of [state, share, join(root, "etc/kubernetes/manifests"), join(root, "etc/kubeadm-ha")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(root, "etc/kubernetes/manifests/etcd.yaml"), "spec:\n  containers:\n  - image: registry.k8s.io/etcd:3.6.5-0\n");
  writeFileSync(join(state, "calls"), "");
  if (s.unhealthy) writeFileSync(join(state, "etcd-unhealthy"), "");
  for (const ip of s.unhealthyMembers ?? []) writeFileSync(join(state, `unhealthy-${ip}`), "");
  if (s.imageMissing) writeFileSync(join(state, "image-missing"), "");
  if (s.lease) {
    const at = (ago: number) => new Date(Date.now() - ago * 1000).toISOString().replace("Z", "000Z");
    const last = s.lease.lastSnapshotSecondsAgo;
    const annotations = last === undefined ? {} : { [LAST_SNAPSHOT_ANNOTATION]: `${Math.floor(Date.now() / 1000) - last} lab/earlier.db` };
    writeFileSync(
      join(state, "lease"),
      JSON.stringify({
        metadata: { name: "kubeadm-ha-etcd-backup", resourceVersion: "7", annotations },
        spec: { holderIdentity: s.lease.holder, renewTime: at(s.lease.renewedSecondsAgo) },
      }),
    );
  }
  for (const name of s.existing ?? []) {
    mkdirSync(join(share, name, ".."), { recursive: true });
    writeFileSync(join(share, name), "older snapshot");
  }
  const under = (text: string) =>
    text
      .split("/etc/kubernetes")
      .join(join(root, "etc/kubernetes"))
      .split("/etc/kubeadm-ha")
      .join(join(root, "etc/kubeadm-ha"))
      .split("/var/lib/kubeadm-ha")
      .join(join(root, "var/lib/kubeadm-ha"))
      .split("/mnt/share")
      .join(join(root, "mnt/share"));
  writeFileSync(join(root, BACKUP_CONFIG), under(s.destination ?? config));
  if (s.credentials) writeFileSync(join(root, BACKUP_CREDENTIALS), s.credentials, { mode: 0o600 });
  const path = join(root, "kubeadm-ha-etcd-backup");
  writeFileSync(path, under(s.external ? externalScript : script));
  chmodSync(path, 0o755);
  // The Lease's kubectl of the certificates' stand-ins, but none of their others (curl is the real one: the s3 destination's).
  const bin = join(root, "bin");
  mkdirSync(bin);
  symlinkSync(join(ROOT, "test/fixtures/certificates-standins/kubectl"), join(bin, "kubectl"));
  const env = { ...process.env, PATH: `${join(ROOT, "test/fixtures/backup-standins")}:${bin}:${process.env.PATH}`, STANDIN_STATE: state, KUBEADM_HA_BACKUP_TIMEOUT_S: "10" };
  return {
    run: (...args: string[]) => spawnSync("bash", [path, ...args], { encoding: "utf8", env }),
    /** The script started now, in the background (a save taking `saveS` seconds); its status and output once it ends. */
    start: (saveS: number, ...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("bash", [path, ...args], { env: { ...env, STANDIN_SAVE_S: String(saveS) } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
      }),
    lease: () => (existsSync(join(state, "lease")) ? JSON.parse(readFileSync(join(state, "lease"), "utf8")) : undefined),
    snapshots: () => (existsSync(join(share, "lab")) ? readdirSync(join(share, "lab")).sort() : []),
    staged: () => (existsSync(join(root, BACKUP_STAGING)) ? readdirSync(join(root, BACKUP_STAGING)) : []),
    calls: () => readFileSync(join(state, "calls"), "utf8").split("\n").filter(Boolean),
  };
}

test("a cluster without a snapshot yet: the master that gets the Lease takes one, checked, sent, recorded, and lets the Lease go", () => {
  const m = master();
  const r = m.run("snapshot-if-due");
  assert.equal(r.status, 0, r.stderr);
  const [taken] = m.snapshots();
  assert.match(taken, /^\d{8}T\d{6}Z-lab-master-1\.db$/);
  assert.match(r.stdout, new RegExp(`^snapshot=lab/${taken}$`, "m"));
  assert.match(r.stdout, /revision 42, 7 keys/);
  const lease = m.lease();
  assert.equal(lease.spec.holderIdentity, "");
  assert.match(lease.metadata.annotations[LAST_SNAPSHOT_ANNOTATION], new RegExp(`^\\d+ lab/${taken}$`));
  assert.deepEqual(m.staged(), [], "nothing left in the staging folder");
});

test("its timer and a pulumi up step starting together on one master: one snapshot, checked, and both report it", async () => {
  const m = master();
  const [timer, step] = await Promise.all([m.start(1, "snapshot-if-due"), m.start(1, "snapshot-if-due")]);
  assert.equal(timer.status, 0, timer.stderr);
  assert.equal(step.status, 0, step.stderr);
  const [taken, ...more] = m.snapshots();
  assert.deepEqual(more, [], "one snapshot, not one each");
  for (const r of [timer, step]) assert.match(r.stdout, new RegExp(`^snapshot=lab/${taken}$`, "m"));
  assert.match(timer.stdout + step.stdout, /was just taken on this master/);
  assert.equal(m.lease().spec.holderIdentity, "");
  assert.deepEqual(m.staged(), [], "nothing left in the staging folder");
});

test("a snapshot younger than the interval: nothing is taken and the Lease is not touched", () => {
  const m = master({ lease: { holder: "", renewedSecondsAgo: 100, lastSnapshotSecondsAgo: EVERY_S / 3 } });
  const r = m.run("snapshot-if-due");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /not due/);
  assert.deepEqual(m.snapshots(), []);
  assert.ok(!m.calls().some((c) => /create|replace/.test(c)));
});

test("another master taking one (its Lease renewed lately): this master leaves it to it", () => {
  const m = master({ lease: { holder: "lab-master-0", renewedSecondsAgo: 30, lastSnapshotSecondsAgo: 2 * EVERY_S } });
  const r = m.run("snapshot-if-due");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /lab-master-0 is taking a snapshot/);
  assert.deepEqual(m.snapshots(), []);
  assert.equal(m.lease().spec.holderIdentity, "lab-master-0");
});

test("a Lease its holder left (not renewed for longer than it lasts): taken over, and the snapshot taken", () => {
  const m = master({ lease: { holder: "lab-master-0", renewedSecondsAgo: 3600, lastSnapshotSecondsAgo: 2 * EVERY_S } });
  const r = m.run("snapshot-if-due");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(m.snapshots().length, 1);
});

test("a member that is not healthy takes no snapshot, fails saying so, and lets the Lease go for another master", () => {
  const m = master({ unhealthy: true });
  const r = m.run("snapshot-if-due");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /etcd member is not healthy: no snapshot from it/);
  assert.deepEqual(m.snapshots(), []);
  assert.equal(m.lease().spec.holderIdentity, "");
});

test("with an external etcd, a master takes the snapshot from the first member that answers healthy, with the apiservers' client certificate", () => {
  const m = master({ external: true, unhealthyMembers: ["10.0.0.30"] });
  const r = m.run("snapshot-if-due");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(m.snapshots().length, 1);
  assert.match(r.stdout, /from https:\/\/10\.0\.0\.31:2379/);
  const save = m.calls().find((c) => / snapshot save /.test(c))!;
  assert.match(save, /registry\.k8s\.io\/etcd:3\.6\.5-0 .* etcdctl --endpoints=https:\/\/10\.0\.0\.31:2379 .*--cert=\S*\/etc\/kubernetes\/pki\/apiserver-etcd-client\.crt /);
  assert.equal(m.lease().spec.holderIdentity, "");
});

test("with an external etcd, a master without the etcd image pulls kubeadm's for its release before it runs etcdctl", () => {
  const m = master({ external: true, imageMissing: true });
  const r = m.run("snapshot");
  assert.equal(r.status, 0, r.stderr);
  const calls = m.calls();
  const pulled = calls.findIndex((c) => c === "ctr -n k8s.io images pull registry.k8s.io/etcd:3.6.5-0");
  assert.ok(pulled >= 0, calls.join("\n"));
  assert.ok(calls.findIndex((c) => / run --rm /.test(c)) > pulled);
});

test("with an external etcd and no member healthy, no snapshot is taken; it fails naming the members and lets the Lease go", () => {
  const m = master({ external: true, unhealthyMembers: ["10.0.0.30", "10.0.0.31", "10.0.0.32"] });
  const r = m.run("snapshot-if-due");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no external etcd member is healthy \(lab-etcd-0, lab-etcd-1, lab-etcd-2\): no snapshot from it/);
  assert.deepEqual(m.snapshots(), []);
  assert.equal(m.lease().spec.holderIdentity, "");
});

test("snapshots older than keepDays are pruned after a new one, the others kept", () => {
  const old = snapshotName("lab", new Date(Date.now() - 8 * 86400_000), "lab-master-0");
  const recent = snapshotName("lab", new Date(Date.now() - 6 * 86400_000), "lab-master-2");
  const m = master({ existing: [old, recent] });
  const r = m.run("snapshot", "on demand, before a change");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /on demand, before a change/);
  const left = m.snapshots();
  assert.equal(left.length, 2);
  assert.ok(left.includes(recent.split("/")[1]) && !left.includes(old.split("/")[1]));
});

test("the masters cannot list or fetch the bucket they may only add to: the script says how to get a snapshot", () => {
  const m = master({ destination: "CLUSTER='lab'\nEVERY_S='900'\nKEEP_DAYS='7'\nDESTINATION='gcs'\nBUCKET='lab-etcd-backups-1a2b3c4d'\n" });
  const r = m.run("list");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /may only add snapshots to the gcs bucket lab-etcd-backups-1a2b3c4d; read it with your own credentials/);
});

// The s3 destination against a real S3-compatible server (the Versity S3 Gateway, built by
// npm run toolchain), which checks each request's SigV4 signature as AWS S3, MinIO or Ceph do.
const S3 = { bucket: "etcd-backups", region: "lab-1", accessKeyId: "labbackups", secretAccessKey: "lab-secret-key-0123456789" };
let gateway: { url: string; folder: string; stop: () => void } | undefined;
const S3_SKIP = toolchainSkip(["versitygw"]);
before(async () => {
  if (S3_SKIP) return;
  const folder = tempDir("kubeadm-ha-s3-");
  mkdirSync(join(folder, S3.bucket));
  const port = await freePort();
  const child = spawn(tool("versitygw"), ["--port", `127.0.0.1:${port}`, "--access", S3.accessKeyId, "--secret", S3.secretAccessKey, "--region", S3.region, "posix", folder], {
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  // Up once it answers (any HTTP status: an unsigned request is refused).
  const deadline = Date.now() + 30_000;
  while (spawnSync("curl", ["-s", "-o", "/dev/null", url]).status !== 0) {
    if (Date.now() > deadline) throw new Error(`versitygw did not answer at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  gateway = { url, folder, stop: () => child.kill() };
});
after(() => gateway?.stop());

const s3Destination = () => backupConfig(planForS3(), { kind: "s3", bucket: S3.bucket, region: S3.region, endpoint: gateway!.url, credentials: "keys" });
function planForS3() {
  return planCluster(
    labHostsConfig({
      backups: {
        every: "15m",
        keepDays: 7,
        destination: "s3",
        s3: { endpoint: "http://127.0.0.1:9000", bucket: S3.bucket, region: S3.region, accessKeyId: S3.accessKeyId, secretAccessKey: S3.secretAccessKey },
      },
    }),
  );
}
const onGateway = () => (existsSync(join(gateway!.folder, S3.bucket, "lab")) ? readdirSync(join(gateway!.folder, S3.bucket, "lab")).sort() : []);

test("an S3-compatible endpoint with the stack's keys: the snapshot is signed, sent, listed, fetched back and old ones pruned", { skip: S3_SKIP }, () => {
  const old = snapshotName("lab", new Date(Date.now() - 8 * 86400_000), "lab-master-0");
  mkdirSync(join(gateway!.folder, S3.bucket, "lab"), { recursive: true });
  writeFileSync(join(gateway!.folder, S3.bucket, old), "an old snapshot");
  const m = master({ destination: s3Destination(), credentials: backupCredentials(S3.accessKeyId, S3.secretAccessKey) });
  const r = m.run("snapshot", "on demand");
  assert.equal(r.status, 0, r.stderr);
  const taken = r.stdout.match(/^snapshot=(\S+)$/m)![1];
  assert.match(r.stdout, /sent to the s3 destination: revision 42/);
  assert.match(r.stdout, new RegExp(`pruned ${old}`));
  assert.deepEqual(onGateway(), [taken.split("/")[1]], "the new snapshot there, the old one gone");
  const listed = m.run("list");
  assert.equal(listed.status, 0, listed.stderr);
  assert.equal(listed.stdout.trim(), taken);
  const file = join(tempDir("kubeadm-ha-fetch-"), "restore.db");
  const fetched = m.run("fetch", taken, file);
  assert.equal(fetched.status, 0, fetched.stderr);
  assert.equal(readFileSync(file, "utf8"), "etcd snapshot\n");
});

test("keys the endpoint does not know: it refuses the signature, and the snapshot fails saying where it could not go", { skip: S3_SKIP }, () => {
  const before = onGateway();
  const m = master({ destination: s3Destination(), credentials: backupCredentials(S3.accessKeyId, "not-the-secret-key") });
  const r = m.run("snapshot", "on demand");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /could not send lab\/\S+ to the s3 destination/);
  assert.deepEqual(onGateway(), before);
  assert.equal(m.lease().spec.holderIdentity, "", "the Lease let go for another master");
});
