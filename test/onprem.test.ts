// Hosts you own (platform static): config rules for the endpoint modes, and the
// onprem-vip / onprem-local-proxy renders: no cloud resource, every file over SSH,
// haproxy (and keepalived) on the right machines, exactly as the lab runs them.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { readFileSync, readdirSync, writeFileSync } from "fs";
import { join } from "path";
import { bootConfigOf, commandOf, file, named, problemsOf, renderInChild, renderOnce, ROOT, tempDir } from "./helpers";
import { createServer, AddressInfo } from "net";
import { RenderedResource, RenderResult } from "../render/render";
import { firstAnswering } from "../components/control-plane-host";
import { validateClusterConfig } from "../components/config/validate";

let r: RenderResult;
before(async () => {
  r = await renderOnce("onprem-vip");
});

const MASTERS = ["dc1-master-0", "dc1-master-1", "dc1-master-2"];
const WORKERS = ["dc1-worker-0", "dc1-worker-1"];

const hosts = {
  masters: [0, 1, 2].map((i) => ({ name: `m${i}`, address: `10.103.97.${200 + i}` })),
  workers: [{ name: "w0", address: "10.103.97.210" }],
};
const base = () => ({ platform: "static", hosts, network: { nodeCidr: "10.103.97.0/24", serviceCidr: "10.112.0.0/12" }, endpoint: { mode: "vip", vip: "10.103.97.2" } });
const problems = (raw: Record<string, unknown>) => problemsOf(() => validateClusterConfig(raw, "dc1"));

test("a VIP is refused on GCP and AWS, saying why", () => {
  for (const [platform, region, zones] of [
    ["gcp", "europe-west1", ["europe-west1-b", "europe-west1-c", "europe-west1-d"]],
    ["aws", "us-east-1", ["us-east-1a", "us-east-1b", "us-east-1c"]],
  ] as const) {
    const p = problems({ platform, region, zones, adminCidrs: ["198.51.100.0/24"], endpoint: { mode: "vip", vip: "10.10.0.2" } }).find((x) => x.key === "kubeadm-ha:endpoint.mode");
    assert.ok(p && /gratuitous ARP and VRRP/.test(p.message) && /cloud-lb/.test(p.fix), JSON.stringify(p));
  }
});

test("static hosts have no cloud load balancer", () => {
  assert.ok(problems({ ...base(), endpoint: { mode: "cloud-lb" } }).some((x) => x.key === "kubeadm-ha:endpoint.mode" && /vip|local-proxy/.test(x.fix)));
});

