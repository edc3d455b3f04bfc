// Bad input, table-driven: every file of test/fixtures/invalid-stacks is a shipped stack
// with one thing broken, and must fail with exactly one problem that names the key, quotes
// the bad value and says how to fix it, before any resource is registered (nothing written).
// A cluster stack's config is validated in this process, as the program validates it first;
// federations (whose members are read from their stack files), the AWS preflight and a few
// rows of each kind run the whole program on the mock runtime in this process, as the render
// CLI runs it (renderStack); one cluster row and one federation row go through the real
// render CLI, in their own processes, end to end (exit code, stderr, nothing written).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import { besideShippedStacks, ROOT, SHIPPED_STACKS, tempDir } from "./helpers";
import { renderInChildProcess } from "../render/child";
import { readStackFile, RenderError, renderStack } from "../render/render";
import { ConfigError, fromRawConfig, validateClusterConfig } from "../components/config/validate";

const DIR = join(ROOT, "test/fixtures/invalid-stacks");

interface Case {
  /** The stack: test/fixtures/invalid-stacks/Pulumi.<file>.yaml. */
  file: string;
  /** What is wrong with it, for the test's name. */
  what: string;
  /** The config key the message must name. */
  key: string;
  /** The bad value, as the message must quote it. */
  value: string;
  /** Words of the fix (after "Fix: "). */
  fix: string;
  /** Other keys the same mistake is also reported under (a zone listed twice leaves too few zones). @default [] */
  also?: string[];
  /**
   * program: the whole program on the mock runtime, in this process (federations always are);
   * cli: the render CLI in its own process, end to end. @default validation alone
   */
  via?: "program" | "cli";
}

