// Bad input, table-driven: every file of test/fixtures/invalid-stacks is a shipped stack
// with one thing broken. Each goes through the real render CLI and must fail with one
// message that names the key, quotes the bad value and says how to fix it, before any
// resource is registered (nothing written).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "child_process";
import { existsSync, mkdtempSync, readdirSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ROOT } from "./helpers";

const DIR = join(ROOT, "test/fixtures/invalid-stacks");

/** [stack file, key the message names, bad value it quotes, words of the fix]. */
const CASES: Array<[string, string, string, string]> = [
  ["even-masters", "kubeadm-ha:controlPlane.count", "4 masters", "use 3 (survives one failure) or 5"],
  ["zero-masters", "kubeadm-ha:controlPlane.count", "0 masters", "use 3"],
  ["two-zones", "kubeadm-ha:zones", '"europe-west1-c"]', "list three zones of europe-west1"],
  ["zone-of-another-region", "kubeadm-ha:zones[2]", '"us-east1-b"', "use zones of europe-west1"],
  ["zone-listed-twice", "kubeadm-ha:zones[2]", '"europe-west1-c" is listed twice', "list each zone once"],
  ["aws-zone-of-another-region", "kubeadm-ha:zones[2]", '"us-west-2c"', "use zones of us-east-1"],
  ["pod-service-overlap", "kubeadm-ha:network.serviceCidr", '"10.96.0.0/12" overlaps network.podCidr "10.96.0.0/16"', "pick ranges that do not overlap"],
  ["node-pod-overlap", "kubeadm-ha:network.podCidr", 'overlaps network.nodeCidr "10.244.16.0/20"', "pick ranges that do not overlap"],
  ["cidr-syntax", "kubeadm-ha:network.nodeCidr", '"10.10.0/20"', "nodeCidr 10.10.0.0/20"],
  ["cidr-octet-out-of-range", "kubeadm-ha:network.nodeCidr", '"10.300.0.0/20"', "octets 0-255"],
  ["cidr-host-bits", "kubeadm-ha:network.nodeCidr", '"10.10.1.0/20" has host bits set', "write the network address, 10.10.0.0/20"],
  ["node-cidr-too-small", "kubeadm-ha:network.nodeCidr", '"10.10.0.0/28"', "use /26 or larger"],
  ["service-cidr-too-large", "kubeadm-ha:network.serviceCidr", '"172.0.0.0/8"', "use /12 to /24"],
  ["unknown-endpoint-mode", "kubeadm-ha:endpoint.mode", '"nlb"', 'use endpoint.mode "cloud-lb" on GCP/AWS'],
  ["unknown-top-level-key", "kubeadm-ha:zone", 'unknown key (value "europe-west1-b")', "check its spelling"],
  ["unknown-nested-key", "kubeadm-ha:controlPlane.replicas", "unknown key (value 3)", "check its spelling"],
  ["count-not-a-number", "kubeadm-ha:controlPlane.count", '"three"', "use controlPlane.count 3 or 5"],
  ["zones-not-a-list", "kubeadm-ha:zones", 'received string (got "europe-west1-b")', "list three or more distinct zones"],
  ["negative-nodes", "kubeadm-ha:nodePools[0].nodesPerZone", "got -1", "nodePools entry of the config reference"],
  ["cluster-name-too-long", "kubeadm-ha:clusterName", '"production-europe-west1-main"', "use up to 20 lower-case letters"],
  ["cluster-name-upper-case", "kubeadm-ha:clusterName", '"Prod"', "use up to 20 lower-case letters"],
  ["pool-name-too-long", "kubeadm-ha:nodePools[0].name", '"general-purpose-workers-pool"', "nodePools entry of the config reference"],
  ["pool-name-reserved", "kubeadm-ha:nodePools[0].name", '"master" is reserved', "pick another name"],
  ["vip-on-gcp", "kubeadm-ha:endpoint.mode", '"vip" needs hosts on one L2 segment: GCP', 'use "cloud-lb"'],
  ["vip-on-aws", "kubeadm-ha:endpoint.mode", '"vip" needs hosts on one L2 segment: AWS', 'use "cloud-lb"'],
  ["cloud-lb-on-static", "kubeadm-ha:endpoint.mode", "your own hosts have no cloud load balancer", 'use "vip"'],
  ["static-vip-missing", "kubeadm-ha:endpoint.vip", "needs the virtual address (missing)", "set endpoint.vip to a free address"],
  ["static-vip-outside-subnet", "kubeadm-ha:endpoint.vip", '"10.0.0.2" is outside network.nodeCidr', "use an address of the hosts' subnet"],
  ["static-vip-is-a-host", "kubeadm-ha:endpoint.vip", "\"10.103.97.200\" is a host's own address", "use a free address"],
  ["static-duplicate-address", "kubeadm-ha:hosts.workers[1].address", '"10.103.97.210" is used twice', "give every host its own address"],
  ["static-duplicate-name", "kubeadm-ha:hosts.workers[1].name", '"dc1-worker-0" is used twice', "give every host its own name"],
  ["static-even-masters", "kubeadm-ha:hosts.masters", "4 masters", "list 3 masters"],
  ["static-one-failure-domain", "kubeadm-ha:hosts.masters", '(["rack-a"])', "give each master its rack or room"],
  ["pool-min-above-max", "kubeadm-ha:nodePools[0].minPerZone", "minPerZone 6 is above maxPerZone 5", "make minPerZone <= nodesPerZone <= maxPerZone"],
  ["pool-nodes-above-max", "kubeadm-ha:nodePools[0].nodesPerZone", "nodesPerZone 9 is outside 1..5", "make minPerZone <= nodesPerZone <= maxPerZone"],
  ["pool-max-zero", "kubeadm-ha:nodePools[0].maxPerZone", "got 0", "nodePools entry of the config reference"],
  ["pool-no-zones", "kubeadm-ha:nodePools[0].zones", "got []", "nodePools entry of the config reference"],
  ["duplicate-pool-names", "kubeadm-ha:nodePools[1].name", '"general" is used twice', "give each pool its own name"],
  ["pool-zone-not-in-cluster", "kubeadm-ha:nodePools[0].zones[0]", '"europe-west1-e"', "use zones listed in kubeadm-ha:zones"],
  ["admin-cidr-whole-internet", "kubeadm-ha:adminCidrs[0]", '"0.0.0.0/0" opens the bastion', "list only your office or VPN ranges"],
  ["admin-cidrs-missing", "kubeadm-ha:adminCidrs", "(missing)", "list the CIDRs of your office or VPN"],
  ["kubernetes-version-with-v", "kubeadm-ha:kubernetes.version", '"v1.34.2"', "use a release such as 1.34.2"],
  ["kubernetes-version-too-old", "kubeadm-ha:kubernetes.version", '"1.29.0"', "use 1.31 or newer"],
  ["unknown-cni", "kubeadm-ha:kubernetes.cni.name", '"cilium"', "cni calico, flannel or none"],
  ["unknown-platform", "kubeadm-ha:platform", '"azure"', 'set it to "gcp" or "aws"'],
  ["ssh-private-key-alone", "kubeadm-ha:sshPublicKey", "sshPublicKey and sshPrivateKey go together", "set both, or neither"],
  ["fed-unknown-member", "kubeadm-ha:members", '"fed-mars-north1"', "name a cluster stack of stacks/"],
  ["fed-bad-domain", "kubeadm-ha:dns.domain", '"acme_com"', "dns.domain (e.g. acme.com)"],
  ["fed-unknown-key", "kubeadm-ha:dns.geo", "unknown key", "check its spelling"],
  ["fed-no-health-check-path", "kubeadm-ha:services[0].healthCheckPath", "(missing)", "federation section of README.md"],
  ["fed-check-interval", "kubeadm-ha:dns.healthCheck.intervalSeconds", "got 15", "intervalSeconds 10 or 30"],
];

