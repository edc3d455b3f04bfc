// The GCP three-zone stack on the SDK's mock runtime: the shared cluster facts, then
// what is GCP's own (VMs, internal passthrough LB, firewall, NAT, pools).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { bootConfigOf, commandOf, file, inputs, named, ofType, pulumiTypeOf, renderOnce } from "./helpers";
import { RenderResult, SECRET } from "../render/render";
import { clusterFacts } from "./cluster-facts";
import { GCP_TYPES } from "../components/plan/platforms/gcp-resources";

clusterFacts("gcp-three-zone");

let r: RenderResult;
before(async () => {
  r = await renderOnce("gcp-three-zone");
});

const masters = () => ofType(r, "gcp:compute/instance:Instance").filter((x) => inputs(x).labels?.["kubeadm-ha-role"] === "master");

test("masters are shielded VMs with minimal scopes and no public address", () => {
  for (const m of masters()) {
    const i = inputs(m);
    assert.deepEqual(i.shieldedInstanceConfig, { enableIntegrityMonitoring: true, enableSecureBoot: true, enableVtpm: true });
    // Logs, metrics, and Cloud Storage for the etcd snapshots (IAM: object creation on the backup bucket only).
    assert.deepEqual(i.serviceAccount.scopes, [
      "https://www.googleapis.com/auth/logging.write",
      "https://www.googleapis.com/auth/monitoring.write",
      "https://www.googleapis.com/auth/devstorage.read_write",
    ]);
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
  assert.deepEqual(groups.map((g) => inputs(g).zone).sort(), ["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
  const memberships = ofType(r, "gcp:compute/instanceGroupMembership:InstanceGroupMembership");
  for (const g of groups) {
    assert.deepEqual(g.options.ignoreChanges, ["instances"], `${g.name} would fight its memberships`);
    const own = memberships.filter((x) => inputs(x).instanceGroup === g.name);
    assert.equal(own.length, 1, `${g.name} has ${own.length} members`);
    assert.equal(own[0].name, `${masters().find((m) => inputs(m).zone === inputs(g).zone)!.name}-group`);
  }
});

test("a replaced master is back in its instance group: its membership is replaced with its VM", () => {
  for (const m of masters()) {
    const membership = named(r, `${m.name}-group`);
    assert.deepEqual(membership.options.replaceWith, [m.urn], `${membership.name} is not replaced with ${m.name}`);
  }
});

test("the apiserver LB is an internal passthrough TCP LB over the three groups", () => {
  const [be] = ofType(r, "gcp:compute/regionBackendService:RegionBackendService");
  assert.equal(inputs(be).loadBalancingScheme, "INTERNAL");
  assert.equal(inputs(be).protocol, "TCP");
  assert.equal(inputs(be).backends.length, 3);
  for (const b of inputs(be).backends) assert.equal(b.balancingMode, "CONNECTION");
  const fr = named(r, "prod-apiserver-rule");
  assert.equal(inputs(fr).loadBalancingScheme, "INTERNAL");
  assert.deepEqual(inputs(fr).ports, ["6443"]);
  assert.equal(inputs(fr).ipAddress, "10.10.0.5");
});

test("a second forwarding rule of the same backend sends SSH to a master whose apiserver is ready, at an address of its own", () => {
  const ssh = named(r, "prod-apiserver-ssh-rule");
  const backend = named(r, "prod-apiserver-backend");
  assert.deepEqual(inputs(ssh).ports, ["22"]);
  assert.equal(inputs(ssh).loadBalancingScheme, "INTERNAL");
  assert.equal(inputs(ssh).ipAddress, undefined, "the apiserver's address stays the apiserver rule's alone");
  assert.ok(ssh.dependencies.includes(backend.urn));
  // Passthrough: the connection arrives from the bastion, which the firewall admits on port 22.
  const fromBastion = ofType(r, "gcp:compute/firewall:Firewall").filter(
    (f) => (inputs(f).sourceTags ?? []).includes("prod-bastion") && inputs(f).allows.some((a: { ports?: string[] }) => a.ports?.includes("22")),
  );
  assert.ok(
    fromBastion.some((f) => inputs(f).targetTags.includes("prod-master")),
    "no firewall rule admits SSH from the bastion to the masters",
  );
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

test("the pool has a managed group and an autoscaler (1..5) in each zone", () => {
  const migs = ofType(r, "gcp:compute/instanceGroupManager:InstanceGroupManager");
  assert.deepEqual(migs.map((m) => inputs(m).zone).sort(), ["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
  for (const a of ofType(r, "gcp:compute/autoscaler:Autoscaler")) {
    assert.equal(inputs(a).autoscalingPolicy.minReplicas, 1);
    assert.equal(inputs(a).autoscalingPolicy.maxReplicas, 5);
  }
});

test("workers resolve the endpoint name to the internal LB", () => {
  const boot = bootConfigOf(file(r, "prod-general/cloud-init.yaml"));
  assert.deepEqual(commandOf(boot, "/usr/local/sbin/kubeadm-ha-set-endpoint"), ["/usr/local/sbin/kubeadm-ha-set-endpoint", "10.10.0.5"]);
});

test("no metadata holds a secret: workers read the token from Secret Manager with their own service account, and pods never reach the metadata server", () => {
  for (const m of [...masters(), ...ofType(r, "gcp:compute/instanceTemplate:InstanceTemplate")]) {
    const md = JSON.stringify(inputs(m).metadata);
    assert.ok(!md.includes(SECRET) && !/PRIVATE KEY/.test(md), `${m.name} metadata carries a secret`);
    assert.deepEqual(
      Object.keys(inputs(m).metadata).sort(),
      ["block-project-ssh-keys", "enable-oslogin", "user-data"],
      `${m.name}: metadata beyond the boot config and SSH settings`,
    );
  }
  const secret = ofType(r, "gcp:secretmanager/secret:Secret")[0];
  const version = ofType(r, "gcp:secretmanager/secretVersion:SecretVersion")[0];
  const reader = ofType(r, "gcp:secretmanager/secretIamMember:SecretIamMember")[0];
  assert.equal(inputs(secret).secretId, "prod-bootstrap-token");
  assert.equal(inputs(version).secretData, SECRET);
  assert.equal(inputs(reader).role, "roles/secretmanager.secretAccessor");
  assert.match(String(inputs(reader).member), /^serviceAccount:/);
  const join = file(r, "prod-general/usr/local/sbin/kubeadm-ha-worker-join");
  assert.match(join, /secretmanager\.googleapis\.com\/v1\/projects\/\$\{project\}\/secrets\/prod-bootstrap-token\/versions\/latest:access/);
  // The pod network's traffic to the metadata server is dropped before the token is read.
  assert.match(join, /iptables -t raw -I PREROUTING -s 10\.244\.0\.0\/16 -d 169\.254\.169\.254\/32 -j DROP/);
  assert.ok(join.indexOf("conceal_metadata\n  project=") > 0);
});

test("etcd snapshots go to a bucket in the region, versioned, private and pruned, which the masters may only add to", () => {
  const [bucket] = r.resources.filter((x) => x.type === "gcp:storage/bucket:Bucket");
  const b = inputs(bucket);
  assert.match(b.name, /^prod-etcd-backups-[0-9a-f]{8}$/);
  assert.deepEqual([b.location, b.uniformBucketLevelAccess, b.publicAccessPrevention, b.versioning.enabled], ["europe-west1", true, "enforced", true]);
  assert.deepEqual(
    b.lifecycleRules.map((l: { condition: Record<string, unknown> }) => l.condition),
    [
      { age: 7, withState: "LIVE" },
      { daysSinceNoncurrentTime: 1, withState: "ARCHIVED" },
    ],
  );
  assert.equal(bucket.options.retainOnDelete, true, "pulumi destroy leaves the snapshots");
  const members = r.resources.filter((x) => x.type === "gcp:storage/bucketIAMMember:BucketIAMMember").map(inputs);
  assert.deepEqual(
    members.map((m) => [m.role, m.member]),
    [["roles/storage.objectCreator", "serviceAccount:prod-master@mock-project.iam.gserviceaccount.com"]],
  );
  assert.equal((r.outputs.backups as { destination: string }).destination, `gs://${b.name}/prod/`);
});

test("the GCP types the render and the policy pack read are the provider's own", async () => {
  const gcp = await import("@pulumi/gcp");
  assert.deepEqual(
    { instance: GCP_TYPES.instance, template: GCP_TYPES.template, firewall: GCP_TYPES.firewall, healthChecks: [...GCP_TYPES.healthChecks] },
    {
      instance: pulumiTypeOf(gcp.compute.Instance),
      template: pulumiTypeOf(gcp.compute.InstanceTemplate),
      firewall: pulumiTypeOf(gcp.compute.Firewall),
      healthChecks: [pulumiTypeOf(gcp.compute.RegionHealthCheck), pulumiTypeOf(gcp.compute.HealthCheck)],
    },
  );
  assert.equal(ofType(r, GCP_TYPES.apiserverLb).length, 1, "the apiserver's load balancer is registered under the type the policy pack looks for");
});
