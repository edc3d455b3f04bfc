// The rendered kubeadm-ha-certificates script decides on a master whether its control-plane
// certificates are renewed, and renews one master at a time across the cluster. These tests
// run it for real (bash, the rendered text) with the master's paths under a temporary root
// and named stand-ins (test/fixtures/certificates-standins): kubeadm lists expiries from a
// file, kubectl keeps the one Lease as the API would (a create refused while it exists, a
// replace refused on a stale resourceVersion), curl plays the kubelet (a static pod answers
// while its manifest is in place). The lab runs the same script with the real programs.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { renderInChild, ROOT, tempDir } from "./helpers";
import { CERTIFICATES_SCRIPT, PARKED_MANIFESTS } from "../components/plan/certificates";
import { paths } from "../components/plan/scripts";

let script: string;
before(async () => {
  const r = await renderInChild("lab-vip");
  script = readFileSync(join(r.dir, "files/lab-master-0", CERTIFICATES_SCRIPT), "utf8");
});

const DAY = 86400;
/** Inside the lab stack's renewal window (renewBefore: 30m). */
const DUE = 600;
const PODS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/** A master whose certificates have `residual` seconds left; renewed, they get `validity`. */
function master(s: { residual: number; validity?: number; lease?: { holder: string; renewedSecondsAgo: number }; parked?: string[]; newManifests?: Record<string, string> }) {
  const root = tempDir("kubeadm-ha-certificates-");
  const state = join(root, "state");
  const manifests = join(root, "etc/kubernetes/manifests");
  const parked = join(root, PARKED_MANIFESTS);
  mkdirSync(manifests, { recursive: true });
  mkdirSync(parked, { recursive: true });
  mkdirSync(state);
  for (const pod of PODS) writeFileSync(join(s.parked?.includes(pod) ? parked : manifests, `${pod}.yaml`), `# ${pod}\n`);
  writeFileSync(join(state, "residual"), String(s.residual));
  writeFileSync(join(state, "validity"), String(s.validity ?? 365 * DAY));
  writeFileSync(join(state, "calls"), "");
  for (const [pod, content] of Object.entries(s.newManifests ?? {})) writeFileSync(join(state, `new-${pod}`), content);
  if (s.lease) {
    const renewed = new Date(Date.now() - s.lease.renewedSecondsAgo * 1000).toISOString().replace("Z", "000Z");
    writeFileSync(
      join(state, "lease"),
      JSON.stringify({ metadata: { name: "kubeadm-ha-certificates", resourceVersion: "7" }, spec: { holderIdentity: s.lease.holder, renewTime: renewed } }),
    );
  }
  const path = join(root, "kubeadm-ha-certificates");
  writeFileSync(
    path,
    script
      .split("/etc/kubernetes")
      .join(join(root, "etc/kubernetes"))
      .split("/etc/kubeadm-ha")
      .join(join(root, "etc/kubeadm-ha"))
      .split(paths.waitMember)
      .join("kubeadm-ha-wait-member"),
  );
  chmodSync(path, 0o755);
  return {
    run: (action = "renew-if-due") =>
      spawnSync("bash", [path, action], {
        encoding: "utf8",
        env: {
          ...process.env,
          PATH: `${join(ROOT, "test/fixtures/certificates-standins")}:${process.env.PATH}`,
          STANDIN_STATE: state,
          STANDIN_MANIFESTS: manifests,
          KUBEADM_HA_LEASE_WAIT_S: "3",
          KUBEADM_HA_CERTIFICATES_TIMEOUT_S: "5",
        },
      }),
    calls: () => readFileSync(join(state, "calls"), "utf8").split("\n").filter(Boolean),
    /** What changed the cluster or the master: renewals, Lease writes, pods stopped and started. */
    writes: () =>
      readFileSync(join(state, "calls"), "utf8")
        .split("\n")
        .filter((l) => /^kubeadm (certs renew|init phase upload-config)|kubectl .*(create|replace|delete)|^(stopped|started) /.test(l)),
    manifest: (pod: string) => readFileSync(join(manifests, `${pod}.yaml`), "utf8"),
    lease: () => (existsSync(join(state, "lease")) ? JSON.parse(readFileSync(join(state, "lease"), "utf8")) : undefined),
    manifests: () => readdirSync(manifests).sort(),
    parked: () => readdirSync(parked),
  };
}

const RESTARTS = PODS.flatMap((p) => [`stopped ${p}`, `started ${p}`]);

test("certificates outside the renewal window are left alone: no Lease, no renewal, no restart", () => {
  const m = master({ residual: 200 * DAY });
  const r = m.run();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /lab-master-0: not due: apiserver expires first, \S+, outside the renewal window of 0h30m/);
  assert.match(r.stdout, /^earliest-expiry=\d{4}-\d\d-\d\dT/m);
  assert.deepEqual(m.writes(), []);
});

test("due certificates are renewed under the cluster's Lease, each static pod restarted and healthy before the next, then the Lease released", () => {
  const m = master({ residual: DUE });
  const r = m.run();
  assert.equal(r.status, 0, r.stderr);
  const writes = m.writes();
  assert.match(writes[0], /^kubectl -n kube-system create -f -$/);
  assert.match(writes[1], /^kubeadm certs renew all --config \S+\/etc\/kubeadm-ha\/certificates\.yaml$/);
  assert.deepEqual(writes.slice(2, 2 + RESTARTS.length), RESTARTS);
  assert.match(writes[writes.length - 1], /kubectl -n kube-system delete lease kubeadm-ha-certificates/);
  // The cluster is healthy before the master gives up a member, and again before the Lease goes.
  const calls = m.calls();
  const waits = calls.flatMap((c, i) => (c.startsWith("wait-member lab-master-0") ? [i] : []));
  assert.equal(waits.length, 2);
  assert.ok(waits[0] < calls.indexOf("stopped etcd") && waits[1] > calls.indexOf("started kube-scheduler"));
  assert.equal(m.lease(), undefined);
  assert.deepEqual(
    m.manifests(),
    PODS.map((p) => `${p}.yaml`),
  );
  assert.match(r.stdout, /earliest-expiry=/);
});

