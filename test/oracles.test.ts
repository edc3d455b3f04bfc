// The programs that finally read a key are asked too. For values on both sides of each rule,
// whatever our validation accepts, they accept from the files the program writes: kubeadm
// (`kubeadm config validate` on the init config: node names, subnets, the endpoint name,
// addresses), the kernel (a network interface of that name, made in a private network
// namespace by iproute2) and keepalived (`--config-test` on the rendered keepalived.conf, in that
// namespace). Values our validation refuses are also fed to them where the program could
// write them, and at least one per key must be refused there too: the candidates reach
// across the consumer's own rule, so this test cannot pass by trying only good values.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import { writeFileSync } from "fs";
import { join } from "path";
import { readStackFile } from "../render/render";
import { ClusterConfig, ConfigError, fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { planCluster } from "../components/plan/cluster-plan";
import { initConfig, TOKEN_PLACEHOLDER } from "../components/plan/kubeadm";
import { endpointFiles } from "../components/plan/static-files";
import { ENDPOINT_PATHS } from "../components/plan/onprem-endpoint";
import { tool } from "../toolchain/cache";
import { ROOT, tempDir, toolchainSkip } from "./helpers";

type Raw = Record<string, any>;
const DIR = tempDir("kubeadm-ha-oracles-");
const NOT_ROOT = typeof process.getuid === "function" && process.getuid() !== 0 ? "needs root: interfaces are made in a private network namespace" : undefined;

/** The stack's raw config with `edit` applied. */
function stackWith(stack: string, edit: (raw: Raw) => void): { raw: Raw; config: Record<string, string> } {
  const { config } = readStackFile(join(ROOT, "stacks"), stack);
  const raw = fromRawConfig(config) as Raw;
  edit(raw);
  return { raw, config };
}

/** Our verdict: the validated config, or the problems' keys. */
function ours(stack: string, edit: (raw: Raw) => void): ClusterConfig | string[] {
  const { raw, config } = stackWith(stack, edit);
  try {
    return validateClusterConfig(raw, stack, config);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => p.key);
    throw e;
  }
}

/** The stack validated as it ships, with `edit` forced into the result (what the program would write if validation let it through). */
function forced(stack: string, edit: (c: Raw) => void): ClusterConfig {
  const c = ours(stack, () => undefined);
  assert.ok(!Array.isArray(c), `${stack} as shipped passes`);
  const copy = structuredClone(c) as Raw;
  edit(copy);
  return copy as ClusterConfig;
}

function run(argv: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(argv[0], argv.slice(1));
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (status) => resolve({ status, out: out.trim() }));
  });
}

let n = 0;
/** kubeadm's verdict on the init config of master-0 the program writes for `c` (undefined: the program cannot even plan it). */
async function kubeadm(c: ClusterConfig): Promise<{ ok: boolean; said: string } | undefined> {
  let text: string;
  try {
    const plan = planCluster(c);
    text = initConfig(plan, plan.masters[0]).replaceAll(TOKEN_PLACEHOLDER, "abcdef.0123456789abcdef");
  } catch {
    return undefined;
  }
  const file = join(DIR, `init-${n++}.yaml`);
  writeFileSync(file, text);
  const r = await run([tool("kubeadm"), "config", "validate", "--config", file]);
  return { ok: r.status === 0 && r.out === "ok", said: r.out };
}

/** For each value: ours accepts => kubeadm accepts; and some value is refused by both. */
async function agreeWithKubeadm(t: { diagnostic(s: string): void }, stack: string, key: string, values: unknown[], put: (c: Raw, v: unknown) => void) {
  const verdicts = await Promise.all(
    values.map(async (value) => {
      const mine = ours(stack, (raw) => put(raw, value));
      const accepted = !Array.isArray(mine);
      const theirs = await kubeadm(accepted ? mine : forced(stack, (c) => put(c, value)));
      return { value, accepted, mine, theirs };
    }),
  );
  for (const v of verdicts) {
    if (v.accepted) {
      assert.ok(v.theirs?.ok, `${key} ${JSON.stringify(v.value)} passes our validation, but kubeadm refuses the init config the program writes: ${v.theirs?.said}`);
    } else {
      assert.ok(
        (v.mine as string[]).some((k) => k.startsWith(`kubeadm-ha:${key.split("[")[0]}`)),
        `${key} ${JSON.stringify(v.value)} is refused naming another key: ${v.mine}`,
      );
    }
    t.diagnostic(
      `${key} ${JSON.stringify(v.value)}: ours ${v.accepted ? "accepts" : "refuses"}, kubeadm ${v.theirs === undefined ? "not reached (the plan cannot be made)" : v.theirs.ok ? "accepts" : "refuses: " + v.theirs.said.split("\n")[0]}`,
    );
  }
  assert.ok(
    verdicts.some((v) => !v.accepted && v.theirs && !v.theirs.ok),
    `no ${key} value tried is refused by kubeadm: the candidates do not reach its rule`,
  );
  assert.ok(
    verdicts.some((v) => v.accepted),
    `no ${key} value tried is accepted`,
  );
}

