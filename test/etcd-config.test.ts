// etcd's topology in the stack: stacked (the default) or external, what each accepts and
// refuses, and what an external one makes of the cluster's plan: its members, and masters
// whose apiservers reach every member with a client certificate and run no member of their
// own, as kubeadm 1.34.2 itself writes them from the program's config.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { ClusterConfig, ConfigError, ConfigProblem, fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { settledChanges, settledOf } from "../components/config/settled";
import { planCluster } from "../components/plan/cluster-plan";
import { EXTERNAL_ETCD_CLIENT } from "../components/plan/etcd-cluster";
import { initConfig, TOKEN_PLACEHOLDER } from "../components/plan/kubeadm";
import { ingressRules, rolesOf } from "../components/plan/network-policy";
import { firewallRules } from "../components/plan/platforms/gcp-resources";
import { awsIngressRules } from "../components/aws/security-groups";
import { readStackFile } from "../render/render";
import { kubeadmPhases, writeSharedPki } from "../lab/kubeadm";
import { ROOT, tempDir, toolchainSkip } from "./helpers";

type Raw = Record<string, any>;
const stack = (name: string): Raw => fromRawConfig(readStackFile(join(ROOT, "stacks"), name).config);
const withEtcd = (name: string, edit: (raw: Raw) => void): Raw => {
  const raw = stack(name);
  edit(raw);
  return raw;
};
const valid = (raw: Raw): ClusterConfig => validateClusterConfig(raw, "test", { "gcp:region": raw.region, "aws:region": raw.region });
function problems(raw: Raw): ConfigProblem[] {
  try {
    valid(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  return [];
}
const keys = (ps: ConfigProblem[]) => ps.map((p) => p.key);
const ETCD_HOSTS = (zones: string[]) => zones.map((zone, i) => ({ name: `dc1-etcd-${i}`, address: `10.103.97.${220 + i}`, zone }));

test("stacked etcd (the default) runs on the masters: the external cluster's keys are refused, each by name", () => {
  assert.deepEqual(valid(stack("gcp-three-zone")).etcd, { topology: "stacked", count: 0, machineType: "", diskSizeGb: 0 });
  assert.deepEqual(planCluster(valid(stack("gcp-three-zone"))).etcd, { topology: "stacked", members: [] });
  const cloud = problems(withEtcd("gcp-three-zone", (r) => (r.etcd = { count: 3, machineType: "e2-standard-2", diskSizeGb: 50 })));
  assert.deepEqual(keys(cloud), ["kubeadm-ha:etcd.count", "kubeadm-ha:etcd.machineType", "kubeadm-ha:etcd.diskSizeGb"]);
  for (const p of cloud) assert.match(p.fix, /or set etcd\.topology: external/);
  const own = problems(withEtcd("onprem-vip", (r) => (r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-b", "rack-c"]))));
  assert.deepEqual(keys(own), ["kubeadm-ha:hosts.etcd"]);
});

test("external etcd on GCP: three members by default, one per zone, beside the masters' addresses, with the platform's machine", () => {
  const c = valid(withEtcd("gcp-three-zone", (r) => (r.etcd = { topology: "external" })));
  assert.deepEqual(c.etcd, { topology: "external", count: 3, machineType: "e2-standard-2", diskSizeGb: 50 });
  const plan = planCluster(c);
  assert.deepEqual(
    plan.etcd.members.map((m) => [m.name, m.zone, m.ip]),
    [
      ["prod-etcd-0", "europe-west1-b", "10.10.0.20"],
      ["prod-etcd-1", "europe-west1-c", "10.10.0.21"],
      ["prod-etcd-2", "europe-west1-d", "10.10.0.22"],
    ],
  );
  const addresses = [...plan.masters.map((m) => m.ip), ...plan.etcd.members.map((m) => m.ip), ...plan.endpoint.addresses, plan.bastion.ip];
  assert.equal(new Set(addresses).size, addresses.length, `no two machines share an address: ${addresses}`);
});

test("external etcd on AWS: five members over three zones, none holding a quorum, each in its zone's private subnet", () => {
  const plan = planCluster(valid(withEtcd("aws-three-az", (r) => (r.etcd = { topology: "external", count: 5, machineType: "m6i.large" }))));
  assert.deepEqual(
    plan.etcd.members.map((m) => m.zone),
    ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a", "us-east-1b"],
  );
  for (const m of plan.etcd.members) assert.equal(plan.subnets.find((s) => s.name === m.subnet)?.zone, m.zone, m.name);
});

test("an external etcd needs 3 or 5 members (1 only for a non-HA dev cluster), with machine types of the platform", () => {
  for (const count of [1, 2, 4, 7]) {
    const ps = problems(withEtcd("gcp-three-zone", (r) => (r.etcd = { topology: "external", count })));
    assert.deepEqual(keys(ps), ["kubeadm-ha:etcd.count"], `count ${count}`);
    assert.match(ps[0].message, new RegExp(`^${count} members`));
  }
  const dev = withEtcd("gcp-three-zone", (r) => {
    r.etcd = { topology: "external", count: 1 };
    r.controlPlane = { count: 1, highAvailability: false };
  });
  assert.equal(planCluster(valid(dev)).etcd.members.length, 1);
  assert.deepEqual(keys(problems(withEtcd("aws-three-az", (r) => (r.etcd = { topology: "external", machineType: "e2-standard-2" })))), ["kubeadm-ha:etcd.machineType"]);
});

test("hosts you own: the members are hosts.etcd, and no failure domain may hold a quorum of them (losing it would stop etcd)", () => {
  const ok = valid(withEtcd("onprem-vip", (r) => ((r.etcd = { topology: "external" }), (r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-b", "rack-c"])))));
  assert.deepEqual(
    planCluster(ok).etcd.members.map((m) => [m.name, m.ip, m.zone]),
    [
      ["dc1-etcd-0", "10.103.97.220", "rack-a"],
      ["dc1-etcd-1", "10.103.97.221", "rack-b"],
      ["dc1-etcd-2", "10.103.97.222", "rack-c"],
    ],
  );
  valid(withEtcd("onprem-vip", (r) => ((r.etcd = { topology: "external" }), (r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-a", "rack-b", "rack-b", "rack-c"])))));
  const two = problems(withEtcd("onprem-vip", (r) => ((r.etcd = { topology: "external" }), (r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-a", "rack-b"])))));
  assert.deepEqual(keys(two), ["kubeadm-ha:hosts.etcd"]);
  assert.match(two[0].message, /zone "rack-a" holds 2 of the 3 members, a quorum/);
  const five = problems(withEtcd("onprem-vip", (r) => ((r.etcd = { topology: "external" }), (r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-a", "rack-a", "rack-b", "rack-c"])))));
  assert.match(five[0].message, /zone "rack-a" holds 3 of the 5 members/);
  assert.deepEqual(keys(problems(withEtcd("onprem-vip", (r) => ((r.etcd = { topology: "external" }), (r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-b"])))))), [
    "kubeadm-ha:hosts.etcd",
  ]);
  assert.deepEqual(keys(problems(withEtcd("onprem-vip", (r) => (r.etcd = { topology: "external" })))), ["kubeadm-ha:hosts.etcd"], "missing");
});

test("hosts you own: an etcd machine shares the hosts' names and addresses, is no node (no labels), and has no count or size of the program's", () => {
  const clash = problems(
    withEtcd("onprem-vip", (r) => {
      r.etcd = { topology: "external" };
      r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-b", "rack-c"]);
      r.hosts.etcd[1].address = r.hosts.masters[0].address;
      r.hosts.etcd[2].name = r.hosts.workers[0].name;
    }),
  );
  assert.deepEqual(keys(clash), ["kubeadm-ha:hosts.etcd[1].address", "kubeadm-ha:hosts.etcd[2].name"]);
  assert.match(clash[0].message, /address "10\.103\.97\.200" is used twice/);
  const extra = problems(
    withEtcd("onprem-vip", (r) => {
      r.etcd = { topology: "external", count: 3, machineType: "big", diskSizeGb: 50 };
      r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-b", "rack-c"]);
      r.hosts.etcd[0].labels = { "example.com/rack": "a" };
    }),
  );
  assert.deepEqual(keys(extra).sort(), ["kubeadm-ha:etcd.count", "kubeadm-ha:etcd.diskSizeGb", "kubeadm-ha:etcd.machineType", "kubeadm-ha:hosts.etcd[0].labels"]);
});

test("etcd's topology is settled: a running cluster refuses to move its data between the masters and machines of its own", () => {
  const stacked = valid(stack("gcp-three-zone"));
  const external = valid(withEtcd("gcp-three-zone", (r) => (r.etcd = { topology: "external" })));
  assert.equal(settledOf(stacked)["etcd.topology"], "stacked");
  const [p] = settledChanges(settledOf(stacked), external);
  assert.equal(p.key, "kubeadm-ha:etcd.topology");
  assert.match(p.fix, /set it back to "stacked"/);
  // A cluster made before the key existed recorded none: nothing to compare.
  const { ["etcd.topology"]: _, ...older } = settledOf(stacked);
  assert.deepEqual(settledChanges(older, stacked), []);
});

test("with an external etcd, its client port is open to the masters only, its peer port between members only, and the masters open neither", () => {
  /** Who may reach `port` on machines of `role`. */
  const reaching = (rules: ReturnType<typeof ingressRules>, role: string, port: number) =>
    rules
      .filter(
        (r) =>
          r.to.includes(role as never) &&
          r.allow.some(
            (a) =>
              a.protocol === "tcp" &&
              (a.ports ?? []).some((p) => {
                const [lo, hi] = p.split("-").map(Number);
                return lo <= port && port <= (hi ?? lo);
              }),
          ),
      )
      .flatMap((r) => [...(r.from.roles ?? []), ...(r.from.cidrs ?? [])])
      .sort();
  for (const name of ["gcp-three-zone", "aws-three-az"]) {
    const external = planCluster(valid(withEtcd(name, (r) => (r.etcd = { topology: "external" }))));
    const stacked = planCluster(valid(stack(name)));
    assert.deepEqual(rolesOf(stacked), ["master", "worker", "bastion", "apiserver-lb"]);
    assert.deepEqual(rolesOf(external), ["master", "worker", "bastion", "apiserver-lb", "etcd"]);
    for (const rules of name.startsWith("aws") ? [awsIngressRules(external)] : [firewallRules(external)]) {
      assert.deepEqual(reaching(rules, "etcd", 2379), ["master"], `${name}: 2379 on etcd machines`);
      assert.deepEqual(reaching(rules, "etcd", 2380), ["etcd"], `${name}: 2380 on etcd machines`);
      assert.deepEqual(reaching(rules, "etcd", 22), ["bastion"], `${name}: SSH to etcd machines`);
      assert.deepEqual(reaching(rules, "etcd", 6443), [], `${name}: nothing else reaches the etcd machines`);
      assert.deepEqual(reaching(rules, "master", 2379), [], `${name}: no etcd port on masters`);
      assert.deepEqual(reaching(rules, "master", 2380), [], `${name}: no etcd port on masters`);
    }
    // Stacked, as before: both ports between masters, under the rule's old name.
    assert.deepEqual(reaching(ingressRules(stacked), "master", 2380), ["master"]);
    assert.ok(ingressRules(stacked).some((r) => r.suffix === "etcd"));
  }
});

const NOT_ROOT = typeof process.getuid === "function" && process.getuid() !== 0 ? "needs root: kubeadm runs as a lab host (private mounts)" : undefined;

test(
  "with an external etcd, kubeadm points every master's apiserver at every member with the client files, and runs no member on it",
  { skip: toolchainSkip(["kubeadm"]) || NOT_ROOT },
  () => {
    const plan = planCluster(valid(withEtcd("onprem-vip", (r) => ((r.etcd = { topology: "external" }), (r.hosts.etcd = ETCD_HOSTS(["rack-a", "rack-b", "rack-c"]))))));
    const root = tempDir("kubeadm-ha-external-master-");
    // A master holds the etcd CA's certificate, never its key (etcd-cluster.ts).
    writeSharedPki(root, plan.name);
    rmSync(join(root, "etc/kubernetes/pki/etcd/ca.key"));
    const config = join(root, "init.yaml");
    writeFileSync(config, initConfig(plan, plan.masters[0]).replaceAll(TOKEN_PLACEHOLDER, "abcdef.0123456789abcdef"));
    const said = kubeadmPhases(root, config)
      .map((r) => r.stdout + r.stderr)
      .join("\n");
    const apiserver = parse(readFileSync(join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"), "utf8"));
    const flags = new Map<string, string>(apiserver.spec.containers[0].command.slice(1).map((a: string) => a.replace(/^--/, "").split(/=(.*)/s).slice(0, 2) as [string, string]));
    assert.equal(flags.get("etcd-servers"), "https://10.103.97.220:2379,https://10.103.97.221:2379,https://10.103.97.222:2379");
    assert.equal(flags.get("etcd-cafile"), EXTERNAL_ETCD_CLIENT.caFile);
    assert.equal(flags.get("etcd-certfile"), EXTERNAL_ETCD_CLIENT.certFile);
    assert.equal(flags.get("etcd-keyfile"), EXTERNAL_ETCD_CLIENT.keyFile);
    assert.ok(!existsSync(join(root, "etc/kubernetes/manifests/etcd.yaml")), `no etcd member on a master:\n${said}`);
    for (const f of ["etcd/server.crt", "etcd/peer.crt", "etcd/ca.key", "apiserver-etcd-client.crt"])
      assert.ok(!existsSync(join(root, "etc/kubernetes/pki", f)), `kubeadm made no ${f} on a master`);
  },
);