function render(stack: string): Promise<{ code: number | null; stderr: string; out: string }> {
  const out = join(mkdtempSync(join(tmpdir(), `invalid-${stack}-`)), "out");
  return new Promise((done) => {
    execFile(process.execPath, ["--import", "tsx", join(ROOT, "render/cli.ts"), "--stack", stack, "--config-dir", DIR, "--out", out], { cwd: ROOT }, (err, _stdout, stderr) => done({ code: err ? (err.code as number) : 0, stderr, out }));
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("the table covers every invalid stack file, and there are at least 30", () => {
  const files = readdirSync(DIR).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
  assert.deepEqual(files, CASES.map((c) => c[0]).sort());
  assert.ok(CASES.length >= 30, `${CASES.length} cases`);
});

// Three renders at a time: each is a Node process (~1 s, most of it loading the SDKs).
describe("invalid stack files fail the render with the key, the value and the fix, registering nothing", { concurrency: 3 }, () => {
  for (const [stack, key, value, fix] of CASES) {
    test(`${stack}: refused, naming ${key}`, async () => {
      const r = await render(stack);
      assert.equal(r.code, 1, `the render must fail:\n${r.stderr}`);
      // One line per problem: "  - <key>: <message quoting the value>. Fix: <fix>."
      const lines = r.stderr.split("\n").filter((l) => new RegExp(`(^|\\s|render: )${escape(key)}: `).test(l));
      const line = lines.find((l) => l.includes(value)) ?? lines[0];
      assert.ok(line, `no problem names ${key}:\n${r.stderr}`);
      assert.ok(line.includes(value), `the message for ${key} should quote ${value}: ${line}`);
      assert.match(line, /Fix: /, `the message for ${key} should say how to fix it: ${line}`);
      assert.ok(line.slice(line.indexOf("Fix: ")).includes(fix), `the fix for ${key} should say "${fix}": ${line}`);
      assert.doesNotMatch(r.stderr, /resources were registered before the error/);
      assert.ok(!existsSync(r.out), "a failed render writes nothing");
    });
  }
});
