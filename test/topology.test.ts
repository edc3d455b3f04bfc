// The GCP three-zone stack, run on the SDK's mock runtime: topology, load balancer,
// firewall, join order and secrets, as `pulumi up` would register them.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { file, inputs, named, ofType, renderOnce } from "./helpers";
import { RenderResult, SECRET } from "../render/render";

let r: RenderResult;
before(async () => {
  r = await renderOnce("gcp-three-zone");
});

const masters = () => ofType(r, "gcp:compute/instance:Instance").filter((x) => inputs(x).labels?.["kubeadm-ha-role"] === "master");

test("control-plane nodes span three zones, one master per zone", () => {
  const ms = masters();
  assert.equal(ms.length, 3);
  assert.deepEqual(ms.map((m) => inputs(m).zone).sort(), ["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
});

test("masters are shielded VMs with minimal scopes and no public address", () => {
  for (const m of masters()) {
    const i = inputs(m);
    assert.deepEqual(i.shieldedInstanceConfig, { enableIntegrityMonitoring: true, enableSecureBoot: true, enableVtpm: true });
    assert.deepEqual(i.serviceAccount.scopes, ["https://www.googleapis.com/auth/logging.write", "https://www.googleapis.com/auth/monitoring.write"]);
    assert.equal(i.networkInterfaces[0].accessConfigs, undefined, `${m.name} must not get a public IP`);
  }
});

test("worker templates have no public address either", () => {
  for (const t of ofType(r, "gcp:compute/instanceTemplate:InstanceTemplate")) assert.equal(inputs(t).networkInterfaces[0].accessConfigs, undefined);
});

test("each master sits at its reserved internal address, and each zone has an instance group of its masters", () => {
  const addrs = ofType(r, "gcp:compute/address:Address").map((a) => inputs(a).address);
  for (const m of masters()) assert.ok(addrs.includes(inputs(m).networkInterfaces[0].networkIp), `${m.name} address is not reserved`);
  const groups = ofType(r, "gcp:compute/instanceGroup:InstanceGroup");
  assert.equal(groups.length, 3);
  for (const g of groups) assert.equal(inputs(g).instances.length, 1);
  assert.deepEqual(groups.map((g) => inputs(g).zone).sort(), ["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
});

test("the apiserver LB is an internal passthrough TCP LB over the three groups", () => {
  const [be] = ofType(r, "gcp:compute/regionBackendService:RegionBackendService");
  assert.equal(inputs(be).loadBalancingScheme, "INTERNAL");
  assert.equal(inputs(be).protocol, "TCP");
  assert.equal(inputs(be).backends.length, 3);
  for (const b of inputs(be).backends) assert.equal(b.balancingMode, "CONNECTION");
  const [fr] = ofType(r, "gcp:compute/forwardingRule:ForwardingRule");
  assert.equal(inputs(fr).loadBalancingScheme, "INTERNAL");
  assert.deepEqual(inputs(fr).ports, ["6443"]);
  assert.equal(inputs(fr).ipAddress, "10.10.0.5");
});

test("the health check is HTTPS /readyz on 6443 and marks a dead master down within about 6 s", () => {
  const [hc] = ofType(r, "gcp:compute/regionHealthCheck:RegionHealthCheck");
  const i = inputs(hc);
  assert.deepEqual(i.httpsHealthCheck, { port: 6443, requestPath: "/readyz" });
  assert.ok(i.timeoutSec <= i.checkIntervalSec);
  const markDown = i.checkIntervalSec * i.unhealthyThreshold;
  assert.ok(markDown <= 6 && markDown >= 4, `marks down after ${markDown}s`);
});

test("firewall: apiserver from nodes and Google's probers, etcd between masters only", () => {
  const fw = (suffix: string) => inputs(named(r, `prod-${suffix}`));
  assert.deepEqual(fw("apiserver-health-checks").sourceRanges, ["35.191.0.0/16", "130.211.0.0/22"]);
  assert.deepEqual(fw("apiserver-from-nodes").targetTags, ["prod-master"]);
  assert.deepEqual(fw("etcd").allows, [{ protocol: "tcp", ports: ["2379-2380"] }]);
  assert.deepEqual(fw("etcd").sourceTags, ["prod-master"]);
  assert.deepEqual(fw("etcd").targetTags, ["prod-master"]);
  assert.deepEqual(fw("kubelet").sourceTags, ["prod-master"]);
  assert.deepEqual(fw("ssh-from-bastion").sourceTags, ["prod-bastion"]);
  assert.deepEqual(fw("ssh-to-bastion").sourceRanges, ["198.51.100.0/24"]);
});

test("no firewall rule admits the whole internet", () => {
  for (const f of ofType(r, "gcp:compute/firewall:Firewall")) assert.ok(!(inputs(f).sourceRanges ?? []).includes("0.0.0.0/0"), f.name);
});

test("egress goes through Cloud NAT", () => {
  assert.equal(ofType(r, "gcp:compute/routerNat:RouterNat").length, 1);
});

test("master-0 runs kubeadm init; the other masters join one at a time, each after the previous one", () => {
  const dep = (name: string) => named(r, name).dependencies.map((u) => u.split("::").pop());
  assert.ok(dep("prod-master-1-join").includes("prod-master-0-init"));
  assert.ok(dep("prod-master-2-join").includes("prod-master-1-join"));
  assert.ok(!dep("prod-master-1-join").includes("prod-master-2-join"));
  assert.ok(dep("prod-master-0-validate").includes("prod-master-2-join"));
  assert.match(file(r, "prod-master-1/commands/join.sh"), /kubeadm-ha-wait-member prod-master-1 2\n/);
  assert.match(file(r, "prod-master-2/commands/join.sh"), /kubeadm-ha-wait-member prod-master-2 3\n/);
});

test("a master joins only after the previous one is Ready and a healthy voting etcd member", () => {
  const wait = file(r, "prod-master-0/usr/local/sbin/kubeadm-ha-wait-member");
  assert.match(wait, /Ready/);
  assert.match(wait, /isLearner != true/);
  assert.match(wait, /endpoint health --cluster/);
});

test("worker pools start only after the control plane is validated", () => {
  for (const g of ofType(r, "gcp:compute/instanceGroupManager:InstanceGroupManager")) {
    assert.ok(g.dependencies.some((u) => u.endsWith("::prod-master-0-validate")), `${g.name} does not wait for validation`);
  }
});

test("the pool has a managed group and an autoscaler (1..5) in each zone", () => {
  const migs = ofType(r, "gcp:compute/instanceGroupManager:InstanceGroupManager");
  assert.deepEqual(migs.map((m) => inputs(m).zone).sort(), ["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
  for (const a of ofType(r, "gcp:compute/autoscaler:Autoscaler")) {
    assert.equal(inputs(a).autoscalingPolicy.minReplicas, 1);
    assert.equal(inputs(a).autoscalingPolicy.maxReplicas, 5);
  }
});

test("the endpoint name, the LB address and every master address are in the apiserver certificate", () => {
  const init = file(r, "prod-master-0/etc/kubeadm-ha/kubeadm-init.yaml");
  for (const san of ["api.prod.internal", "10.10.0.5", "10.10.0.10", "10.10.0.11", "10.10.0.12"]) assert.match(init, new RegExp(`- ${san.replace(/\./g, "\\.")}\n`));
  assert.match(init, /controlPlaneEndpoint: api\.prod\.internal:6443/);
});

test("masters resolve the endpoint to master-0 while joining and to themselves afterwards; workers to the LB", () => {
  const join = file(r, "prod-master-2/commands/join.sh");
  assert.ok(join.indexOf("kubeadm-ha-set-endpoint 10.10.0.10") < join.indexOf("sudo kubeadm join"));
  assert.ok(join.indexOf("kubeadm-ha-set-endpoint 10.10.0.12") > join.indexOf("sudo kubeadm join"));
  assert.match(file(r, "prod-general/cloud-init.yaml"), /kubeadm-ha-set-endpoint\n\s+- 10\.10\.0\.5/);
});

test("scheduler and controller-manager run with --leader-elect=true", () => {
  const init = file(r, "prod-master-0/etc/kubeadm-ha/kubeadm-init.yaml");
  const sections = init.split(/\n(?=[a-zA-Z])/);
  for (const component of ["controllerManager", "scheduler"]) {
    const s = sections.find((x) => x.startsWith(component + ":"));
    assert.ok(s && /name: leader-elect\n\s+value: "true"/.test(s), `${component} without leader-elect`);
  }
});

test("PKI, token and kubeconfig are secrets; masters' metadata holds none of them", () => {
  for (const p of ["ca.key", "sa.key", "front-proxy-ca.key", "etcd/ca.key"]) assert.equal(file(r, `prod-master-1/etc/kubernetes/pki/${p}`), SECRET);
  assert.equal(file(r, "prod-master-1/etc/kubeadm-ha/secrets/bootstrap-token"), SECRET);
  assert.equal(r.outputs.kubeconfig, SECRET);
  for (const m of masters()) {
    const md = JSON.stringify(inputs(m).metadata);
    assert.ok(!md.includes(SECRET) && !/PRIVATE KEY/.test(md), `${m.name} metadata carries a secret`);
  }
  for (const t of ofType(r, "gcp:compute/instanceTemplate:InstanceTemplate")) assert.equal(inputs(t).metadata["kubeadm-ha-bootstrap-token"], SECRET);
  for (const k of ofType(r, "tls:index/privateKey:PrivateKey")) assert.ok(!JSON.stringify(k.inputs).includes("PRIVATE"));
});

test("kubeadm configs carry the token placeholder, never the token", () => {
  assert.match(file(r, "prod-master-0/etc/kubeadm-ha/kubeadm-init.yaml"), /token: "@@KUBEADM_HA_BOOTSTRAP_TOKEN@@"/);
  assert.match(file(r, "prod-general/etc/kubeadm-ha/kubeadm-join.yaml.tmpl"), /caCertHashes:\n\s+- sha256:[0-9a-f]{64}\n/);
});

test("resource names derive from the cluster name", () => {
  for (const x of r.resources) assert.ok(x.name.startsWith("prod"), x.name);
});

test("each resource's URN is unique and every parent and dependency is a registered resource", () => {
  const urns = new Set(r.resources.map((x) => x.urn));
  assert.equal(urns.size, r.resources.length);
  for (const x of r.resources) {
    if (x.parent) assert.ok(urns.has(x.parent), `${x.name}: unknown parent`);
    for (const d of x.dependencies) assert.ok(urns.has(d), `${x.name}: unknown dependency ${d}`);
  }
});

test("a replaced master's etcd member and Node are removed by a healthy peer before the new VM joins", () => {
  for (const [i, peer] of [[0, 1], [1, 0], [2, 0]]) {
    const step = named(r, `prod-master-${peer}-etcd-member-prod-master-${i}`);
    assert.equal(step.options.deleteBeforeReplace, true);
    assert.match(inputs(step).delete, new RegExp(`kubeadm-ha-etcd-member remove prod-master-${i} prod-master-${peer}\\n`));
    // Replaced only with its own master's VM, never with the peer's.
    assert.equal(inputs(step).triggers.length, 1);
  }
  for (const m of masters()) assert.equal(m.options.deleteBeforeReplace, true, `${m.name}: its reserved address fits one VM at a time`);
});

test("the kubeconfig step keeps its output secret and out of the logs", () => {
  const step = named(r, "prod-master-0-kubeconfig");
  assert.ok(step.options.additionalSecretOutputs?.includes("stdout"));
  assert.equal(inputs(step).logging, "stderr");
});

test("kubeadm init never prints the bootstrap token into the step's output (logs and state)", () => {
  assert.match(file(r, "prod-master-0/commands/init.sh"), /sudo kubeadm init --config \S+ --skip-token-print\n/);
  for (const f of r.files.filter((x) => x.path.includes("/commands/"))) assert.doesNotMatch(f.content, /kubeadm token (create|list)/, f.path);
});