const CASES: Case[] = [
  // The control plane and its zones.
  { via: "cli", file: "even-masters", what: "a stack with four masters", key: "kubeadm-ha:controlPlane.count", value: "4 masters", fix: "use 3 (survives one failure) or 5" },
  { file: "zero-masters", what: "a stack with no master", key: "kubeadm-ha:controlPlane.count", value: "0 masters", fix: "use 3" },
  { file: "count-not-a-number", what: 'a master count written "three"', key: "kubeadm-ha:controlPlane.count", value: '"three"', fix: "use 3 (survives one failure) or 5" },
  { file: "two-zones", what: "a stack with two zones", key: "kubeadm-ha:zones", value: '"europe-west1-c"]', fix: "list three zones of europe-west1" },
  { file: "zone-of-another-region", what: "a GCP zone of another region", key: "kubeadm-ha:zones[2]", value: '"us-east1-b"', fix: "use zones of europe-west1" },
  {
    file: "zone-listed-twice",
    what: "a zone listed twice",
    key: "kubeadm-ha:zones[2]",
    value: '"europe-west1-c" is listed twice',
    fix: "list each zone once",
    also: ["kubeadm-ha:zones"],
  },
  {
    file: "zones-not-a-list",
    what: "a stack with its zones as one string",
    key: "kubeadm-ha:zones",
    value: 'received string (got "europe-west1-b")',
    fix: "list three or more distinct zones",
  },
  { file: "aws-zone-of-another-region", what: "an AWS zone of another region", key: "kubeadm-ha:zones[2]", value: '"us-west-2c"', fix: "use zones of us-east-1" },
  {
    via: "program",
    file: "aws-zone-not-available",
    what: "an AWS zone the region does not have",
    key: "kubeadm-ha:zones[2]",
    value: '"us-east-1g" is not an available zone',
    fix: "use zones that getAvailabilityZones lists",
  },
  // Networks.
  {
    file: "pod-service-overlap",
    what: "a stack with overlapping pod and service CIDRs",
    key: "kubeadm-ha:network.serviceCidr",
    value: '"10.96.0.0/12" overlaps network.podCidr "10.96.0.0/16"',
    fix: "pick ranges that do not overlap",
  },
  {
    file: "node-pod-overlap",
    what: "a node CIDR inside the pod CIDR",
    key: "kubeadm-ha:network.podCidr",
    value: 'overlaps network.nodeCidr "10.244.16.0/20"',
    fix: "pick ranges that do not overlap",
  },
  { file: "cidr-syntax", what: "a CIDR with three octets", key: "kubeadm-ha:network.nodeCidr", value: '"10.10.0/20"', fix: "IPv4 CIDR, e.g. 10.10.0.0/20" },
  { file: "cidr-octet-out-of-range", what: "a CIDR octet above 255", key: "kubeadm-ha:network.nodeCidr", value: '"10.300.0.0/20"', fix: "octets 0-255" },
  {
    file: "cidr-host-bits",
    what: "a CIDR with host bits set",
    key: "kubeadm-ha:network.nodeCidr",
    value: '"10.10.1.0/20" has host bits set',
    fix: "write the network address, 10.10.0.0/20",
  },
  { file: "node-cidr-too-small", what: "a /28 node CIDR", key: "kubeadm-ha:network.nodeCidr", value: '"10.10.0.0/28"', fix: "use /26 or larger" },
  { file: "service-cidr-too-large", what: "a /8 service CIDR", key: "kubeadm-ha:network.serviceCidr", value: '"172.0.0.0/8"', fix: "use /12 to /24" },
  {
    file: "service-cidr-too-small",
    what: "a /29 service range",
    key: "kubeadm-ha:network.serviceCidr",
    value: '"10.96.0.0/29" has 8 addresses: kubeadm gives the cluster\'s DNS Service its 10th',
    fix: "use /12 to /24",
  },
  // The endpoint.
  { file: "unknown-endpoint-mode", what: "an unknown endpoint.mode", key: "kubeadm-ha:endpoint.mode", value: '"nlb"', fix: 'use "cloud-lb" on GCP/AWS' },
  { file: "vip-on-gcp", what: "a VIP on GCP", key: "kubeadm-ha:endpoint.mode", value: '"vip" needs hosts on one L2 segment: GCP', fix: 'use "cloud-lb"' },
  {
    file: "autoscaling-mode-on-aws",
    what: "the GCE autoscaler's mode on an AWS pool",
    key: "kubeadm-ha:nodePools[0].autoscalingMode",
    value: '"ON": is the GCE autoscaler\'s mode',
    fix: "remove autoscalingMode",
  },
  {
    file: "backups-off-with-interval",
    what: "an interval for backups switched off",
    key: "kubeadm-ha:backups.every",
    value: '"30m": backups are off',
    fix: "remove backups.every, or set backups.enabled: true",
  },
  { file: "vip-on-aws", what: "a VIP on AWS", key: "kubeadm-ha:endpoint.mode", value: '"vip" needs hosts on one L2 segment: AWS', fix: 'use "cloud-lb"' },
  {
    file: "cloud-lb-on-static",
    what: "a cloud load balancer for hosts you own",
    key: "kubeadm-ha:endpoint.mode",
    value: "your own hosts have no cloud load balancer",
    fix: 'use "vip"',
  },
  {
    via: "program",
    file: "static-vip-missing",
    what: "mode vip without a VIP",
    key: "kubeadm-ha:endpoint.vip",
    value: "needs the virtual address (missing)",
    fix: "set endpoint.vip to a free address",
  },
  {
    file: "static-vip-outside-subnet",
    what: "a VIP outside the node CIDR",
    key: "kubeadm-ha:endpoint.vip",
    value: '"10.0.0.2" is outside network.nodeCidr',
    fix: "use an address of the hosts' subnet",
  },
  {
    file: "static-vip-is-a-host",
    what: "a VIP equal to a master's address",
    key: "kubeadm-ha:endpoint.vip",
    value: '"10.103.97.200" is a host\'s own address',
    fix: "use a free address",
  },
  {
    file: "endpoint-vip-on-gcp",
    what: "endpoint.vip on a GCP stack",
    key: "kubeadm-ha:endpoint.vip",
    value: '"10.10.0.5": a VIP is for hosts you own',
    fix: "remove endpoint.vip",
  },
  {
    file: "static-vip-broadcast",
    what: "a VIP at the node CIDR's broadcast address",
    key: "kubeadm-ha:endpoint.vip",
    value: '"10.103.97.255" is the broadcast address',
    fix: "use a free address",
  },
  // Keys and types.
  {
    via: "program",
    file: "unknown-top-level-key",
    what: "a typo of a top-level key (kubeadm-ha:zone)",
    key: "kubeadm-ha:zone",
    value: 'unknown key (value "europe-west1-b")',
    fix: "check its spelling",
  },
  {
    file: "unknown-nested-key",
    what: "an unknown nested key (controlPlane.replicas)",
    key: "kubeadm-ha:controlPlane.replicas",
    value: "unknown key (value 3)",
    fix: "check its spelling",
  },
  { file: "unknown-layout", what: "an unknown layout", key: "kubeadm-ha:layout", value: 'unknown layout "federations"', fix: '"federation" for a federation stack' },
  { file: "unknown-platform", what: "an unknown platform", key: "kubeadm-ha:platform", value: '"azure"', fix: 'set it to "gcp", "aws" or "static"' },
  { file: "unknown-cni", what: "an unknown CNI", key: "kubeadm-ha:kubernetes.cni.name", value: '"cilium"', fix: 'use "calico", "flannel", "bridge"' },
  // Names and cloud limits.
  {
    file: "cluster-name-too-long",
    what: "a 28-character cluster name",
    key: "kubeadm-ha:clusterName",
    value: '"production-europe-west1-main"',
    fix: "use up to 20 lower-case letters",
  },
  { file: "cluster-name-upper-case", what: "an upper-case cluster name", key: "kubeadm-ha:clusterName", value: '"Prod"', fix: "use up to 20 lower-case letters" },
  {
    file: "pool-name-too-long",
    what: "a 28-character pool name",
    key: "kubeadm-ha:nodePools[0].name",
    value: '"general-purpose-workers-pool"',
    fix: "use up to 20 lower-case letters",
  },
  {
    file: "gcp-template-prefix-too-long",
    what: "a cluster and pool name that together break GCP's template prefix limit",
    key: "kubeadm-ha:nodePools[0].name",
    value: '"production-europe-w1-general-purpose-pool-", 42 characters',
    fix: "shorten the pool name to 15 characters or fewer",
  },
  {
    file: "pool-name-reserved",
    what: "a pool named master",
    key: "kubeadm-ha:nodePools[0].name",
    value: '"master" is taken: the program names its own resources prod-master and prod-master-*',
    fix: "pick another name",
  },
  {
    file: "duplicate-pool-names",
    what: "a stack with two pools of one name",
    key: "kubeadm-ha:nodePools[1].name",
    value: '"general" is used twice',
    fix: "give each pool its own name",
  },
  // Pools.
  { file: "negative-nodes", what: "nodesPerZone -1", key: "kubeadm-ha:nodePools[0].nodesPerZone", value: "got -1", fix: "use a whole number from 0" },
  {
    file: "pool-min-above-max",
    what: "minPerZone above maxPerZone",
    key: "kubeadm-ha:nodePools[0].minPerZone",
    value: "minPerZone 6 is above maxPerZone 5",
    fix: "make minPerZone <= nodesPerZone <= maxPerZone",
  },
  {
    file: "pool-nodes-above-max",
    what: "nodesPerZone above maxPerZone",
    key: "kubeadm-ha:nodePools[0].nodesPerZone",
    value: "nodesPerZone 9 is outside 1..5",
    fix: "make minPerZone <= nodesPerZone <= maxPerZone",
  },
  { file: "pool-max-zero", what: "a pool with maxPerZone 0", key: "kubeadm-ha:nodePools[0].maxPerZone", value: "got 0", fix: "use a whole number from 1" },
  { file: "pool-no-zones", what: "a pool with an empty zone list", key: "kubeadm-ha:nodePools[0].zones", value: "got []", fix: "list one or more of the cluster's zones" },
  {
    file: "pool-zone-not-in-cluster",
    what: "a pool zone the cluster does not use",
    key: "kubeadm-ha:nodePools[0].zones[0]",
    value: '"europe-west1-e"',
    fix: "use zones listed in kubeadm-ha:zones",
  },
  {
    file: "pool-label-node-role",
    what: "a node-role.kubernetes.io pool label",
    key: "kubeadm-ha:nodePools[0].labels.node-role.kubernetes.io/worker",
    value: '"node-role.kubernetes.io/worker" on its own node',
    fix: "use your own prefix",
  },
  {
    file: "pool-label-value-invalid",
    what: "a pool label value with a space",
    key: "kubeadm-ha:nodePools[0].labels.example.com/team",
    value: 'label value "data science" is not empty or letters',
    fix: 'write a value such as "data-science"',
  },
  {
    via: "program",
    file: "pool-taint-twice",
    what: "a taint listed twice with one effect",
    key: "kubeadm-ha:nodePools[0].taints[1]",
    value: 'taint "dedicated" with effect NoSchedule is listed twice',
    fix: "keep one entry for each key and effect",
  },
  {
    file: "pool-taint-value-invalid",
    what: "a taint value with a slash",
    key: "kubeadm-ha:nodePools[0].taints[0].value",
    value: 'taint value "batch/jobs"',
    fix: "write a value such as gpu",
  },
  {
    file: "pool-name-derived",
    what: "a pool named as the program's own subnets",
    key: "kubeadm-ha:nodePools[0].name",
    value: '"public" is taken: the program names its own resources prod-public and prod-public-*',
    fix: "pick another name",
  },
  {
    file: "pool-zone-twice",
    what: "a pool that lists one zone twice",
    key: "kubeadm-ha:nodePools[0].zones[2]",
    value: 'zone "europe-west1-b" is listed twice for pool "general"',
    fix: "list each zone once",
  },
  {
    file: "gcp-image-ami",
    what: "an AMI id as a GCP stack's image",
    key: "kubeadm-ha:image",
    value: '"ami-0123456789abcdef0" is not a GCP image (an AMI id is AWS\'s)',
    fix: "use project/family",
  },
  // Access, versions, provider.
  {
    file: "admin-cidr-whole-internet",
    what: "adminCidrs 0.0.0.0/0",
    key: "kubeadm-ha:adminCidrs[0]",
    value: '"0.0.0.0/0" opens the bastion',
    fix: "list only your office or VPN ranges",
  },
  {
    file: "admin-cidr-host-bits",
    what: "an admin CIDR with host bits set",
    key: "kubeadm-ha:adminCidrs[0]",
    value: '"198.51.100.7/24" has host bits set',
    fix: "write 198.51.100.0/24",
  },
  { file: "admin-cidrs-missing", what: "a cloud stack without adminCidrs", key: "kubeadm-ha:adminCidrs", value: "(missing)", fix: "list the CIDRs of your office or VPN" },
  {
    file: "ssh-private-key-alone",
    what: "sshPrivateKey without sshPublicKey",
    key: "kubeadm-ha:sshPublicKey",
    value: "sshPublicKey and sshPrivateKey go together",
    fix: "set both, or neither",
  },
  { file: "kubernetes-version-with-v", what: "kubernetes.version v1.34.2", key: "kubeadm-ha:kubernetes.version", value: '"v1.34.2"', fix: 'e.g. "1.34.2"' },
  {
    via: "program",
    file: "kubernetes-version-unquoted",
    what: "kubernetes.version 1.34 (a YAML number)",
    key: "kubeadm-ha:kubernetes.version",
    value: "received number (got 1.34)",
    fix: "as a quoted string",
  },
  { file: "kubernetes-version-too-old", what: "an unsupported old Kubernetes version", key: "kubeadm-ha:kubernetes.version", value: '"1.29.0"', fix: "use 1.31 or newer" },
  {
    file: "renew-window-not-shorter",
    what: "a certificate renewal window as long as their validity",
    key: "kubeadm-ha:kubernetes.certificates.renewBefore",
    value: '"720h" is not shorter than certificates.validity "720h"',
    fix: 'use from 10m to less than 720h, e.g. "60h"',
  },
  {
    file: "validity-in-days",
    what: "a certificate validity written in days",
    key: "kubeadm-ha:kubernetes.certificates.validity",
    value: '(got "365d")',
    fix: "use hours and minutes from 1h to 87600h",
  },
  {
    file: "token-ttl-too-long",
    what: "a bootstrap token that lives two years",
    key: "kubeadm-ha:kubernetes.bootstrapToken.ttl",
    value: '"17520h" is outside 1h to 8760h',
    fix: "use hours and minutes from 1h to 8760h",
  },
  // Hosts you own.
  {
    file: "static-duplicate-address",
    what: "a static stack with two hosts at one address",
    key: "kubeadm-ha:hosts.workers[1].address",
    value: '"10.103.97.210" is used twice',
    fix: "give every host its own address",
  },
  {
    file: "static-duplicate-name",
    what: "a static stack with two hosts of one name",
    key: "kubeadm-ha:hosts.workers[1].name",
    value: '"dc1-worker-0" is used twice',
    fix: "give every host its own name",
  },
  { file: "static-even-masters", what: "a static stack with four masters", key: "kubeadm-ha:hosts.masters", value: "4 masters", fix: "list 3 masters" },
  {
    file: "static-one-failure-domain",
    what: "a static stack with every master in one rack",
    key: "kubeadm-ha:hosts.masters",
    value: '(["rack-a"])',
    fix: "give each master its rack or room",
  },
  {
    file: "static-nat-gateways",
    what: "a NAT setting on hosts you own",
    key: "kubeadm-ha:network.natGateways",
    value: '"single": the program makes NAT gateways on AWS only',
    fix: "remove network.natGateways",
  },
  {
    file: "static-control-plane-count",
    what: "controlPlane.count on hosts you own",
    key: "kubeadm-ha:controlPlane.count",
    value: "5: on hosts you own the masters are hosts.masters (3 listed)",
    fix: "remove controlPlane.count",
  },
  {
    file: "static-host-network-address",
    what: "a host at the node CIDR's network address",
    key: "kubeadm-ha:hosts.workers[1].address",
    value: '"10.103.97.0" is the network address',
    fix: "use the host's own address, between 10.103.97.1 and 10.103.97.254",
  },
  // Federations.
  {
    via: "cli",
    file: "fed-unknown-member",
    what: "a federation member stack that does not exist",
    key: "kubeadm-ha:members",
    value: 'unknown member stack "fed-mars-north1"',
    fix: "name a cluster stack of stacks/",
  },
  { file: "fed-bad-domain", what: "a federation DNS domain that is not a domain", key: "kubeadm-ha:dns.domain", value: '"acme_com"', fix: "dns.domain (e.g. acme.com)" },
  { file: "fed-unknown-key", what: "an unknown key in a federation's DNS settings", key: "kubeadm-ha:dns.geo", value: "unknown key", fix: "check its spelling" },
  {
    file: "fed-no-health-check-path",
    what: "a federated service without healthCheckPath",
    key: "kubeadm-ha:services[0].healthCheckPath",
    value: "(missing)",
    fix: "an HTTP path that answers 200",
  },
  {
    file: "fed-member-itself",
    what: "a federation that lists itself",
    key: "kubeadm-ha:members[4].stack",
    value: '"fed-member-itself" is this federation itself',
    fix: "name the cluster stacks it spreads over",
  },
  {
    file: "fed-member-federation",
    what: "a federation that lists another federation",
    key: "kubeadm-ha:members[4].stack",
    value: '"fed-global" is a federation, not a cluster',
    fix: "list the cluster stacks of that federation",
  },
  {
    file: "fed-member-static",
    what: "a federation that lists a cluster on hosts you own",
    key: "kubeadm-ha:members[4].stack",
    value: '"onprem-vip" is a cluster on hosts you own',
    fix: "name GCP or AWS cluster stacks",
  },
  {
    file: "fed-alias-outside-domain",
    what: "an alias outside the federation's DNS domain",
    key: "kubeadm-ha:aliases[0].name",
    value: '"eu.nginx.example.org." is outside dns.domain "acme.com."',
    fix: "use a name under acme.com.",
  },
  {
    file: "fed-check-interval",
    what: "a DNS health-check interval Route 53 does not offer",
    key: "kubeadm-ha:dns.healthCheck.intervalSeconds",
    value: "got 15",
    fix: "intervalSeconds 10 or 30",
  },
];

