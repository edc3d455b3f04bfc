// The policy pack: each rule on its own (a resource that passes, one that fails),
// then the whole pack over the render of every shipped stack (all pass) and over
// deliberately broken copies of them (each rule catches its own breakage).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "path";
import { asPolicyResources, runPolicies, Violation } from "../policy/offline";
import * as rules from "../policy/rules";
import { POLICIES } from "../policy/rules";
import { awsImdsv2Required } from "../policy/platforms/aws";
import { gcpShieldedVm } from "../policy/platforms/gcp";
import { CLUSTER_TYPE } from "../components/plan/labels";
import { GCP_TYPES } from "../components/plan/platforms/gcp-resources";
import { AWS_TYPES } from "../components/plan/platforms/aws-resources";
import type { RenderedResource } from "../render/render";
import { renderInChild, ROOT, SHIPPED_STACKS } from "./helpers";
import { readStackFile } from "../render/render";
import { DERIVED_NAMES, fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { inParallel } from "../render/parallel";

let seq = 0;
/** A rendered resource as the render writes it; `parent` is another fake's URN. */
function fake(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<RenderedResource> = {}): RenderedResource {
  return { urn: `urn:pulumi:test::kubeadm-ha::${type}::${name}#${seq++}`, type, name, parent: null, dependencies: [], inputs, options: {}, ...extra };
}

const only = async (policy: (typeof POLICIES)[number], resources: RenderedResource[]) => (await runPolicies(resources, [policy])).map((v) => v.message);

const gcpMaster = (name: string, zone: string, labels: Record<string, string> = {}) =>
  fake(GCP_TYPES.instance, name, {
    name,
    zone,
    labels: { "kubeadm-ha-cluster": "prod", "kubeadm-ha-role": "master", "kubeadm-ha-etcd": "member", "kubeadm-ha-control-plane": "ha", ...labels },
  });
const awsMaster = (name: string, zone: string, extra: Record<string, unknown> = {}) =>
  fake(AWS_TYPES.instance, name, {
    availabilityZone: zone,
    tags: { Name: name, "kubeadm-ha/cluster": "prod", "kubeadm-ha/role": "master", "kubeadm-ha/etcd": "member", "kubeadm-ha/control-plane": "ha" },
    ...extra,
  });

describe("each rule on its own", () => {
  test("control-plane-spans-three-zones passes masters in three zones and refuses two", async () => {
    const p = rules.controlPlaneSpansThreeZones;
    assert.deepEqual(await only(p, [gcpMaster("m0", "europe-west1-b"), gcpMaster("m1", "europe-west1-c"), gcpMaster("m2", "europe-west1-d")]), []);
    const [msg] = await only(p, [gcpMaster("m0", "europe-west1-b"), gcpMaster("m1", "europe-west1-c"), gcpMaster("m2", "europe-west1-c")]);
    assert.match(msg, /span 2 zone\(s\).*needs 3.*controlPlane\.highAvailability: false/);
  });

  test("control-plane-spans-three-zones exempts a stack that declares itself not HA", async () => {
    assert.deepEqual(await only(rules.controlPlaneSpansThreeZones, [gcpMaster("m0", "europe-west1-b", { "kubeadm-ha-control-plane": "not-ha" })]), []);
  });

  test("control-plane-spans-three-zones reads AWS masters by their tags and availability zones", async () => {
    const p = rules.controlPlaneSpansThreeZones;
    assert.deepEqual(await only(p, [awsMaster("m0", "us-east-1a"), awsMaster("m1", "us-east-1b"), awsMaster("m2", "us-east-1c")]), []);
    assert.equal((await only(p, [awsMaster("m0", "us-east-1a"), awsMaster("m1", "us-east-1a"), awsMaster("m2", "us-east-1a")])).length, 1);
  });

  test("control-plane-spans-three-zones reads hosts you own from the Cluster component's outputs", async () => {
    const cluster = (zones: string[]) =>
      fake(
        CLUSTER_TYPE,
        "dc1",
        {},
        {
          outputs: {
            controlPlane: { highAvailability: true, etcd: "stacked", masters: zones.map((zone, i) => ({ name: `m${i}`, zone, address: `10.0.0.${i}`, etcdMember: true })) },
          },
        },
      );
    assert.deepEqual(await only(rules.controlPlaneSpansThreeZones, [cluster(["rack-a", "rack-b", "rack-c"])]), []);
    assert.equal((await only(rules.controlPlaneSpansThreeZones, [cluster(["rack-a", "rack-a", "rack-b"])])).length, 1);
  });

  test("etcd-members-odd passes three members and refuses four", async () => {
    const three = [gcpMaster("m0", "z-b"), gcpMaster("m1", "z-c"), gcpMaster("m2", "z-d")];
    assert.deepEqual(await only(rules.etcdMembersOdd, three), []);
    const [msg] = await only(rules.etcdMembersOdd, [...three, gcpMaster("m3", "z-b")]);
    assert.match(msg, /etcd has 4 members.*odd number/);
  });

  test("with an external etcd, its machines count as the members: odd, and in three zones; the masters hold none", async () => {
    const cluster = (zones: string[]) =>
      fake(
        CLUSTER_TYPE,
        "dc1",
        {},
        {
          outputs: {
            controlPlane: {
              highAvailability: true,
              etcd: "external",
              masters: ["rack-a", "rack-b", "rack-c"].map((zone, i) => ({ name: `m${i}`, zone, address: `10.0.0.${i}`, etcdMember: false })),
              etcdMachines: zones.map((zone, i) => ({ name: `e${i}`, zone, address: `10.0.1.${i}` })),
            },
          },
        },
      );
    const both = [rules.etcdMembersOdd, rules.controlPlaneSpansThreeZones];
    assert.deepEqual(
      (await runPolicies([cluster(["rack-a", "rack-b", "rack-c"])], both)).map((v) => v.message),
      [],
    );
    const [odd] = await only(rules.etcdMembersOdd, [cluster(["rack-a", "rack-b", "rack-c", "rack-a"])]);
    assert.match(odd, /etcd has 4 members \(e0, e1, e2, e3\).*odd number/);
    const [zones] = await only(rules.controlPlaneSpansThreeZones, [cluster(["rack-a", "rack-a", "rack-b"])]);
    assert.match(zones, /its 3 etcd machines span 2 zone\(s\) \(rack-a, rack-b\).*hosts\.etcd\[\]\.zone/);
  });

  test("apiserver-health-check-readyz passes HTTPS /readyz on 6443 and refuses /healthz, TCP or another port", async () => {
    const lb = fake("kubeadm-ha:gcp:ApiServerLoadBalancer", "prod-api", {});
    const hc = (check: Record<string, unknown>) => [lb, fake("gcp:compute/regionHealthCheck:RegionHealthCheck", "prod-api-readyz", check, { parent: lb.urn })];
    assert.deepEqual(await only(rules.apiserverHealthCheckReadyz, hc({ httpsHealthCheck: { port: 6443, requestPath: "/readyz" } })), []);
    assert.equal((await only(rules.apiserverHealthCheckReadyz, hc({ httpsHealthCheck: { port: 6443, requestPath: "/healthz" } }))).length, 1);
    assert.equal((await only(rules.apiserverHealthCheckReadyz, hc({ tcpHealthCheck: { port: 6443 } }))).length, 1);
    assert.equal((await only(rules.apiserverHealthCheckReadyz, hc({ httpsHealthCheck: { port: 443, requestPath: "/readyz" } }))).length, 1);
    const tg = (healthCheck: Record<string, unknown>) => [fake(AWS_TYPES.targetGroup, "prod-api", { port: 6443, protocol: "TCP", healthCheck })];
    assert.deepEqual(await only(rules.apiserverHealthCheckReadyz, tg({ protocol: "HTTPS", path: "/readyz", port: "6443" })), []);
    assert.equal((await only(rules.apiserverHealthCheckReadyz, tg({ protocol: "TCP", port: "traffic-port" }))).length, 1);
  });

  test("apiserver-health-check-readyz leaves service load balancers alone", async () => {
    assert.deepEqual(
      await only(rules.apiserverHealthCheckReadyz, [fake(AWS_TYPES.targetGroup, "web", { port: 80, protocol: "TCP", healthCheck: { protocol: "HTTP", path: "/" } })]),
      [],
    );
  });

  test("no-world-ingress-to-cluster-ports refuses 0.0.0.0/0 to 22, 6443, 2379-2380 and 10250, and allows it to 443", async () => {
    const p = rules.noWorldIngressToClusterPorts;
    const fw = (sourceRanges: string[], ports: string[]) => [fake(GCP_TYPES.firewall, "fw", { direction: "INGRESS", sourceRanges, allows: [{ protocol: "tcp", ports }] })];
    assert.deepEqual(await only(p, fw(["0.0.0.0/0"], ["443"])), []);
    assert.deepEqual(await only(p, fw(["198.51.100.0/24"], ["22"])), []);
    for (const port of ["22", "6443", "2380", "10250", "2000-3000"]) assert.equal((await only(p, fw(["0.0.0.0/0"], [port]))).length, 1, `port ${port}`);
    const rule = (cidrIpv4: string, ipProtocol: string, fromPort: number, toPort: number) => [fake(AWS_TYPES.ingressRule, "r", { cidrIpv4, ipProtocol, fromPort, toPort })];
    assert.deepEqual(await only(p, rule("0.0.0.0/0", "tcp", 30000, 32767)), []);
    assert.equal((await only(p, rule("0.0.0.0/0", "tcp", 10250, 10250))).length, 1);
    assert.equal((await only(p, rule("0.0.0.0/0", "-1", 0, 0))).length, 1, "all protocols include every port");
  });

  test("aws-imdsv2-required passes httpTokens required and refuses optional", async () => {
    assert.deepEqual(await only(awsImdsv2Required, [awsMaster("m0", "us-east-1a", { metadataOptions: { httpTokens: "required" } })]), []);
    assert.equal((await only(awsImdsv2Required, [fake(AWS_TYPES.template, "lt", { metadataOptions: { httpTokens: "optional" } })])).length, 1);
    assert.equal((await only(awsImdsv2Required, [fake(AWS_TYPES.instance, "bastion", {})])).length, 1, "no metadataOptions means IMDSv1 allowed");
  });

  test("gcp-shielded-vm passes Secure Boot + vTPM + integrity monitoring and refuses a VM without Secure Boot", async () => {
    const on = { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true };
    assert.deepEqual(await only(gcpShieldedVm, [fake(GCP_TYPES.template, "t", { shieldedInstanceConfig: on })]), []);
    const [msg] = await only(gcpShieldedVm, [fake(GCP_TYPES.instance, "vm", { shieldedInstanceConfig: { ...on, enableSecureBoot: false } })]);
    assert.match(msg, /enableSecureBoot must be true/);
  });

  test("no-secrets-in-master-boot-data refuses a private key or token in a master's metadata or user data", async () => {
    const p = rules.noSecretsInMasterBootData;
    const gcp = (userData: string) => [fake(GCP_TYPES.instance, "m0", { zone: "z", labels: { "kubeadm-ha-role": "master" }, metadata: { "user-data": userData } })];
    assert.deepEqual(await only(p, gcp("#cloud-config\npackages: [containerd]\n")), []);
    assert.match((await only(p, gcp("-----BEGIN EC PRIVATE KEY-----\nMHc...\n")))[0], /a private key/);
    assert.match((await only(p, gcp("kubeadm join --token abcdef.0123456789abcdef")))[0], /bootstrap token/);
    assert.match((await only(p, gcp("[secret]")))[0], /a Pulumi secret/);
    const aws = (userData: string) => [awsMaster("m0", "us-east-1a", { userData })];
    assert.deepEqual(await only(p, aws("#cloud-config\n")), []);
    assert.equal((await only(p, aws("certificateKey: " + "ab".repeat(32)))).length, 1);
  });

  test("no-secrets-in-worker-boot-data refuses a token in a worker template: workers read it from their secret store", async () => {
    const p = rules.noSecretsInWorkerBootData;
    assert.match((await only(p, [fake(GCP_TYPES.template, "workers", { metadata: { "kubeadm-ha-bootstrap-token": "[secret]" } })]))[0], /a Pulumi secret/);
    const lt = (text: string) => [fake(AWS_TYPES.template, "lt", { userData: Buffer.from(text).toString("base64") })];
    assert.match((await only(p, lt("TOKEN=abcdef.0123456789abcdef")))[0], /bootstrap token/);
    assert.deepEqual(await only(p, lt("#cloud-config\n")), []);
    assert.deepEqual(await only(p, [fake(GCP_TYPES.template, "workers", { metadata: { "user-data": "#cloud-config\n" } })]), []);
    // Masters are the other rule's.
    assert.deepEqual(await only(rules.noSecretsInMasterBootData, [fake(GCP_TYPES.template, "workers", { metadata: { "kubeadm-token": "[secret]" } })]), []);
  });

  test("encrypted-disks passes encrypted AWS volumes and refuses a plain root volume or launch template", async () => {
    const p = rules.encryptedDisks;
    assert.deepEqual(await only(p, [awsMaster("m0", "us-east-1a", { rootBlockDevice: { encrypted: true } })]), []);
    assert.equal((await only(p, [awsMaster("m0", "us-east-1a", { rootBlockDevice: { encrypted: false } })])).length, 1);
    assert.deepEqual(await only(p, [fake(AWS_TYPES.template, "lt", { blockDeviceMappings: [{ ebs: { encrypted: "true" } }] })]), []);
    assert.equal((await only(p, [fake(AWS_TYPES.template, "lt", { blockDeviceMappings: [{ ebs: { encrypted: "false" } }] })])).length, 1);
  });
});

/** Shipped stacks, and the fixture that declares itself non-HA. */
const FIXTURES = join(ROOT, "test/fixtures/stacks");
const renders = new Map<string, RenderedResource[]>();

describe("the pack over every shipped stack's render", () => {
  before(async () => {
    // Two renders at a time: each is a Node process running the whole program.
    const jobs: Array<[string, string]> = [...SHIPPED_STACKS.map((s): [string, string] => [s, join(ROOT, "stacks")]), ["gcp-dev", FIXTURES]];
    await inParallel(jobs, async ([stack, dir]) => void renders.set(stack, (await renderInChild(stack, dir)).resources), 2);
  });

  test("every shipped stack passes every rule", async () => {
    assert.ok(SHIPPED_STACKS.length >= 9, `expected the shipped stacks, got ${SHIPPED_STACKS}`);
    for (const stack of SHIPPED_STACKS) assert.deepEqual(await runPolicies(renders.get(stack)!, POLICIES), [], `${stack} should pass the policy pack`);
  });

  test("the program names its own resources only as DERIVED_NAMES says, so the pool names validation refuses are exactly the ones that would run into them", () => {
    for (const stack of SHIPPED_STACKS) {
      const { config } = readStackFile(join(ROOT, "stacks"), stack);
      if (config["kubeadm-ha:layout"] === "federation") continue;
      const c = validateClusterConfig(fromRawConfig(config), stack, config);
      // Hosts you own are named by the stack; pools' resources are theirs.
      const own = [...c.nodePools.map((p) => p.name), ...(c.hosts ? [...c.hosts.masters, ...c.hosts.workers].map((h) => h.name.slice(c.clusterName.length + 1)) : [])];
      for (const r of renders.get(stack)!) {
        if (!r.name.startsWith(`${c.clusterName}-`)) continue;
        const rest = r.name.slice(c.clusterName.length + 1);
        if (own.some((n) => rest === n || rest.startsWith(`${n}-`))) continue;
        assert.ok(
          DERIVED_NAMES.some((d) => rest === d || rest.startsWith(`${d}-`)),
          `${stack}: ${r.name} (${r.type}) is named <cluster>-${rest}, which DERIVED_NAMES does not cover`,
        );
      }
    }
  });

  test("the rules see what they guard in the shipped stacks (no rule passes for want of resources)", () => {
    const clusters = SHIPPED_STACKS.filter((s) => renders.get(s)!.some((r) => r.type === CLUSTER_TYPE));
    assert.ok(clusters.length >= 8, `cluster stacks: ${clusters}`);
    for (const stack of clusters) {
      const resources = asPolicyResources(renders.get(stack)!);
      const masters = rules.mastersOf(resources);
      // Stacked: every master is a member. External: none is; the etcd machines are, each in its zone.
      const etcdMachines = rules.etcdMachinesOf(resources);
      const external = (fromRawConfig(readStackFile(join(ROOT, "stacks"), stack).config).etcd as { topology?: string } | undefined)?.topology === "external";
      assert.ok(masters.length >= 3 && masters.every((m) => m.zone && m.etcdMember === !external && m.highAvailability), `${stack}: masters seen ${JSON.stringify(masters)}`);
      assert.equal(etcdMachines.filter((e) => e.zone).length, external ? 3 : 0, `${stack}: etcd machines seen ${JSON.stringify(etcdMachines)}`);
    }
    const hcs = (stack: string) =>
      renders.get(stack)!.filter((r) => ["gcp:compute/regionHealthCheck:RegionHealthCheck", AWS_TYPES.targetGroup].includes(r.type) && r.parent?.includes("ApiServerLoadBalancer"));
    assert.equal(hcs("gcp-three-zone").length, 1);
    // The NLB's two target groups (apiserver, and SSH to a master whose apiserver is ready) share the check.
    assert.equal(hcs("aws-three-az").length, 2);
  });

  test("a single-zone dev cluster passes because its stack says it is not HA", async () => {
    assert.deepEqual(await runPolicies(renders.get("gcp-dev")!, POLICIES), []);
    const masters = renders.get("gcp-dev")!.filter((r) => r.type === GCP_TYPES.instance && (r.inputs as any).labels?.["kubeadm-ha-role"] === "master");
    assert.equal(masters.length, 1);
    assert.equal((masters[0].inputs as any).labels["kubeadm-ha-control-plane"], "not-ha");
  });

  type Break = { rule: string; stack: string; what: string; mutate: (rs: RenderedResource[]) => void };
  const inputs = (r: RenderedResource) => r.inputs as Record<string, any>;
  const find = (rs: RenderedResource[], pred: (r: RenderedResource) => boolean, what: string) => {
    const r = rs.find(pred);
    if (!r) throw new Error(`broken copy: no ${what} in the render`);
    return r;
  };
  const master = (rs: RenderedResource[], i: number) =>
    find(rs, (r) => (r.type === GCP_TYPES.instance || r.type === AWS_TYPES.instance) && r.name.endsWith(`-master-${i}`), `master-${i}`);
  const BREAKS: Break[] = [
    {
      rule: "control-plane-spans-three-zones",
      stack: "gcp-three-zone",
      what: "master-2 moved into master-1's zone",
      mutate: (rs) => void (inputs(master(rs, 2)).zone = inputs(master(rs, 1)).zone),
    },
    {
      rule: "control-plane-spans-three-zones",
      stack: "aws-three-az",
      what: "every master in one AZ",
      mutate: (rs) => [1, 2].forEach((i) => (inputs(master(rs, i)).availabilityZone = inputs(master(rs, 0)).availabilityZone)),
    },
    {
      rule: "control-plane-spans-three-zones",
      stack: "onprem-vip",
      what: "two hosts in one rack",
      mutate: (rs) => {
        const c = find(rs, (r) => r.type === CLUSTER_TYPE, "Cluster component");
        (c.outputs as any).controlPlane.masters[2].zone = "rack-a";
      },
    },
    {
      rule: "etcd-members-odd",
      stack: "gcp-three-zone",
      what: "a fourth master",
      mutate: (rs) => {
        const copy: RenderedResource = JSON.parse(JSON.stringify(master(rs, 0)));
        rs.push({ ...copy, urn: copy.urn.replace(/master-0$/, "master-3"), name: copy.name.replace(/0$/, "3") });
      },
    },
    {
      rule: "apiserver-health-check-readyz",
      stack: "gcp-three-zone",
      what: "health check on /healthz",
      mutate: (rs) => void (inputs(find(rs, (r) => r.type === "gcp:compute/regionHealthCheck:RegionHealthCheck", "health check")).httpsHealthCheck.requestPath = "/healthz"),
    },
    {
      rule: "apiserver-health-check-readyz",
      stack: "aws-three-az",
      what: "TCP target-group check",
      mutate: (rs) => void (inputs(find(rs, (r) => r.type === AWS_TYPES.targetGroup, "target group")).healthCheck.protocol = "TCP"),
    },
    {
      rule: "no-world-ingress-to-cluster-ports",
      stack: "gcp-three-zone",
      what: "bastion SSH open to the world",
      mutate: (rs) => void (inputs(find(rs, (r) => r.type === GCP_TYPES.firewall && JSON.stringify(r.inputs).includes('"22"'), "SSH firewall")).sourceRanges = ["0.0.0.0/0"]),
    },
    {
      rule: "no-world-ingress-to-cluster-ports",
      stack: "aws-three-az",
      what: "apiserver open to the world",
      mutate: (rs) =>
        void Object.assign(inputs(find(rs, (r) => r.type === AWS_TYPES.ingressRule && inputs(r).fromPort === 6443, "6443 rule")), {
          cidrIpv4: "0.0.0.0/0",
          referencedSecurityGroupId: undefined,
        }),
    },
    { rule: "aws-imdsv2-required", stack: "aws-three-az", what: "IMDSv1 on a master", mutate: (rs) => void (inputs(master(rs, 1)).metadataOptions.httpTokens = "optional") },
    {
      rule: "gcp-shielded-vm",
      stack: "gcp-three-zone",
      what: "Secure Boot off on a master",
      mutate: (rs) => void (inputs(master(rs, 0)).shieldedInstanceConfig.enableSecureBoot = false),
    },
    {
      rule: "no-secrets-in-master-boot-data",
      stack: "gcp-three-zone",
      what: "the bootstrap token in a master's metadata",
      mutate: (rs) => void (inputs(master(rs, 1)).metadata["kubeadm-token"] = "[secret]"),
    },
    {
      rule: "no-secrets-in-master-boot-data",
      stack: "aws-three-az",
      what: "a CA key in a master's user data",
      mutate: (rs) => void (inputs(master(rs, 0)).userData += "\n-----BEGIN EC PRIVATE KEY-----\n"),
    },
    {
      rule: "no-secrets-in-worker-boot-data",
      stack: "gcp-three-zone",
      what: "the bootstrap token in a worker template's metadata",
      mutate: (rs) => void (inputs(find(rs, (r) => r.type === GCP_TYPES.template, "template")).metadata["kubeadm-ha-bootstrap-token"] = "[secret]"),
    },
    {
      rule: "workers-not-newer-than-control-plane",
      stack: "gcp-three-zone",
      what: "a worker template a minor ahead of the masters",
      mutate: (rs) => void (inputs(find(rs, (r) => r.type === GCP_TYPES.template, "instance template")).labels["kubeadm-ha-kubernetes"] = "v1-35-0"),
    },
    {
      rule: "workers-not-newer-than-control-plane",
      stack: "aws-three-az",
      what: "one master left a patch behind its workers' launch template",
      mutate: (rs) => void (inputs(master(rs, 2)).tags["kubeadm-ha/kubernetes"] = "v1-34-1"),
    },
    {
      rule: "workers-not-newer-than-control-plane",
      stack: "onprem-vip",
      what: "a worker you own configured for a newer release",
      mutate: (rs) => {
        const c = find(rs, (r) => r.type === CLUSTER_TYPE, "Cluster component");
        (c.outputs as any).controlPlane.workers[0].kubernetesVersion = "1.35.0";
      },
    },
    {
      rule: "etcd-backups-on",
      stack: "onprem-vip",
      what: "an HA cluster whose backups are off without a reason",
      mutate: (rs) => void ((find(rs, (r) => r.type === CLUSTER_TYPE, "Cluster component").outputs as any).controlPlane.backups = { enabled: false }),
    },
    {
      rule: "secrets-encrypted-and-audited",
      stack: "gcp-three-zone",
      what: "a cluster storing its Secrets as plain bytes",
      mutate: (rs) => void ((find(rs, (r) => r.type === CLUSTER_TYPE, "Cluster component").outputs as any).controlPlane.encryption.enabled = false),
    },
    {
      rule: "secrets-encrypted-and-audited",
      stack: "onprem-vip",
      what: "a cluster without an audit log",
      mutate: (rs) => void ((find(rs, (r) => r.type === CLUSTER_TYPE, "Cluster component").outputs as any).controlPlane.audit.enabled = false),
    },
    {
      rule: "encrypted-disks",
      stack: "aws-three-az",
      what: "a plain worker volume",
      mutate: (rs) => void (inputs(find(rs, (r) => r.type === AWS_TYPES.template, "launch template")).blockDeviceMappings[0].ebs.encrypted = "false"),
    },
  ];

  for (const b of BREAKS) {
    test(`${b.rule} catches a broken copy of ${b.stack}: ${b.what}`, async () => {
      const copy: RenderedResource[] = JSON.parse(JSON.stringify(renders.get(b.stack)!));
      b.mutate(copy);
      const violations: Violation[] = await runPolicies(copy, POLICIES);
      assert.deepEqual([...new Set(violations.map((v) => v.policy))], [b.rule], JSON.stringify(violations, null, 1));
    });
  }

  test("every rule of the pack has a broken copy that it catches", () => {
    assert.deepEqual([...new Set(BREAKS.map((b) => b.rule))].sort(), POLICIES.map((p) => p.name).sort());
  });
});