test("the VIP must be a free address of the hosts' segment", () => {
  assert.ok(problems({ ...base(), endpoint: { mode: "vip", vip: "10.103.97.201" } }).some((x) => x.key === "kubeadm-ha:endpoint.vip" && /host's own address/.test(x.message)));
  assert.ok(problems({ ...base(), endpoint: { mode: "vip", vip: "192.0.2.1" } }).some((x) => x.key === "kubeadm-ha:endpoint.vip" && /outside network.nodeCidr/.test(x.message)));
  assert.ok(problems({ ...base(), endpoint: { mode: "vip" } }).some((x) => x.key === "kubeadm-ha:endpoint.vip"));
});

test("static hosts: an odd number of masters, unique names and addresses, inside nodeCidr", () => {
  assert.ok(problems({ ...base(), hosts: { ...hosts, masters: hosts.masters.slice(0, 2) } }).some((x) => x.key === "kubeadm-ha:hosts.masters"));
  assert.ok(problems({ ...base(), hosts: { ...hosts, workers: [{ name: "w0", address: "10.103.97.200" }] } }).some((x) => x.key === "kubeadm-ha:hosts.workers[0].address"));
  assert.ok(problems({ ...base(), hosts: { ...hosts, workers: [{ name: "w0", address: "10.9.9.9" }] } }).some((x) => /outside network.nodeCidr/.test(x.message)));
});

test("the onprem stacks create no cloud resource: only keys, certificates, the token and SSH steps (and read their own last outputs)", () => {
  const types = new Set(r.resources.map((x) => x.type.split(":")[0]));
  assert.deepEqual([...types].sort(), ["command", "kubeadm-ha", "pulumi", "random", "tls"]);
  assert.deepEqual(
    r.resources.filter((x) => x.type.startsWith("pulumi:")).map((x) => x.type),
    ["pulumi:pulumi:StackReference"],
  );
});

test("every machine is prepared over SSH from files the render shows, then joins", () => {
  for (const m of [...MASTERS, ...WORKERS]) {
    assert.match(file(r, `${m}/commands/prepare.sh`), /kubeadm-ha-prepare\n/);
    // kubeadm, kubelet and kubectl of the stack's release, pinned and held.
    assert.match(file(r, `${m}/usr/local/sbin/kubeadm-ha-prepare`), /pinned\+=\("\$p=1\.34\.2-1\.1"\)[^]*apt-mark hold "\$@"[^]*install_kubernetes kubeadm kubelet kubectl/);
  }
  // After the validation, once the bootstrap token it joins with is in the cluster.
  assert.ok(named(r, "dc1-control-plane-bootstrap-token").dependencies.some((u) => u.endsWith("::dc1-control-plane-validate")));
  for (const w of WORKERS)
    assert.ok(
      named(r, `${w}-join`).dependencies.some((u) => u.endsWith("::dc1-control-plane-bootstrap-token")),
      `${w} joins before its token is in the cluster`,
    );
});

test("vip: haproxy and keepalived on the masters only; the endpoint is the VIP on 8443, in the certificate", () => {
  for (const m of MASTERS) {
    assert.match(file(r, `${m}/etc/haproxy/haproxy.cfg`), /bind \*:8443/);
    const ka = file(r, `${m}/etc/keepalived/keepalived.conf`);
    assert.match(ka, /10\.103\.97\.2\/24 dev eth0/);
    const peers = ka.split("unicast_peer {")[1].split("}")[0].trim().split(/\s+/);
    assert.deepEqual(
      peers.sort(),
      MASTERS.filter((x) => x !== m)
        .map((x) => `10.103.97.${200 + Number(x.slice(-1))}`)
        .sort(),
    );
  }
  for (const w of WORKERS) assert.ok(!r.files.some((f) => f.path.startsWith(`${w}/etc/haproxy`)));
  const init = file(r, "dc1-master-0/etc/kubeadm-ha/kubeadm-init.yaml");
  assert.match(init, /controlPlaneEndpoint: api\.dc1\.internal:8443/);
  assert.match(init, /- 10\.103\.97\.2\n/);
  assert.match(init, /bindPort: 6443/);
});

test("local-proxy: haproxy on 127.0.0.1:16443 on every node, the endpoint name at 127.0.0.1, and the address in the certificate", async () => {
  const out = (await renderInChild("onprem-local-proxy")).dir;
  for (const m of readdirSync(join(out, "files")).filter((x) => !x.endsWith("-control-plane"))) {
    assert.match(readFileSync(join(out, "files", m, "etc/haproxy/haproxy.cfg"), "utf8"), /bind 127\.0\.0\.1:16443/);
    assert.match(readFileSync(join(out, "files", m, "commands/prepare.sh"), "utf8"), /kubeadm-ha-set-endpoint 127\.0\.0\.1\n/);
    assert.ok(!readdirSync(join(out, "files", m, "etc")).includes("keepalived"));
  }
  const init = readFileSync(join(out, "files/dc1-master-0/etc/kubeadm-ha/kubeadm-init.yaml"), "utf8");
  assert.match(init, /controlPlaneEndpoint: api\.dc1\.internal:16443/);
  assert.match(init, /- 127\.0\.0\.1\n/);
});

test("the rendered endpoint configs pass haproxy -c and keepalived --config-test", () => {
  const dir = tempDir("onprem-cfg-");
  const check = join(dir, "check.sh");
  writeFileSync(check, file(r, "dc1-master-0/etc/keepalived/check-apiserver-proxy.sh"), { mode: 0o755 });
  for (const m of MASTERS) {
    const hap = join(dir, `${m}.cfg`);
    writeFileSync(hap, file(r, `${m}/etc/haproxy/haproxy.cfg`));
    const h = spawnSync("haproxy", ["-c", "-f", hap], { encoding: "utf8" });
    assert.equal(h.status, 0, h.stdout + h.stderr);
    const ka = join(dir, `${m}.conf`);
    writeFileSync(ka, file(r, `${m}/etc/keepalived/keepalived.conf`).replace("/etc/keepalived/check-apiserver-proxy.sh", check));
    const k = spawnSync("keepalived", ["--config-test", "-f", ka], { encoding: "utf8" });
    assert.equal(k.status, 0, k.stdout + k.stderr);
  }
});

test("local-proxy works on GCP and AWS too: no cloud load balancer, haproxy on every node from its boot config", async () => {
  const dir = tempDir("lp-clouds-");
  const clouds = [
    ["gcp-three-zone", "gcp"],
    ["aws-three-az", "aws"],
  ];
  for (const [stack, cloud] of clouds)
    writeFileSync(join(dir, `Pulumi.${cloud}-lp.yaml`), readFileSync(join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8").replace("    mode: cloud-lb", "    mode: local-proxy"));
  // Both renders side by side, each in its own process (or from the render cache).
  const renders = await Promise.all(clouds.map(([, cloud]) => renderInChild(`${cloud}-lp`, dir)));
  for (const [i, [, cloud]] of clouds.entries()) {
    const { dir: out, resources } = renders[i];
    assert.ok(!resources.some((x) => /regionBackendService|forwardingRule|aws:lb\/|route53/.test(x.type)), `${cloud}: a load balancer was created`);
    for (const m of readdirSync(join(out, "files")).filter((x) => !x.endsWith("-bastion") && !x.endsWith("-control-plane"))) {
      const boot = bootConfigOf(readFileSync(join(out, "files", m, "cloud-init.yaml"), "utf8"));
      assert.ok(
        boot.write_files?.some((f) => /^\s*bind 127\.0\.0\.1:16443$/m.test(f.content)),
        `${cloud} ${m}: no haproxy listening on 127.0.0.1:16443`,
      );
      assert.deepEqual(commandOf(boot, "/usr/local/sbin/kubeadm-ha-endpoint"), ["/usr/local/sbin/kubeadm-ha-endpoint"], `${cloud} ${m}`);
      const check = spawnSync("cloud-init", ["schema", "--config-file", join(out, "files", m, "cloud-init.yaml")], { encoding: "utf8" });
      assert.equal(check.status, 0, check.stdout + check.stderr);
    }
  }
});

test("vip: the steps that need any one healthy master connect to the VIP, which keepalived keeps on a master whose apiserver answers", () => {
  const steps = r.resources.filter((x) => x.type === "command:remote:Command" && x.name.startsWith("dc1-control-plane-"));
  assert.ok(steps.length >= 5);
  for (const step of steps) assert.equal(step.sshTarget?.host, "10.103.97.2", step.name);
  assert.match(file(r, "dc1-master-0/etc/keepalived/keepalived.conf"), /track_script/);
});

test("local-proxy: the steps that need any one healthy master connect to the first master that answers SSH when pulumi runs", async () => {
  const out = (await renderInChild("onprem-local-proxy")).dir;
  const resources = JSON.parse(readFileSync(join(out, "resources.json"), "utf8")) as RenderedResource[];
  const masters = JSON.parse(readFileSync(join(out, "outputs.json"), "utf8")).masters as Array<{ address: string }>;
  // The offline render probes nothing: the first master, as a run with every master up picks;
  // never the master a membership or removal step is about (it may be the one lost).
  for (const step of resources.filter((x) => x.name.startsWith("dc1-control-plane-") && x.type === "command:remote:Command")) {
    assert.equal(step.sshTarget?.host, masters[/-(etcd-member|remove)-dc1-master-0$/.test(step.name) ? 1 : 0].address, step.name);
  }

  // When pulumi runs, a master that refuses or does not answer is passed over.
  const server = createServer((s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    assert.equal(await firstAnswering(["127.0.0.2", "192.0.2.1", "127.0.0.1"], port, 300), "127.0.0.1");
    assert.equal(await firstAnswering(["127.0.0.1", "127.0.0.2"], port, 300), "127.0.0.1");
  } finally {
    server.close();
  }
});