const SKIP_KUBEADM = toolchainSkip(["kubeadm"]);
const ON_CLOUD = "gcp-three-zone";
const ON_HOSTS = "onprem-vip";

test("cluster names: every one we accept makes node names kubeadm accepts", { skip: SKIP_KUBEADM }, async (t) => {
  await agreeWithKubeadm(
    t,
    ON_CLOUD,
    "clusterName",
    ["prod", "p", "a".repeat(20), "prod-eu-1", "Prod", "prod_1", "1prod", "prod-", "prod.eu", "a".repeat(21)],
    (c, v) => (c.clusterName = v),
  );
});

test("host names you own: every one we accept is a node name kubeadm accepts", { skip: SKIP_KUBEADM }, async (t) => {
  const put = (c: Raw, v: unknown) => (c.hosts.masters[0].name = v);
  await agreeWithKubeadm(t, ON_HOSTS, "hosts.masters[0].name", ["dc1-master-0", "m", "a".repeat(63), "DC1-master-0", "dc1_master_0", "dc1.master.0", "-dc1", "a".repeat(64)], put);
});

test("service ranges: every one we accept is a service subnet kubeadm accepts", { skip: SKIP_KUBEADM }, async (t) => {
  const prefixes = [8, 10, 11, 12, 16, 20, 24, 25, 27, 28, 29];
  await agreeWithKubeadm(
    t,
    ON_CLOUD,
    "network.serviceCidr",
    prefixes.map((p) => `10.96.0.0/${p}`.replace(/^10\.96\.0\.0\/([89]|1[01])$/, "10.0.0.0/$1")),
    (c, v) => (c.network.serviceCidr = v),
  );
});

test("pod ranges: every one we accept is a pod subnet kubeadm accepts", { skip: SKIP_KUBEADM }, async (t) => {
  await agreeWithKubeadm(
    t,
    ON_CLOUD,
    "network.podCidr",
    ["10.244.0.0/16", "10.244.0.0/14", "10.244.0.0/24", "10.244.0.0/33", "10.244.0.0", "10.244.0.0/-1"],
    (c, v) => (c.network.podCidr = v),
  );
});

test("host addresses: every one we accept is an advertise address kubeadm accepts", { skip: SKIP_KUBEADM }, async (t) => {
  const put = (c: Raw, v: unknown) => (c.hosts.masters[0].address = v);
  await agreeWithKubeadm(t, ON_HOSTS, "hosts.masters[0].address", ["10.103.97.200", "10.103.97.254", "10.103.97.300", "10.103.97", "10.103.97.200.1", "fe80::1"], put);
});

test("endpoint names: every one we accept is a control-plane endpoint kubeadm accepts", { skip: SKIP_KUBEADM }, async (t) => {
  const put = (c: Raw, v: unknown) => (c.endpoint.name = v);
  await agreeWithKubeadm(
    t,
    ON_CLOUD,
    "endpoint.name",
    ["api.prod.internal", "api.prod.example.com", `${"a".repeat(63)}.internal`, "api", "API.prod.internal", "api_prod.internal", "api..internal", "api.prod.internal:6443"],
    put,
  );
});

// ------------------------------------------------------------------ the kernel and keepalived

const NETNS = `kh-oracle-${process.pid}`;
const CHECK = join(DIR, "check-apiserver-proxy");
after(() => {
  if (!NOT_ROOT) spawnSync("ip", ["netns", "delete", NETNS]);
});