const fixtures = () => readdirSync(DIR).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);

/** A config dir holding the fixture beside the shipped stacks: only the broken thing is reported. */
const configDirOf = (file: string) => besideShippedStacks(file, readFileSync(join(DIR, `Pulumi.${file}.yaml`)));

/** Renders one fixture, beside the shipped stacks, with `render/cli.ts` in a child process. */
function render(file: string): Promise<{ code: number | null; stderr: string; out: string }> {
  const out = join(tempDir(`invalid-${file}-`), "out");
  return renderInChildProcess(ROOT, file, out, configDirOf(file)).then((r) => ({ ...r, out }));
}

/** The problems stated in the render's stderr, one per line: "render: <key>: ..." or "  - <key>: ...". */
const problemsOf = (stderr: string) =>
  stderr.split("\n").flatMap((line) => {
    const m = /^(?:render: |  - )(kubeadm-ha:\S+): /.exec(line);
    return m ? [{ key: m[1], line }] : [];
  });

test("every invalid stack file has a row, every row a file, and there are at least 30", () => {
  assert.deepEqual(fixtures().sort(), CASES.map((c) => c.file).sort());
  assert.equal(new Set(CASES.map((c) => c.file)).size, CASES.length, "one row per file");
  assert.ok(CASES.length >= 30, `${CASES.length} rows`);
  for (const f of fixtures()) {
    assert.ok(!SHIPPED_STACKS.includes(f), `${f} shadows a shipped stack`);
    assert.match(readFileSync(join(DIR, `Pulumi.${f}.yaml`), "utf8"), new RegExp(`^# Invalid on purpose \\(${f}\\): `), `${f} says what is broken on its first line`);
  }
});