test("one master at a time: while another master holds the Lease, a master renews nothing and says whom it waits for", () => {
  const m = master({ residual: DUE, lease: { holder: "lab-master-1", renewedSecondsAgo: 60 } });
  const r = m.run();
  assert.equal(r.status, 1);
  assert.match(r.stdout, /lab-master-0: waiting while lab-master-1 renews its certificates/);
  assert.match(r.stderr, /the renewal Lease kube-system\/kubeadm-ha-certificates stayed with lab-master-1 for 3s/);
  assert.deepEqual(
    m.writes().filter((w) => !/create -f -/.test(w)),
    [],
  );
  assert.equal(m.lease().spec.holderIdentity, "lab-master-1");
});

test("a Lease left by a master that stopped mid-renewal is taken over once it is older than its duration", () => {
  const m = master({ residual: DUE, lease: { holder: "lab-master-2", renewedSecondsAgo: 3600 } });
  const r = m.run();
  assert.equal(r.status, 0, r.stderr);
  assert.ok(
    m.calls().some((c) => /^kubectl replace -f -/.test(c)),
    "the stale Lease was not taken over",
  );
  assert.ok(m.calls().some((c) => /^kubeadm certs renew all/.test(c)));
  assert.equal(m.lease(), undefined);
});

test("an interrupted renewal is resumed: a manifest it had moved aside goes back first, even when nothing is due any more", () => {
  const m = master({ residual: 300 * DAY, parked: ["kube-apiserver"] });
  const r = m.run();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /putting back kube-apiserver\.yaml, moved aside by an interrupted renewal/);
  assert.deepEqual(
    m.manifests(),
    PODS.map((p) => `${p}.yaml`),
  );
  assert.deepEqual(m.parked(), []);
});

test("certificates that already expired are renewed without the Lease: the API cannot answer on them", () => {
  const m = master({ residual: -3600 });
  const r = m.run();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /expired at \S+: renewing without the cluster's Lease/);
  assert.ok(!m.calls().some((c) => c.startsWith("kubectl")), "kubectl was called with expired certificates");
  assert.ok(m.calls().some((c) => /^kubeadm certs renew all/.test(c)));
  assert.deepEqual(
    m.writes().filter((w) => /^(stopped|started)/.test(w)),
    RESTARTS,
  );
});

test("expiry prints the earliest expiry for the stack output, and changes nothing", () => {
  const m = master({ residual: DUE });
  const r = m.run("expiry");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /lab-master-0: earliest certificate expiry \S+ \(apiserver, in 0d 0h\)\nearliest-expiry=\S+\n$/);
  assert.deepEqual(m.writes(), []);
});

test("a configuration that changes no manifest restarts nothing, and the cluster's kubeadm-config gets it", () => {
  const m = master({ residual: 200 * DAY });
  const r = m.run("reconfigure");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /lab-master-0: the control plane runs on the cluster's configuration already/);
  assert.deepEqual(
    m.writes().map((w) => w.split(" --config")[0]),
    ["kubeadm init phase upload-config kubeadm"],
  );
});

test("a new apiserver flag restarts the apiserver alone, on kubeadm's new manifest, under the cluster's Lease, the master healthy before and after", () => {
  const apiserver = "# kube-apiserver\n# --audit-log-path=/var/log/kubernetes/audit/audit.log\n";
  const m = master({ residual: 200 * DAY, newManifests: { "kube-apiserver": apiserver } });
  const r = m.run("reconfigure");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /kube-apiserver: a new configuration; restarting one master at a time/);
  const writes = m.writes();
  assert.match(writes[0], /^kubectl -n kube-system create -f -$/);
  assert.deepEqual(writes.slice(1, 3), ["stopped kube-apiserver", "started kube-apiserver"]);
  assert.match(writes[3], /^kubeadm init phase upload-config kubeadm/);
  assert.match(writes[4], /kubectl -n kube-system delete lease kubeadm-ha-certificates/);
  assert.equal(m.manifest("kube-apiserver"), apiserver);
  assert.equal(m.manifest("kube-scheduler"), "# kube-scheduler\n", "the others untouched");
  const calls = m.calls();
  const waits = calls.flatMap((c, i) => (c.startsWith("wait-member lab-master-0") ? [i] : []));
  assert.ok(waits.length === 2 && waits[0] < calls.indexOf("stopped kube-apiserver") && waits[1] > calls.indexOf("started kube-apiserver"));
  assert.deepEqual(m.parked(), []);
});

test("while another master restarts, reconfigure waits its turn and changes nothing", () => {
  const m = master({ residual: 200 * DAY, newManifests: { "kube-scheduler": "# new\n" }, lease: { holder: "lab-master-2", renewedSecondsAgo: 30 } });
  const r = m.run("reconfigure");
  assert.equal(r.status, 1);
  assert.match(r.stdout, /waiting while lab-master-2 renews its certificates/);
  assert.equal(m.manifest("kube-scheduler"), "# kube-scheduler\n");
});
