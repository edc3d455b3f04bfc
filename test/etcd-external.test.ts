// An external etcd on hosts you own (the shipped onprem-external-etcd stack), rendered on the
// mock runtime: the etcd machines become members one at a time before master-0 inits, the
// masters hold the etcd CA's certificate and the apiservers' client certificate but never the
// CA's key, every script that reaches a machine passes shellcheck, the picture draws the etcd
// cluster apart from the masters, the masters snapshot the external members and a restore
// runs its member phases on the etcd machines. The GCP and AWS stacks with an external etcd
// (gcp-external-etcd, aws-external-etcd) make the etcd VMs.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import { stringify } from "yaml";
import { fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { readStackFile } from "../render/render";
import { planCluster } from "../components/plan/cluster-plan";
import { certificatesScript } from "../components/plan/certificates";
import { ChildRender, renderInChild, ROOT, tempDir } from "./helpers";
import { renderInChildProcess } from "../render/child";
import { runPolicies } from "../policy/offline";
import { POLICIES } from "../policy/rules";
import { CLUSTER_TYPE, type ControlPlaneFacts } from "../components/plan/labels";

const STACK = "onprem-external-etcd";

/** The shipped stack: onprem-vip's layout with three etcd machines of its own (backups on, to the masters' directory: the stack's defaults). */
const externalStack = (): Record<string, any> => fromRawConfig(readStackFile(join(ROOT, "stacks"), STACK).config) as Record<string, any>;

let render: ChildRender;
before(async () => {
  render = await renderInChild(STACK);
});

const named = (n: string) => render.resources.find((r) => r.name === n)!;
const after = (n: string) => named(n).dependencies.map((u: string) => u.split("::").pop());
const files = (machine: string) => join(render.dir, "files", machine);

test("each etcd machine is prepared, given its files and the etcd CA, and made a member after the one before; master-0 inits after the last", () => {
  for (const i of [0, 1, 2]) {
    const m = `dc2-etcd-${i}`;
    assert.deepEqual(after(`${m}-files`), [`${m}-prepare`]);
    assert.deepEqual(after(`${m}-member`).sort(), [`${m}-files`, `${m}-secrets`, ...(i > 0 ? [`dc2-etcd-${i - 1}-member`] : [])].sort());
  }
  assert.ok(after("dc2-master-0-init").includes("dc2-etcd-2-member"), "master-0 inits once every member is a voter");
  // No master holds a member: nothing checks one.
  assert.equal(render.resources.filter((r: { name: string }) => /^dc2-control-plane-etcd-member-/.test(r.name)).length, 0);
});

test("a destroy gives the etcd machines back last, from the last to the first: each leaves the cluster, then is reset; master-0's reset, the masters' last, comes before", () => {
  for (const i of [0, 1, 2]) {
    const reset = named(`dc2-etcd-${i}-reset`) as { inputs: Record<string, unknown> };
    assert.equal(reset.inputs.create, undefined, "nothing runs when it is made");
    assert.match(String(reset.inputs.delete), /sudo \/usr\/local\/sbin\/kubeadm-ha-reset dc2-etcd-\d/);
    const leave = named(`dc2-etcd-${i}-leave`) as { inputs: Record<string, unknown> };
    assert.equal(leave.inputs.create, undefined);
    assert.match(String(leave.inputs.delete), new RegExp(`sudo /usr/local/sbin/kubeadm-ha-etcd-join dc2-etcd-${i} leave`));
    // Deleted before its own reset (the reset is what it depends on), after the next machine's reset.
    assert.deepEqual(after(`dc2-etcd-${i}-leave`), [`dc2-etcd-${i}-reset`]);
    assert.deepEqual(after(`dc2-etcd-${i}-reset`), i === 0 ? [] : [`dc2-etcd-${i - 1}-leave`]);
  }
  assert.deepEqual(after("dc2-master-0-reset"), ["dc2-etcd-2-leave"]);
  // The reset script an etcd machine is given removes the files its etcd steps wrote.
  const script = readFileSync(join(files("dc2-etcd-0"), "usr/local/sbin/kubeadm-ha-reset"), "utf8");
  for (const f of ["/etc/kubeadm-ha/etcd-kubelet.yaml", "/usr/local/sbin/kubeadm-ha-etcd-join"]) assert.ok(script.includes(`rm -f ${f}`), f);
});

test("the policy pack passes the render and sees the etcd machines, not the masters, as etcd's members", async () => {
  assert.deepEqual(await runPolicies(render.resources, POLICIES), []);
  const facts = (render.resources.find((r: { type: string }) => r.type === CLUSTER_TYPE) as { outputs: { controlPlane: ControlPlaneFacts } }).outputs.controlPlane;
  assert.equal(facts.etcd, "external");
  assert.deepEqual(
    facts.masters.map((m) => m.etcdMember),
    [false, false, false],
  );
  assert.deepEqual(
    facts.etcdMachines?.map((e) => `${e.name}@${e.zone}`),
    ["dc2-etcd-0@rack-a", "dc2-etcd-1@rack-b", "dc2-etcd-2@rack-c"],
  );
});

test("masters get the etcd CA's certificate and the apiservers' client certificate, never the CA's key; etcd machines get the CA, and kubelets of their own", () => {
  const pki = (machine: string) =>
    readdirSync(join(files(machine), "etc/kubernetes/pki"), { recursive: true })
      .map(String)
      .filter((f) => statSync(join(files(machine), "etc/kubernetes/pki", f)).isFile())
      .sort();
  for (const m of ["dc2-master-0", "dc2-master-1", "dc2-master-2"]) {
    assert.deepEqual(
      pki(m),
      ["apiserver-etcd-client.crt", "apiserver-etcd-client.key", "ca.crt", "ca.key", "etcd/ca.crt", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.key", "sa.pub"],
      m,
    );
    assert.equal(readFileSync(join(files(m), "etc/kubeadm-ha/node-name"), "utf8"), `${m}\n`);
  }
  for (const m of ["dc2-etcd-0", "dc2-etcd-1", "dc2-etcd-2"]) {
    assert.deepEqual(pki(m), ["etcd/ca.crt", "etcd/ca.key"], m);
    // Secrets stay secret in the render.
    assert.equal(readFileSync(join(files(m), "etc/kubernetes/pki/etcd/ca.key"), "utf8"), "[secret]");
    const dropIn = readFileSync(join(files(m), "etc/systemd/system/kubelet.service.d/20-kubeadm-ha-etcd.conf"), "utf8");
    assert.match(dropIn, /^ExecStart=$/m);
    assert.match(dropIn, /^ExecStart=\/usr\/bin\/kubelet --config=\/etc\/kubeadm-ha\/etcd-kubelet.yaml$/m);
    assert.match(readFileSync(join(files(m), "etc/kubeadm-ha/etcd-kubelet.yaml"), "utf8"), /staticPodPath: \/etc\/kubernetes\/manifests/);
    assert.ok(!existsSync(join(files(m), "etc/haproxy")), `${m} runs no endpoint of its own`);
  }
  // The client certificate is the program's, signed by the etcd CA for client auth, renewed by pulumi up.
  const cert = named("dc2-pki-apiserver-etcd-client-cert") as { inputs: Record<string, unknown> };
  assert.deepEqual(cert.inputs.allowedUses, ["digital_signature", "key_encipherment", "client_auth"]);
  assert.equal(cert.inputs.validityPeriodHours, 8760);
  assert.equal(cert.inputs.earlyRenewalHours, 720);
});

test("a certificate renewal on a master restarts its apiserver, controller-manager and scheduler, never an etcd it does not run", () => {
  const script = readFileSync(join(files("dc2-master-0"), "usr/local/sbin/kubeadm-ha-certificates"), "utf8");
  assert.deepEqual(
    [...script.matchAll(/^  restart (\S+) /gm)].map((m) => m[1]),
    ["kube-apiserver", "kube-controller-manager", "kube-scheduler"],
  );
  // With etcd stacked, the same renewal restarts the master's own member first.
  const plan = planCluster(validateClusterConfig(fromRawConfig(readStackFile(join(ROOT, "stacks"), "onprem-vip").config), "onprem-vip"));
  assert.deepEqual(
    [...certificatesScript(plan, plan.masters[0]).matchAll(/^  restart (\S+) /gm)].map((m) => m[1]),
    ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
  );
});

test("every script that reaches a machine of the external-etcd render passes shellcheck", () => {
  const scripts: string[] = [];
  for (const machine of readdirSync(join(render.dir, "files"))) {
    for (const dir of ["usr/local/sbin", "commands"]) {
      const at = join(files(machine), dir);
      if (!existsSync(at)) continue;
      for (const f of readdirSync(at)) if (readFileSync(join(at, f), "utf8").startsWith("#!/usr/bin/env bash")) scripts.push(join(at, f));
    }
  }
  assert.ok(
    scripts.some((s) => s.endsWith("dc2-etcd-0/usr/local/sbin/kubeadm-ha-etcd-join")),
    "the member script is among them",
  );
  const r = spawnSync("shellcheck", ["-s", "bash", ...scripts], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("the picture draws the etcd machines apart from the masters, each in its zone, every apiserver a client of every member", () => {
  const dot = readFileSync(join(render.dir, "topology.dot"), "utf8");
  assert.match(dot, /3 masters, external etcd \(3 members\)/);
  for (const i of [0, 1, 2]) assert.match(dot, new RegExp(`"etcd:dc2-etcd-${i}" \\[label="etcd member\\\\ndc2-etcd-${i}\\\\n10\\.103\\.98\\.22${i}`));
  assert.doesNotMatch(dot, /"etcd:dc2-master-/, "no member on a master");
  assert.equal((dot.match(/"master:dc2-master-\d" -> "etcd:dc2-etcd-\d"/g) ?? []).length, 9);
  assert.ok(execFileSync("dot", ["-Tsvg"], { input: dot }).length > 0);
});

test("the masters snapshot the external members with the apiservers' client certificate; each etcd machine gets the restore's script and the destination, and no timer", () => {
  const master = readFileSync(join(files("dc2-master-1"), "usr/local/sbin/kubeadm-ha-etcd-backup"), "utf8");
  assert.match(master, /members=\(https:\/\/10\.103\.98\.220:2379 https:\/\/10\.103\.98\.221:2379 https:\/\/10\.103\.98\.222:2379\)/);
  assert.match(master, /--cert=\/etc\/kubernetes\/pki\/apiserver-etcd-client\.crt --key=\/etc\/kubernetes\/pki\/apiserver-etcd-client\.key/);
  assert.match(
    master,
    /^usage=".* snapshot-if-due \| snapshot \[REASON\] \| list \| fetch NAME FILE \| restore-stop \| restore-start-apiserver"$/m,
    "a master of an external etcd restores no member",
  );
  assert.ok(existsSync(join(files("dc2-master-1"), "etc/systemd/system/kubeadm-ha-etcd-backup.timer")));
  const etcd = readFileSync(join(files("dc2-etcd-1"), "usr/local/sbin/kubeadm-ha-etcd-backup"), "utf8");
  assert.match(etcd, /^usage=".* list \| fetch NAME FILE \| restore-stop \| restore FILE TOKEN \| restore-start-etcd"$/m);
  assert.match(etcd, /^peer_url="https:\/\/10\.103\.98\.221:2380"$/m);
  assert.match(etcd, /^initial_cluster="dc2-etcd-0=https:\/\/10\.103\.98\.220:2380,dc2-etcd-1=https:\/\/10\.103\.98\.221:2380,dc2-etcd-2=https:\/\/10\.103\.98\.222:2380"$/m);
  assert.doesNotMatch(etcd, /kubectl|lease/, "an etcd machine has no API client: it takes no snapshots");
  assert.ok(existsSync(join(files("dc2-etcd-1"), "etc/kubeadm-ha/etcd-backup.env")));
  assert.ok(!existsSync(join(files("dc2-etcd-1"), "etc/systemd/system/kubeadm-ha-etcd-backup.timer")));
  assert.match(readFileSync(join(render.dir, "outputs.json"), "utf8"), /file:\/\/\/var\/backups\/kubeadm-ha\/dc2\//);
});

test("a restore of an external etcd stops the apiservers, then the members; restores and starts the members on their machines; starts the apiservers last", async () => {
  const dir = tempDir("kubeadm-ha-external-restore-");
  const raw = { ...externalStack(), restore: { snapshot: "dc2/20261203T101500Z-dc2-master-0.db" } };
  writeFileSync(join(dir, `Pulumi.${STACK}.yaml`), stringify({ config: Object.fromEntries(Object.entries(raw).map(([k, v]) => [`kubeadm-ha:${k}`, v])) }));
  writeFileSync(join(dir, "last.json"), JSON.stringify({ settled: render.outputs.settled }));
  const out = join(dir, "out");
  const r = await renderInChildProcess(ROOT, STACK, out, dir, join(dir, "last.json"));
  assert.equal(r.code, 0, r.stderr);
  const resources = JSON.parse(readFileSync(join(out, "resources.json"), "utf8")) as Array<{ name: string; dependencies: string[] }>;
  const byName = new Map(resources.map((x) => [x.name, x]));
  const masters = ["dc2-master-0", "dc2-master-1", "dc2-master-2"];
  const members = ["dc2-etcd-0", "dc2-etcd-1", "dc2-etcd-2"];
  const turns: Array<[string, string[]]> = [
    ["stop", masters],
    ["stop", members],
    ["member", members],
    ["start-etcd", members],
    ["start-apiserver", masters],
  ];
  const waitsFor = (step: string) => byName.get(step)!.dependencies.map((u) => u.split("::").pop());
  for (const [i, [phase, on]] of turns.entries()) {
    for (const m of on) {
      assert.ok(byName.has(`${m}-restore-${phase}`), `no ${m}-restore-${phase}`);
      if (i > 0)
        for (const other of turns[i - 1][1])
          assert.ok(waitsFor(`${m}-restore-${phase}`).includes(`${other}-restore-${turns[i - 1][0]}`), `${m}'s ${phase} does not wait for ${other}'s ${turns[i - 1][0]}`);
    }
  }
  assert.equal(resources.filter((x) => /^dc2-master-\d-restore-(member|start-etcd)$/.test(x.name)).length, 0, "no member is restored on a master");
  const member = readFileSync(join(out, "files", "dc2-etcd-2", "commands", "restore-member.sh"), "utf8");
  assert.match(member, /kubeadm-ha-etcd-backup fetch dc2\/20261203T101500Z-dc2-master-0\.db /);
  assert.ok(waitsFor("dc2-control-plane-validate").includes("dc2-master-2-restore-start-apiserver"));
});

test("each etcd machine renews its member's certificates: the script and timer, and its step in turn before the masters'", () => {
  const script = readFileSync(join(files("dc2-etcd-1"), "usr/local/sbin/kubeadm-ha-certificates"), "utf8");
  assert.match(script, /^config="\/etc\/kubeadm-ha\/etcd-member\.yaml"$/m);
  assert.deepEqual(
    [...script.matchAll(/^  kubeadm certs renew (\S+) /gm)].map((m) => m[1]),
    ["etcd-server", "etcd-peer", "etcd-healthcheck-client"],
  );
  assert.deepEqual(
    [...script.matchAll(/^  restart (\S+) /gm)].map((m) => m[1]),
    ["etcd"],
  );
  assert.match(script, /^members=\(dc2-etcd-0=10\.103\.98\.220 dc2-etcd-1=10\.103\.98\.221 dc2-etcd-2=10\.103\.98\.222\)$/m);
  assert.doesNotMatch(script, /kubectl/, "no Kubernetes API on an etcd machine");
  assert.ok(existsSync(join(files("dc2-etcd-1"), "etc/systemd/system/kubeadm-ha-certificates.timer")));
  assert.deepEqual(after("dc2-etcd-0-certificates"), ["dc2-control-plane-encryption-rewrite"], "after the masters joined and the encryption steps, as the masters' first did");
  assert.ok(after("dc2-etcd-1-certificates").includes("dc2-etcd-0-certificates"));
  assert.ok(after("dc2-etcd-2-certificates").includes("dc2-etcd-1-certificates"));
  assert.deepEqual(after("dc2-master-0-certificates"), ["dc2-etcd-2-certificates"]);
});

test("an upgrade moves the etcd machines first, one at a time, each after every node fetched the release; then the masters", () => {
  const fetches = [...["dc2-etcd-0", "dc2-etcd-1", "dc2-etcd-2"], ...["dc2-master-0", "dc2-master-1", "dc2-master-2"]].map((n) => `${n}-fetch-release`);
  for (const f of fetches) assert.ok(after("dc2-etcd-0-upgrade").includes(f), `dc2-etcd-0's upgrade waits for ${f}`);
  assert.ok(after("dc2-etcd-1-upgrade").includes("dc2-etcd-0-upgrade"));
  assert.ok(after("dc2-etcd-2-upgrade").includes("dc2-etcd-1-upgrade"));
  assert.ok(after("dc2-master-0-upgrade").includes("dc2-etcd-2-upgrade"), "the masters after the last etcd machine");
  const command = readFileSync(join(files("dc2-etcd-1"), "commands/upgrade.sh"), "utf8");
  assert.match(command, /^sudo \/usr\/local\/sbin\/kubeadm-ha-upgrade etcd dc2-etcd-1$/m);
  const script = readFileSync(join(files("dc2-etcd-1"), "usr/local/sbin/kubeadm-ha-upgrade"), "utf8");
  assert.match(script, /^etcd\)$/m);
  assert.match(script, /kubeadm init phase etcd local --config "\/etc\/kubeadm-ha\/etcd-member\.rendered\.yaml"/);
});

/** A shipped cloud stack with an external etcd, rendered. */
async function cloudExternal(stack: string) {
  const r = await renderInChild(stack);
  const of = (type: string, name: RegExp) => r.resources.filter((x) => x.type === type && name.test(x.name)).map((x) => ({ ...x, inputs: x.inputs as Record<string, any> }));
  return { r, of };
}

test("GCP: an etcd VM per zone at its reserved address, tagged etcd, without a service account; the masters labelled its clients; the policy pack passes", async () => {
  const { r, of } = await cloudExternal("gcp-external-etcd");
  const vms = of("gcp:compute/instance:Instance", /-etcd-\d$/);
  assert.deepEqual(
    vms.map((v) => v.inputs.zone),
    ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
  );
  for (const v of vms) {
    assert.deepEqual(v.inputs.tags, ["core-etcd"]);
    assert.equal(v.inputs.serviceAccount, undefined, "a member needs nothing from the cloud");
    assert.equal(v.inputs.labels["kubeadm-ha-role"], "etcd");
    assert.equal(v.inputs.labels["kubeadm-ha-etcd"], "member");
  }
  const addresses = of("gcp:compute/address:Address", /-etcd-\d-ip$/).map((a) => String(a.inputs.address));
  assert.deepEqual(addresses.map((a) => a.split(".")[3]).sort(), ["20", "21", "22"], "members at .20 .21 .22 of the nodes' subnet");
  for (const m of of("gcp:compute/instance:Instance", /-master-\d$/)) assert.equal(m.inputs.labels["kubeadm-ha-etcd"], "client");
  // Each member's steps wait for its VM; the next VM waits for the member before it.
  assert.ok(
    vms[1].dependencies.some((u) => u.endsWith("::core-etcd-0-member")),
    "one member's VM at a time",
  );
  assert.ok(
    r.resources.find((x) => x.name === "core-etcd-1-files")!.dependencies.some((u) => u.endsWith("::core-etcd-1")),
    "a member's steps after its VM",
  );
  assert.deepEqual(await runPolicies(r.resources, POLICIES), []);
});

test("AWS: an etcd instance per zone in its private subnet on an interface of its own, in the etcd security group, without an instance role; the policy pack passes", async () => {
  const { r, of } = await cloudExternal("aws-external-etcd");
  const vms = of("aws:ec2/instance:Instance", /-etcd-\d$/);
  assert.deepEqual(vms.map((v) => v.inputs.availabilityZone).sort(), ["us-east-1a", "us-east-1b", "us-east-1c"]);
  for (const v of vms) {
    assert.equal(v.inputs.iamInstanceProfile, undefined, "a member needs nothing from AWS");
    assert.equal(v.inputs.tags["kubeadm-ha/role"], "etcd");
  }
  assert.equal(of("aws:ec2/networkInterface:NetworkInterface", /-etcd-\d-eni$/).length, 3);
  assert.deepEqual(await runPolicies(r.resources, POLICIES), []);
});