// Rows through the program run it here, one after another (the mock runtime is one per process):
// a render CLI process costs ~2 s of CPU, nearly all of it loading @pulumi/pulumi and the providers.
/** One problem line of the row's key: names it, quotes the value, and says how to fix it; no other problem but those the row expects. */
function assertOneProblem(c: Case, text: string) {
  const problems = problemsOf(text);
  assert.deepEqual(problems.map((p) => p.key).sort(), [c.key, ...(c.also ?? [])].sort(), text);
  const line = problems.find((p) => p.key === c.key)!.line;
  assert.ok(line.includes("Fix: "), `the problem should say how to fix it: ${line}`);
  const [message, fix] = [line.slice(0, line.indexOf("Fix: ")), line.slice(line.indexOf("Fix: "))];
  assert.ok(message.includes(c.value), `the problem should quote ${c.value}: ${line}`);
  assert.ok(fix.includes(c.fix), `the fix should say "${c.fix}": ${line}`);
}

const isFederation = (file: string) => readStackFile(DIR, file).config["kubeadm-ha:layout"] === "federation";
/** How a row is checked: its own `via`, the program for a federation, else the validation alone. */
const wayOf = (c: Case) => c.via ?? (isFederation(c.file) ? "program" : "validation");

/** Fails unless `text` (what the render CLI prints) states exactly the row's problem, found before any resource was registered. */
function assertRefusedBeforeAnything(c: Case, text: string) {
  // Config problems, reported before the program registered anything (not a stack trace, not a render check after it ran).
  assert.match(text, /^render: (invalid stack config \(\d+ problems?\); nothing was created:\n|kubeadm-ha:)/, text);
  assert.doesNotMatch(text, /resources were registered before the error/);
  // One thing is broken, so one problem (and those the row expects with it).
  assertOneProblem(c, text);
}

