// The air-gapped install and the settings hosts that are containers need: validation of
// kubernetes.packages / cni bridge / kubelet, containerd and kube-proxy keys against what
// consumes them, and what the prepare step and kubeadm configs become.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "child_process";
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { parse, stringify } from "yaml";
import { fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { readStackFile } from "../render/render";
import { fakeBundle, problemsOf, renderInChild, ROOT, tempDir } from "./helpers";

const LAB = "lab-vip";
const labConfig = () => readStackFile(join(ROOT, "stacks"), LAB).config;

/** The lab stack with `edit` applied to its raw (parsed) config. */
function labWith(edit: (raw: Record<string, any>) => void, stack = LAB) {
  const raw = fromRawConfig(labConfig()) as Record<string, any>;
  edit(raw);
  return () => validateClusterConfig(raw, stack);
}

const keysOf = (f: () => unknown) => problemsOf(f).map((p) => p.key);

test("an air-gapped bundle on a cloud platform is refused, naming kubernetes.packages.source", () => {
  const p = problemsOf(
    labWith((r) => {
      r.platform = "gcp";
      delete r.hosts;
      r.region = "europe-west1";
      r.zones = ["europe-west1-b", "europe-west1-c", "europe-west1-d"];
      r.endpoint = {};
      r.kubernetes.cni = { name: "none" };
    }),
  );
  const source = p.find((x) => x.key === "kubeadm-ha:kubernetes.packages.source");
  assert.ok(source, JSON.stringify(p));
  assert.match(source!.fix, /repository/);
});

test("a bundle needs exactly one of a folder and a URL", () => {
  assert.deepEqual(keysOf(labWith((r) => delete r.kubernetes.packages.url)), ["kubeadm-ha:kubernetes.packages.path"]);
  const both = problemsOf(labWith((r) => (r.kubernetes.packages.path = fakeBundle("1.34.2"))));
  assert.deepEqual(
    both.map((p) => p.key),
    ["kubeadm-ha:kubernetes.packages.url"],
  );
  assert.match(both[0].message, /not both/);
});

test("bundle settings with the repository source are refused, not ignored", () => {
  const p = problemsOf(labWith((r) => (r.kubernetes.packages.source = "repository")));
  assert.deepEqual(
    p.map((x) => x.key),
    ["kubeadm-ha:kubernetes.packages.url"],
  );
  assert.match(p[0].fix, /source: bundle/);
});

test("a bundle folder that does not exist is refused with the command that makes one", () => {
  const p = problemsOf(
    labWith((r) => {
      delete r.kubernetes.packages.url;
      r.kubernetes.packages.path = "/nonexistent/kubeadm-ha-bundle";
    }),
  );
  assert.equal(p.length, 1);
  assert.equal(p[0].key, "kubeadm-ha:kubernetes.packages.path");
  assert.match(p[0].message, /does not exist/);
  assert.match(p[0].fix, /npm run bundle -- --out/);
});

test("a bundle folder of another Kubernetes release is refused, naming both releases", () => {
  const dir = fakeBundle("1.33.5");
  const p = problemsOf(
    labWith((r) => {
      delete r.kubernetes.packages.url;
      r.kubernetes.packages.path = dir;
    }),
  );
  assert.equal(p.length, 1);
  assert.equal(p[0].key, "kubeadm-ha:kubernetes.packages.path");
  assert.match(p[0].message, /1\.33\.5/);
  assert.match(p[0].message, /1\.34\.2/);
});

test("a bundle folder of the configured release is accepted", () => {
  const dir = fakeBundle("1.34.2");
  const c = labWith((r) => {
    delete r.kubernetes.packages.url;
    r.kubernetes.packages.path = dir;
  })();
  assert.equal(c.kubernetes.packages.path, dir);
});

test("a CNI applied from the internet is refused with an air-gapped bundle; bridge is refused on clouds", () => {
  const calico = problemsOf(labWith((r) => (r.kubernetes.cni = { name: "calico" })));
  assert.deepEqual(
    calico.map((p) => p.key),
    ["kubeadm-ha:kubernetes.cni.name"],
  );
  assert.match(calico[0].fix, /bridge/);
  const version = problemsOf(labWith((r) => (r.kubernetes.cni = { name: "bridge", version: "1.0.0" })));
  assert.deepEqual(
    version.map((p) => p.key),
    ["kubeadm-ha:kubernetes.cni.version"],
  );
});

test("kubelet, containerd and kube-proxy values the consumers reject are refused at their key", () => {
  assert.deepEqual(keysOf(labWith((r) => (r.kubernetes.kubelet.evictionHard = { "disk.available": "1%" }))), ["kubeadm-ha:kubernetes.kubelet.evictionHard.disk.available"]);
  assert.deepEqual(keysOf(labWith((r) => (r.kubernetes.kubelet.evictionHard = { "nodefs.available": "ten percent" }))), [
    "kubeadm-ha:kubernetes.kubelet.evictionHard.nodefs.available",
  ]);
  assert.deepEqual(keysOf(labWith((r) => (r.kubernetes.kubelet.imageGCHighThresholdPercent = 101))), ["kubeadm-ha:kubernetes.kubelet.imageGCHighThresholdPercent"]);
  assert.deepEqual(keysOf(labWith((r) => (r.kubernetes.kubeProxy.conntrackMaxPerCore = -1))), ["kubeadm-ha:kubernetes.kubeProxy.conntrackMaxPerCore"]);
  assert.deepEqual(keysOf(labWith((r) => (r.kubernetes.containerd.restrictOomScoreAdj = "yes"))), ["kubeadm-ha:kubernetes.containerd.restrictOomScoreAdj"]);
  assert.deepEqual(keysOf(labWith((r) => (r.hosts.workers[0].labels = { "kubernetes.io/role": "x" }))), ["kubeadm-ha:hosts.workers[0].labels.kubernetes.io/role"]);
});

test("the lab stack's host settings reach kubeadm's KubeletConfiguration and KubeProxyConfiguration", async () => {
  const r = await renderInChild(LAB);
  const docs = readFileSync(join(r.dir, "files/lab-master-0/etc/kubeadm-ha/kubeadm-init.yaml"), "utf8")
    .split(/^---$/m)
    .map((d) => parse(d));
  const kubelet = docs.find((d) => d.kind === "KubeletConfiguration");
  assert.equal(kubelet.failCgroupV1, false);
  assert.deepEqual(kubelet.evictionHard, { "nodefs.available": "0%", "imagefs.available": "0%", "nodefs.inodesFree": "0%" });
  assert.equal(kubelet.imageGCHighThresholdPercent, 100);
  assert.ok(kubelet.imageGCLowThresholdPercent < 100);
  assert.deepEqual(docs.find((d) => d.kind === "KubeProxyConfiguration").conntrack, { maxPerCore: 0 });
  const init = docs.find((d) => d.kind === "InitConfiguration");
  assert.equal(init.nodeRegistration.kubeletExtraArgs.find((a: { name: string }) => a.name === "node-labels").value, "topology.kubernetes.io/zone=zone-a");
});

test("the default stacks keep the kubelet's and kube-proxy's own defaults", async () => {
  const r = await renderInChild("onprem-vip");
  const docs = readFileSync(join(r.dir, "files/dc1-master-0/etc/kubeadm-ha/kubeadm-init.yaml"), "utf8")
    .split(/^---$/m)
    .map((d) => parse(d));
  const kubelet = docs.find((d) => d.kind === "KubeletConfiguration");
  for (const k of ["failCgroupV1", "evictionHard", "imageGCHighThresholdPercent"]) assert.equal(kubelet[k], undefined, k);
  assert.equal(
    docs.find((d) => d.kind === "KubeProxyConfiguration"),
    undefined,
  );
  const prepare = readFileSync(join(r.dir, "files/dc1-master-0/usr/local/sbin/kubeadm-ha-prepare"), "utf8");
  assert.match(prepare, /pkgs\.k8s\.io/);
  assert.doesNotMatch(prepare, /restrict_oom_score_adj = true|conf_template/);
});

test("from a bundle URL, the prepare step checks the release and every file's digest, and imports kubeadm's and the extra images", async () => {
  const r = await renderInChild(LAB);
  const prepare = readFileSync(join(r.dir, "files/lab-worker-0/usr/local/sbin/kubeadm-ha-prepare"), "utf8");
  assert.match(prepare, /src="http:\/\/10\.199\.96\.1:18080"/);
  assert.match(prepare, /the stack wants 1\.34\.2/);
  assert.match(prepare, /sha256sum -c --status/);
  assert.match(prepare, /\(\.images \+ \(\.extraImages \/\/ \[\]\)\)\[\]/);
  assert.doesNotMatch(prepare, /pkgs\.k8s\.io|apt-get update/);
  execFileSync("shellcheck", [join(r.dir, "files/lab-worker-0/usr/local/sbin/kubeadm-ha-prepare"), join(r.dir, "files/lab-worker-0/usr/local/sbin/kubeadm-ha-pod-routes")]);
});

test("a bundle folder is copied to every host over SSH before that host is prepared", async () => {
  const dir = tempDir("airgap-stacks-");
  const bundle = join(fakeBundle("1.34.2"), "kubeadm-ha-bundle");
  mkdirSync(bundle);
  const parent = join(bundle, "..");
  execFileSync("mv", [join(parent, "bundle.json"), bundle]);
  const doc = parse(readFileSync(join(ROOT, "stacks", `Pulumi.${LAB}.yaml`), "utf8"));
  doc.config["kubeadm-ha:kubernetes"].packages = { source: "bundle", path: bundle };
  writeFileSync(join(dir, "Pulumi.lab-folder.yaml"), stringify(doc));
  const r = await renderInChild("lab-folder", dir);
  const copies = r.resources.filter((x) => x.type === "command:remote:CopyToRemote");
  assert.deepEqual(copies.map((c) => c.name).sort(), ["lab-master-0-bundle", "lab-master-1-bundle", "lab-master-2-bundle", "lab-worker-0-bundle", "lab-worker-1-bundle"]);
  for (const c of copies) assert.equal((c.inputs as Record<string, unknown>).remotePath, "/var/tmp/kubeadm-ha-bundle");
  const prepare = r.resources.find((x) => x.name === "lab-worker-0-prepare")!;
  assert.ok(prepare.dependencies.includes(copies.find((c) => c.name === "lab-worker-0-bundle")!.urn), "prepare waits for the copy");
  const script = readFileSync(join(r.dir, "files/lab-worker-0/usr/local/sbin/kubeadm-ha-prepare"), "utf8");
  assert.match(script, /src="\/var\/tmp\/kubeadm-ha-bundle\/kubeadm-ha-bundle"/);
});

test("a node monitor grace period reaches kube-controller-manager, and one below two Lease renewals is refused", async () => {
  const p = problemsOf(labWith((r) => (r.kubernetes.controllerManager = { nodeMonitorGracePeriodSeconds: 10 })));
  assert.deepEqual(
    p.map((x) => x.key),
    ["kubeadm-ha:kubernetes.controllerManager.nodeMonitorGracePeriodSeconds"],
  );
  assert.match(p[0].fix, /from 20/);
  const r = await renderInChild("lab-local-proxy");
  const init = readFileSync(join(r.dir, "files/lab-master-0/etc/kubeadm-ha/kubeadm-init.yaml"), "utf8");
  assert.match(init, /- name: node-monitor-grace-period\n\s+value: 30s/);
  const vip = await renderInChild(LAB);
  assert.doesNotMatch(readFileSync(join(vip.dir, "files/lab-master-0/etc/kubeadm-ha/kubeadm-init.yaml"), "utf8"), /node-monitor-grace-period/);
});
