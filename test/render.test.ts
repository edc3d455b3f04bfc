// The offline render as a command: deterministic output, clear failures, and the
// checks that stop a bad program before anyone runs `pulumi up`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { existsSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { checkRegistrations, findLeaks } from "../render/render";
import { Registration } from "../render/mocks";
import { filesUnder } from "../render/files";
import { namesLocalFiles, renderCacheDir, renderFolder } from "../render/cache";
import { ROOT, tempDir } from "./helpers";

function render(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "render/cli.ts"), ...args], { encoding: "utf8", cwd: ROOT });
}

test("two renders of the same stack are byte-identical (reviewable diffs)", () => {
  const a = tempDir("render-a-");
  const b = tempDir("render-b-");
  for (const out of [a, b]) {
    const res = render(["--stack", "gcp-three-zone", "--out", out]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /machines by zone:/);
  }
  const files = filesUnder(a);
  assert.deepEqual(files, filesUnder(b));
  assert.ok(files.includes("resources.json") && files.includes("outputs.json"));
  for (const f of files) assert.equal(readFileSync(join(a, f), "utf8"), readFileSync(join(b, f), "utf8"), f);
  const resources = JSON.parse(readFileSync(join(a, "resources.json"), "utf8"));
  // The contract's fields, in order; components add the outputs they registered, SSH steps where they connect.
  for (const x of resources) {
    const keys = ["urn", "type", "name", "parent", "dependencies", "inputs", "options"];
    assert.deepEqual(Object.keys(x), [...keys, ...(x.outputs === undefined ? [] : ["outputs"]), ...(x.sshTarget === undefined ? [] : ["sshTarget"])]);
    if (x.outputs !== undefined) assert.match(x.type, /^kubeadm-ha:/, "only components carry outputs");
    if (x.type.startsWith("command:remote:"))
      assert.deepEqual(
        Object.keys(x.sshTarget ?? {}).filter((k) => k !== "via"),
        ["host", "user"],
        `${x.name}: where it connects`,
      );
    else assert.equal(x.sshTarget, undefined);
  }
});

test("an invalid stack file fails with the key and the fix, and registers nothing", () => {
  const dir = tempDir("stacks-");
  writeFileSync(
    join(dir, "Pulumi.bad.yaml"),
    "config:\n  kubeadm-ha:region: europe-west1\n  kubeadm-ha:zones: [europe-west1-b, europe-west1-c]\n  kubeadm-ha:adminCidrs: [198.51.100.0/24]\n  kubeadm-ha:controlPlane: {count: 4}\n",
  );
  const out = join(dir, "out");
  const res = render(["--stack", "bad", "--config-dir", dir, "--out", out]);
  assert.equal(res.status, 1);
  assert.match(res.stderr, /kubeadm-ha:zones: .*Fix: /);
  assert.match(res.stderr, /kubeadm-ha:controlPlane\.count: .*Fix: /);
  assert.match(res.stderr, /nothing was created/);
  assert.doesNotMatch(res.stderr, /resources were registered/);
  assert.ok(!existsSync(out), "no output may be written for an invalid stack");
});

test("a stack file that is not YAML is named with the line, and a fix", () => {
  const dir = tempDir("stacks-");
  writeFileSync(join(dir, "Pulumi.tabs.yaml"), "config:\n  kubeadm-ha:region: europe-west1\n\tkubeadm-ha:zones: [europe-west1-b]\n");
  const res = render(["--stack", "tabs", "--config-dir", dir, "--out", join(dir, "out")]);
  assert.equal(res.status, 1);
  assert.match(res.stderr, /Pulumi\.tabs\.yaml is not valid YAML: .*line 3/s);
  assert.match(res.stderr, /Fix: correct the line shown \(YAML indents with spaces, never tabs/);
});

test("a missing stack file is named", () => {
  const res = render(["--stack", "does-not-exist"]);
  assert.equal(res.status, 1);
  assert.match(res.stderr, /no stack file .*Pulumi\.does-not-exist\.yaml/);
});

test("--stack is required", () => {
  const res = render([]);
  assert.equal(res.status, 2);
  assert.match(res.stderr, /--stack is required/);
});

const reg = (over: Partial<Registration>): Registration => ({
  urn: `urn:pulumi:s::kubeadm-ha::t::${over.name ?? "x"}`,
  type: "gcp:compute/network:Network",
  name: "x",
  parent: null,
  custom: true,
  dependencies: [],
  rawInputs: {},
  options: {},
  ...over,
});

test("duplicate URNs fail the render", () => {
  const problems = checkRegistrations([reg({ name: "a" }), reg({ name: "a" })]);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /duplicate URN/);
});