describe("invalid cluster stack files are refused by the program's validation, with the key, the value and the fix", () => {
  for (const c of CASES.filter((x) => wayOf(x) === "validation")) {
    test(`${c.what} is refused, naming ${c.key}`, () => {
      const { config } = readStackFile(DIR, c.file);
      let error: unknown;
      try {
        validateClusterConfig(fromRawConfig(config), c.file, config);
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof ConfigError, `the validation must refuse it with a ConfigError, got ${String(error)}`);
      assertOneProblem(c, error.message);
    });
  }
});

describe("invalid stack files fail the program on the mock runtime, as the render CLI runs it, before any resource is registered", () => {
  for (const c of CASES.filter((x) => wayOf(x) === "program")) {
    test(`${c.what} is refused, naming ${c.key}`, async () => {
      let error: unknown;
      await renderStack(ROOT, c.file, configDirOf(c.file)).catch((e) => (error = e));
      assert.ok(error instanceof RenderError, `the render must fail with a RenderError, got ${String(error)}`);
      assertRefusedBeforeAnything(c, `render: ${error.message}`);
    });
  }
});

describe("invalid stack files fail the render CLI with the key, the value and the fix, writing nothing", { concurrency: 2 }, () => {
  for (const c of CASES.filter((x) => wayOf(x) === "cli")) {
    test(`${c.what} is refused, naming ${c.key}`, async () => {
      const r = await render(c.file);
      assert.equal(r.code, 1, `the render must fail:\n${r.stderr}`);
      assertRefusedBeforeAnything(c, r.stderr);
      assert.ok(!existsSync(join(r.out, "resources.json")) && !existsSync(r.out), "a failed render writes nothing");
    });
  }
});