/** keepalived's verdict on master-0's keepalived.conf for `c`, with an interface of c's name made in the namespace (the kernel's verdict first). */
function keepalived(c: ClusterConfig): { kernel: boolean; keepalived: boolean; said: string } {
  const name = c.endpoint.interface;
  // A veth pair (its peer goes with it): the dummy driver may not be loadable where the tests run.
  const link = spawnSync("ip", ["-n", NETNS, "link", "add", "name", name, "type", "veth", "peer", "name", "oracle-peer"], { encoding: "utf8" });
  const kernel = link.status === 0;
  try {
    const plan = planCluster(c);
    const m = plan.masters[0];
    const conf = endpointFiles(plan, { name: m.name, address: m.ip, masterIndex: 0 }).find((f) => f.path === ENDPOINT_PATHS.keepalived)!;
    const file = join(DIR, `keepalived-${n++}.conf`);
    // The health check the conf names is written by the same step on a master; here, one that passes.
    writeFileSync(CHECK, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    writeFileSync(file, conf.content.replaceAll(ENDPOINT_PATHS.check, CHECK));
    const r = spawnSync("ip", ["netns", "exec", NETNS, "keepalived", "--config-test", "-f", file], { encoding: "utf8" });
    return { kernel, keepalived: r.status === 0, said: (link.stderr + r.stdout + r.stderr).trim() };
  } finally {
    if (kernel) spawnSync("ip", ["-n", NETNS, "link", "delete", name]);
  }
}

const SKIP_KEEPALIVED = NOT_ROOT ?? (spawnSync("keepalived", ["--version"]).error ? "keepalived is not installed (setup.sh installs it)" : undefined);

test("VIP interfaces: every name we accept is one the kernel can give an interface and keepalived reads as written", { skip: SKIP_KEEPALIVED }, () => {
  assert.equal(spawnSync("ip", ["netns", "add", NETNS]).status, 0, "a private network namespace");
  const values = ["eth0", "ens3", "bond0.100", "br-lan", "vlan_7", "a".repeat(15), ".", "..", "-", "a".repeat(16), "eth 0", "eth/0", "eth0:1", "x#y", 'eth0"x', ""];
  const verdicts = values.map((value) => {
    const mine = ours(ON_HOSTS, (raw) => (raw.endpoint.interface = value));
    const accepted = !Array.isArray(mine);
    return { value, accepted, mine, theirs: keepalived(accepted ? mine : forced(ON_HOSTS, (c) => (c.endpoint.interface = value))) };
  });
  for (const v of verdicts) {
    if (v.accepted)
      assert.ok(
        v.theirs.kernel && v.theirs.keepalived,
        `endpoint.interface ${JSON.stringify(v.value)} passes our validation, but ${v.theirs.kernel ? "keepalived" : "the kernel"} refuses it: ${v.theirs.said}`,
      );
    else assert.ok((v.mine as string[]).includes("kubeadm-ha:endpoint.interface"), `${JSON.stringify(v.value)} is refused naming another key: ${v.mine}`);
  }
  assert.ok(
    verdicts.some((v) => !v.accepted && !v.theirs.kernel),
    "some name tried is refused by the kernel",
  );
  assert.ok(
    verdicts.some((v) => !v.accepted && v.theirs.kernel && !v.theirs.keepalived),
    "some name tried is one the kernel takes but keepalived misreads",
  );
});

test("VIPs: every address we accept is one keepalived takes as the VIP", { skip: SKIP_KEEPALIVED }, () => {
  spawnSync("ip", ["netns", "add", NETNS]);
  const values = ["10.103.97.2", "10.103.97.250", "10.103.97.256", "10.103.97", "1.2.3.4.5", "::1", "10.103.97.2/24"];
  const verdicts = values.map((value) => {
    const mine = ours(ON_HOSTS, (raw) => (raw.endpoint.vip = value));
    const accepted = !Array.isArray(mine);
    return { value, accepted, mine, theirs: keepalived(accepted ? mine : forced(ON_HOSTS, (c) => (c.endpoint.vip = value))) };
  });
  for (const v of verdicts) {
    if (v.accepted)
      assert.ok(
        v.theirs.keepalived && !/skipping|ignoring/.test(v.theirs.said),
        `endpoint.vip ${JSON.stringify(v.value)} passes our validation, but keepalived does not take it: ${v.theirs.said}`,
      );
    else assert.ok((v.mine as string[]).includes("kubeadm-ha:endpoint.vip"), `${JSON.stringify(v.value)} is refused naming another key: ${v.mine}`);
  }
  assert.ok(
    verdicts.some((v) => !v.accepted && !v.theirs.keepalived),
    "some address tried is refused by keepalived",
  );
});
