// Stack config validation: defaults, and one clear error per bad key naming the value and the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { readStackFile } from "../render/render";
import { join } from "path";

const ROOT = join(__dirname, "..");

/** The smallest valid config: region, zones and admin CIDRs are the only required keys. */
const minimal = () => ({
  region: "europe-west1",
  zones: ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
  adminCidrs: ["198.51.100.0/24"],
});

function problemsOf(raw: Record<string, unknown>, stack = "dev"): ConfigError["problems"] {
  try {
    validateClusterConfig(raw, stack);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.problems;
  }
  assert.fail("expected the config to be rejected");
}

function assertRejected(raw: Record<string, unknown>, key: string, valueFragment: string) {
  const problems = problemsOf(raw);
  const p = problems.find((x) => x.key === key);
  assert.ok(p, `expected a problem for ${key}, got ${JSON.stringify(problems)}`);
  assert.ok(p.message.includes(valueFragment), `message of ${key} should quote ${valueFragment}: ${p.message}`);
  assert.ok(p.fix.length > 10, `problem for ${key} should say how to fix it`);
}

test("the shipped three-zone stack file is valid and reads as written", () => {
  const { config } = readStackFile(join(ROOT, "stacks"), "gcp-three-zone");
  const c = validateClusterConfig(fromRawConfig(config), "gcp-three-zone");
  assert.equal(c.clusterName, "prod");
  assert.deepEqual(c.zones, ["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
  assert.equal(c.controlPlane.count, 3);
  assert.equal(c.nodePools.length, 1);
  assert.deepEqual([c.nodePools[0].nodesPerZone, c.nodePools[0].minPerZone, c.nodePools[0].maxPerZone], [3, 1, 5]);
  assert.deepEqual(c.nodePools[0].zones, c.zones);
  assert.equal(c.endpoint.mode, "cloud-lb");
});

test("defaults fill every optional key", () => {
  const c = validateClusterConfig(minimal(), "staging");
  assert.equal(c.clusterName, "staging");
  assert.equal(c.controlPlane.count, 3);
  assert.equal(c.endpoint.name, "api.staging.internal");
  assert.equal(c.kubernetes.cni.name, "calico");
  assert.match(c.kubernetes.cni.version, /^\d+\.\d+\.\d+$/);
  assert.equal(c.network.podCidr, "10.244.0.0/16");
  assert.deepEqual(c.nodePools, []);
});

test("an even number of masters is refused", () => {
  assertRejected({ ...minimal(), controlPlane: { count: 4 } }, "kubeadm-ha:controlPlane.count", "4");
});

test("two zones are not enough for an HA control plane", () => {
  assertRejected({ ...minimal(), zones: ["europe-west1-b", "europe-west1-c"] }, "kubeadm-ha:zones", "2");
});

test("a zone of another region is refused", () => {
  assertRejected({ ...minimal(), zones: ["europe-west1-b", "europe-west1-c", "us-east1-b"] }, "kubeadm-ha:zones[2]", "us-east1-b");
});

test("a zone listed twice is refused", () => {
  assertRejected({ ...minimal(), zones: ["europe-west1-b", "europe-west1-b", "europe-west1-c"] }, "kubeadm-ha:zones[1]", "europe-west1-b");
});

test("overlapping pod and service networks are refused", () => {
  assertRejected({ ...minimal(), network: { podCidr: "10.96.0.0/16", serviceCidr: "10.96.0.0/12" } }, "kubeadm-ha:network.serviceCidr", "10.96.0.0/12");
});

test("a CIDR with octets out of range is refused", () => {
  assertRejected({ ...minimal(), network: { nodeCidr: "10.300.0.0/20" } }, "kubeadm-ha:network.nodeCidr", "10.300.0.0/20");
});

test("a CIDR with host bits is refused with its network form as the fix", () => {
  const p = problemsOf({ ...minimal(), network: { nodeCidr: "10.10.0.7/20" } }).find((x) => x.key === "kubeadm-ha:network.nodeCidr");
  assert.ok(p && p.message.includes("host bits"));
});

test("an unknown key is refused by name", () => {
  assertRejected({ ...minimal(), contolPlane: { count: 3 } }, "kubeadm-ha:contolPlane", "3");
});

test("an unknown endpoint mode is refused", () => {
  assertRejected({ ...minimal(), endpoint: { mode: "magic" } }, "kubeadm-ha:endpoint.mode", "magic");
});

test("a wrong type is refused with the value", () => {
  assertRejected({ ...minimal(), controlPlane: { count: "three" } }, "kubeadm-ha:controlPlane.count", "three");
});

test("the bastion is never opened to the world", () => {
  assertRejected({ ...minimal(), adminCidrs: ["0.0.0.0/0"] }, "kubeadm-ha:adminCidrs[0]", "0.0.0.0/0");
  assertRejected({ region: "europe-west1", zones: minimal().zones }, "kubeadm-ha:adminCidrs", "(missing)");
});

test("pool sizes must satisfy min <= nodes <= max", () => {
  assertRejected({ ...minimal(), nodePools: [{ name: "a", minPerZone: 4, maxPerZone: 2 }] }, "kubeadm-ha:nodePools[0].minPerZone", "4");
});

test("pool names are unique", () => {
  assertRejected({ ...minimal(), nodePools: [{ name: "a" }, { name: "a" }] }, "kubeadm-ha:nodePools[1].name", '"a"');
});

test("a pool zone outside the cluster's zones is refused", () => {
  assertRejected({ ...minimal(), nodePools: [{ name: "a", zones: ["europe-west1-z"] }] }, "kubeadm-ha:nodePools[0].zones[0]", "europe-west1-z");
});

test("labels the kubelet may not set on itself are refused", () => {
  assertRejected(
    { ...minimal(), nodePools: [{ name: "a", labels: { "node-role.kubernetes.io/worker": "" } }] },
    "kubeadm-ha:nodePools[0].labels.node-role.kubernetes.io/worker",
    "node-role.kubernetes.io/worker",
  );
});

test("Kubernetes older than 1.31 is refused (kubeadm v1beta4)", () => {
  assertRejected({ ...minimal(), kubernetes: { version: "1.30.4" } }, "kubeadm-ha:kubernetes.version", "1.30.4");
});

test("a stack name that is not a valid cluster name needs an explicit clusterName", () => {
  assertRejected(minimal(), "kubeadm-ha:clusterName", "Prod_EU");
  function assertRejected(raw: Record<string, unknown>, key: string, frag: string) {
    const p = problemsOf(raw, "Prod_EU").find((x) => x.key === key);
    assert.ok(p && p.message.includes(frag));
  }
});

test("the SSH private key never appears in an error message", () => {
  const secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----";
  const problems = problemsOf({ ...minimal(), sshPrivateKey: secret });
  const text = new ConfigError(problems).message;
  assert.ok(text.includes("kubeadm-ha:sshPublicKey"), text);
  assert.ok(!text.includes("c2VjcmV0"), "the key leaked into the error");
});

test("every problem is reported at once, in one error", () => {
  const problems = problemsOf({ ...minimal(), controlPlane: { count: 2 }, zones: ["europe-west1-b", "europe-west1-c"] });
  assert.ok(problems.length >= 2);
  const msg = new ConfigError(problems).message;
  assert.match(msg, /nothing was created/);
  assert.match(msg, /Fix: /);
});

test("raw Pulumi config strings are parsed as JSON where they are JSON", () => {
  const raw = fromRawConfig({ "kubeadm-ha:region": "europe-west1", "kubeadm-ha:zones": '["a","b"]', "kubeadm-ha:controlPlane": '{"count":3}', "gcp:project": "p" });
  assert.deepEqual(raw, { region: "europe-west1", zones: ["a", "b"], controlPlane: { count: 3 } });
});

const awsMinimal = () => ({ platform: "aws", region: "us-east-1", zones: ["us-east-1a", "us-east-1b", "us-east-1c"], adminCidrs: ["198.51.100.0/24"] });
const AWS_PROVIDER = { "aws:region": "us-east-1" };

function awsProblems(raw: Record<string, unknown>, provider: Record<string, string> = AWS_PROVIDER) {
  try {
    validateClusterConfig(raw, "dev", provider);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
  assert.fail("expected the config to be rejected");
}

test("the shipped three-AZ AWS stack file is valid, with AWS defaults", () => {
  const { config } = readStackFile(join(ROOT, "stacks"), "aws-three-az");
  const c = validateClusterConfig(fromRawConfig(config), "aws-three-az", config);
  assert.equal(c.platform, "aws");
  assert.deepEqual(c.zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
  assert.equal(c.bastion.machineType, "t3.small");
  assert.equal(c.image, undefined, "the AMI is looked up");
  assert.equal(c.network.natGateways, "one-per-zone");
});

test("AWS zones must be zones of the AWS region", () => {
  const p = awsProblems({ ...awsMinimal(), zones: ["us-east-1a", "us-east-1b", "us-west-2a"] }).find((x) => x.key === "kubeadm-ha:zones[2]");
  assert.ok(p && p.message.includes("us-west-2a") && p.fix.includes("us-east-1"));
});

test("a GCP zone name on AWS is refused with an AWS example", () => {
  const p = awsProblems({ ...awsMinimal(), zones: ["us-east1-b", "us-east-1b", "us-east-1c"] }).find((x) => x.key === "kubeadm-ha:zones[0]");
  assert.ok(p && p.message.includes("not a aws zone name") && p.fix.includes("us-east-1a"));
});

test("a GCP machine type on AWS is refused", () => {
  const p = awsProblems({ ...awsMinimal(), controlPlane: { machineType: "e2-standard-4" } }).find((x) => x.key === "kubeadm-ha:controlPlane.machineType");
  assert.ok(p && p.message.includes("e2-standard-4") && p.fix.includes("m6i.xlarge"));
});

test("an image on AWS must be an AMI id", () => {
  assert.ok(awsProblems({ ...awsMinimal(), image: "ubuntu-os-cloud/ubuntu-2404-lts-amd64" }).some((x) => x.key === "kubeadm-ha:image"));
});

test("AWS needs aws:region, and it must match kubeadm-ha:region", () => {
  assert.ok(awsProblems(awsMinimal(), {}).some((x) => x.key === "kubeadm-ha:region" && x.fix.includes("aws:region")));
  assert.ok(awsProblems(awsMinimal(), { "aws:region": "eu-west-1" }).some((x) => x.key === "kubeadm-ha:region" && x.message.includes("eu-west-1")));
});

test("natGateways is an AWS switch and is refused on GCP", () => {
  assertRejected({ ...minimal(), network: { natGateways: "single" } }, "kubeadm-ha:network.natGateways", "single");
});

test("the AWS subnet layout needs nodeCidr /22 or larger", () => {
  assert.ok(awsProblems({ ...awsMinimal(), network: { nodeCidr: "10.20.0.0/24" } }).some((x) => x.key === "kubeadm-ha:network.nodeCidr" && x.fix.includes("/22")));
});

test("one zone and one master are accepted only when the stack says the control plane is not HA", () => {
  const dev = { ...minimal(), zones: ["europe-west1-b"], controlPlane: { count: 1, highAvailability: false } };
  const c = validateClusterConfig(dev, "dev");
  assert.equal(c.controlPlane.highAvailability, false);
  assert.equal(c.controlPlane.count, 1);
  const problems = problemsOf({ ...dev, controlPlane: { count: 1 } });
  assert.deepEqual(problems.map((p) => p.key).sort(), ["kubeadm-ha:controlPlane.count", "kubeadm-ha:zones"]);
  assert.ok(
    problems.every((p) => p.fix.includes("highAvailability: false")),
    JSON.stringify(problems),
  );
});

test("a non-HA control plane still needs an odd number of masters", () => {
  assertRejected({ ...minimal(), controlPlane: { count: 2, highAvailability: false } }, "kubeadm-ha:controlPlane.count", "2");
});

test("hosts you own: HA masters must sit in three failure domains", () => {
  const hosts = (zones: string[]) => ({
    platform: "static",
    endpoint: { mode: "local-proxy" },
    network: { nodeCidr: "10.0.0.0/24" },
    hosts: { masters: zones.map((zone, i) => ({ name: `m${i}`, address: `10.0.0.${10 + i}`, zone })) },
  });
  assert.doesNotThrow(() => validateClusterConfig(hosts(["rack-a", "rack-b", "rack-c"]), "dc"));
  assertRejected(hosts(["site", "site", "site"]), "kubeadm-ha:hosts.masters", "site");
});

test("a host you own named as the program's own steps (<cluster>-control-plane) is refused: their steps would run into each other", () => {
  const { config } = readStackFile(join(__dirname, "..", "stacks"), "onprem-vip");
  const raw = fromRawConfig(config);
  (raw.hosts as { workers: Array<{ name: string }> }).workers[1].name = "dc1-control-plane";
  const problems = problemsOf(raw, "onprem-vip");
  assert.deepEqual(
    problems.map((p) => p.key),
    ["kubeadm-ha:hosts.workers[1].name"],
  );
  assert.match(problems[0].message, /"dc1-control-plane" is taken: the program names its own steps dc1-control-plane and dc1-control-plane-\*/);
  assert.match(problems[0].fix, /e\.g\. dc1-worker-1/);
});

test("a host address or VIP with an octet above 255 is named as not an address, not as outside the node CIDR", () => {
  const { config } = readStackFile(join(__dirname, "..", "stacks"), "onprem-vip");
  const raw = fromRawConfig(config);
  (raw.hosts as { workers: Array<{ address: string }> }).workers[0].address = "10.103.97.300";
  (raw.endpoint as { vip: string }).vip = "10.103.97.256";
  const problems = problemsOf(raw, "onprem-vip");
  assert.deepEqual(
    problems.map((p) => [p.key, p.message]),
    [
      ["kubeadm-ha:hosts.workers[0].address", '"10.103.97.300" is not an IPv4 address (four octets 0-255)'],
      ["kubeadm-ha:endpoint.vip", '"10.103.97.256" is not an IPv4 address (four octets 0-255)'],
    ],
  );
});