test("an Output stringified into an input fails the render, naming the input", () => {
  const problems = checkRegistrations([reg({ rawInputs: { metadata: { "user-data": "x Calling [toString] on an [Output<T>] is not supported. y" } } })]);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /metadata\.user-data contains a stringified Output/);
});

test("names that break GCP naming rules fail the render", () => {
  assert.match(checkRegistrations([reg({ rawInputs: { name: "Prod_Master" } })])[0], /breaks GCP naming rules/);
  assert.match(checkRegistrations([reg({ rawInputs: { name: "a".repeat(64) } })])[0], /at most 63/);
  assert.match(checkRegistrations([reg({ rawInputs: { namePrefix: "p".repeat(38) + "-" } })])[0], /at most 37/);
  assert.deepEqual(checkRegistrations([reg({ rawInputs: { name: "prod-master-0" } })]), []);
});

test("a secret value in any written text is caught", () => {
  const secrets = new Set(["abcdef.0123456789abcdef"]);
  assert.deepEqual(findLeaks(secrets, [["files/m/a", "token: [secret]"]]), []);
  assert.equal(findLeaks(secrets, [["files/m/a", "token: abcdef.0123456789abcdef"]]).length, 1);
});

test("AWS load balancer and target group names over 32 characters fail the render", () => {
  const lb = (name: string) => reg({ type: "aws:lb/loadBalancer:LoadBalancer", rawInputs: { name } });
  assert.match(checkRegistrations([lb("a".repeat(33))])[0], /at most 32/);
  assert.match(checkRegistrations([reg({ type: "aws:lb/targetGroup:TargetGroup", rawInputs: { name: "-bad" } })])[0], /target group name/);
  assert.deepEqual(checkRegistrations([lb("prod-aws-apiserver")]), []);
});

test("a render from another stack folder is kept in the cache by its files, unless a stack there names a file of this machine", async () => {
  const stack = readFileSync(join(ROOT, "stacks/Pulumi.lab-vip.yaml"), "utf8");
  // backups.path is a folder on the machines: the render never reads it, so the folder's files are the whole key.
  assert.match(stack, /backups:\n(\s+.*\n)*?\s+path: \//);
  const [a, b] = [tempDir("variant-a-"), tempDir("variant-b-")];
  for (const dir of [a, b]) writeFileSync(join(dir, "Pulumi.lab-vip.yaml"), stack);
  assert.equal(namesLocalFiles(a, "lab-vip"), false);
  if (renderCacheDir()) {
    const [ra, rb] = [await renderFolder(ROOT, "lab-vip", a, () => tempDir("variant-out-")), await renderFolder(ROOT, "lab-vip", b, () => tempDir("variant-out-"))];
    assert.equal(ra, rb, "two folders with the same files share one cached render");
  }
  // A bundle's folder or a snapshot file is read by the render: its contents are not in the key.
  const withBundle = tempDir("variant-bundle-");
  writeFileSync(join(withBundle, "Pulumi.lab-vip.yaml"), stack.replace("config:\n", "config:\n  kubeadm-ha:packages:\n    source: bundle\n    path: ./bundle\n"));
  assert.equal(namesLocalFiles(withBundle, "lab-vip"), true);
  const withRestore = tempDir("variant-restore-");
  writeFileSync(join(withRestore, "Pulumi.lab-vip.yaml"), stack);
  writeFileSync(join(withRestore, "Pulumi.other.yaml"), "config:\n  kubeadm-ha:restore:\n    file: ./snapshot.db\n");
  assert.equal(namesLocalFiles(withRestore, "lab-vip"), true, "a stack beside it (a federation's member) counts too");
  assert.equal(namesLocalFiles(withRestore, "missing"), true, "no stack file: nothing to key on");
});
