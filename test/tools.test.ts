// The real tools on what the program renders, for every shipped stack: cloud-init's
// schema check on every boot config and shellcheck on every script that reaches a machine.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import { readdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { parseAllDocuments } from "yaml";
import { renderOnce, ROOT, tempDir } from "./helpers";
import { cachedRender } from "../render/cache";
import { inParallel } from "../render/parallel";
import { filesUnder } from "../render/files";
import { checkOnce } from "./passes";
import { RenderResult, SECRET } from "../render/render";
import { discoveryHash } from "../components/plan/pki";
import { haproxyConfig, keepalivedConfig, vipCheckScript } from "../components/plan/onprem-endpoint";
import { createHash } from "crypto";

const STACKS = readdirSync(join(ROOT, "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s);

let r: RenderResult;
let dir: string;
/** Every file of every shipped stack: `<stack>/<machine>/<path>`, where it is, and what it holds. */
let files: Array<{ path: string; at: string; content: string }> = [];
before(async () => {
  r = await renderOnce("gcp-three-zone");
  dir = tempDir("kubeadm-ha-tools-");
  const renders = new Map<string, string>();
  await inParallel(STACKS, async (stack) => void renders.set(stack, (await cachedRender(ROOT, stack, () => join(dir, "renders", stack))).dir));
  for (const stack of STACKS) {
    const out = join(renders.get(stack)!, "files");
    files = files.concat(filesUnder(out).map((p) => ({ path: join(stack, p), at: join(out, p), content: readFileSync(join(out, p), "utf8") })));
  }
});

/** The tool's version (what it prints for `args`); fails when it is not installed. */
function requireTool(cmd: string, args: string[]): string {
  const res = spawnSync(cmd, args, { encoding: "utf8" });
  assert.ok(!res.error, `${cmd} is not installed: run ./setup.sh (it installs Debian's ${cmd})`);
  return `${res.stdout}${res.stderr}`;
}

const bootConfigs = () => files.filter((f) => f.path.endsWith("/cloud-init.yaml") && f.content !== SECRET);
const scripts = () => files.filter((f) => f.content.startsWith("#!/usr/bin/env bash\n"));

test("every boot config of every stack passes cloud-init schema", async () => {
  const version = requireTool("cloud-init", ["--version"]);
  const configs = bootConfigs();
  // Federation stacks put no file on a machine and static hosts get none from cloud-init;
  // every cloud cluster stack has boot configs for a bastion, 3 masters and a pool.
  const clusters = new Set(configs.map((f) => f.path.split("/")[0]));
  assert.ok(
    clusters.size >= 6 && configs.length >= 5 * clusters.size,
    `expected boot configs for bastion, 3 masters and the pool of each cluster stack, got ${configs.length} for ${clusters.size}`,
  );
  // (One file a run: `cloud-init schema` takes one config file.)
  const verdict = await checkOnce("cloud-init", version, ["schema", "--config-file"], configs);
  assert.deepEqual(verdict.failures, []);
});

test("every script that reaches a machine, in every stack, passes shellcheck", async () => {
  const version = requireTool("shellcheck", ["--version"]);
  const all = scripts();
  const clusters = new Set(files.map((f) => f.path.split("/")[0]));
  assert.ok(all.length >= 20 * clusters.size, `expected the boot scripts and every SSH step, got ${all.length}`);
  const verdict = await checkOnce("shellcheck", version, ["--shell=bash", "--severity=style"], all, 40);
  assert.deepEqual(verdict.failures, []);
});

test("shellcheck does catch a broken script (the check is live)", () => {
  requireTool("shellcheck", ["--version"]);
  const bad = join(dir, "bad.sh");
  writeFileSync(bad, "#!/usr/bin/env bash\nrm -rf $TARGET/\n");
  assert.notEqual(spawnSync("shellcheck", [bad]).status, 0);
});

test("a pass is remembered by content and tool version, a failure never: the broken script fails on every run", async () => {
  const version = requireTool("shellcheck", ["--version"]);
  const args = ["--shell=bash", `--exclude=SC1000${Date.now() % 1000}`]; // this run's own cache entry
  const good = { at: join(dir, "good.sh"), content: `#!/usr/bin/env bash\necho "ok ${Date.now()}"\n` };
  const bad = { at: join(dir, "broken.sh"), content: "#!/usr/bin/env bash\nrm -rf $TARGET/\n" };
  writeFileSync(good.at, good.content);
  writeFileSync(bad.at, bad.content);
  assert.deepEqual(await checkOnce("shellcheck", version, args, [good]), { checked: 1, failures: [] });
  assert.deepEqual(await checkOnce("shellcheck", version, args, [good]), { checked: 0, failures: [] });
  for (let run = 0; run < 2; run++) {
    const v = await checkOnce("shellcheck", version, args, [good, bad]);
    assert.equal(v.checked, 1);
    assert.match(v.failures.join("\n"), /SC2115/);
  }
  assert.equal((await checkOnce("shellcheck", `${version} (another build)`, args, [good])).checked, 1, "another version checks again");
});

test("the discovery hash matches openssl's computation on the real CA certificate", () => {
  // kubeadm's documented recipe: openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum
  const key = execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], { encoding: "utf8" });
  writeFileSync(join(dir, "k.pem"), key);
  const cert = execFileSync("openssl", ["req", "-x509", "-new", "-key", join(dir, "k.pem"), "-subj", "/CN=kubernetes", "-days", "1"], { encoding: "utf8" });
  writeFileSync(join(dir, "c.pem"), cert);
  const pub = execFileSync("openssl", ["x509", "-pubkey", "-noout", "-in", join(dir, "c.pem")]);
  const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: pub });
  const expected = "sha256:" + createHash("sha256").update(der).digest("hex");
  assert.equal(discoveryHash(cert), expected);
  assert.equal(discoveryHash(execFileSync("openssl", ["pkey", "-pubout", "-in", join(dir, "k.pem")], { encoding: "utf8" })), expected);
});

test("kubeadm configs are v1beta4 documents of the expected kinds", () => {
  const kinds = (p: string) => parseAllDocuments(r.files.find((f) => f.path === p)!.content).map((d) => `${d.get("apiVersion")}/${d.get("kind")}`);
  assert.deepEqual(kinds("prod-master-0/etc/kubeadm-ha/kubeadm-init.yaml"), [
    "kubeadm.k8s.io/v1beta4/InitConfiguration",
    "kubeadm.k8s.io/v1beta4/ClusterConfiguration",
    "kubelet.config.k8s.io/v1beta1/KubeletConfiguration",
  ]);
  assert.deepEqual(kinds("prod-master-1/etc/kubeadm-ha/kubeadm-join.yaml"), ["kubeadm.k8s.io/v1beta4/JoinConfiguration"]);
});

test("haproxy -c and keepalived --config-test accept the endpoint configs, and reject broken ones", () => {
  requireTool("haproxy", ["-v"]);
  requireTool("keepalived", ["--version"]);
  const backends = [0, 1, 2].map((i) => ({ name: `m${i}`, address: `10.103.97.${200 + i}`, port: 6443 }));
  for (const [bind, port] of [
    ["*", 8443],
    ["127.0.0.1", 16443],
  ] as const) {
    const cfg = join(dir, `haproxy-${port}.cfg`);
    writeFileSync(cfg, haproxyConfig({ bind, port, backends }));
    const res = spawnSync("haproxy", ["-c", "-f", cfg], { encoding: "utf8" });
    assert.equal(res.status, 0, res.stdout + res.stderr);
  }
  const check = join(dir, "check.sh");
  writeFileSync(check, vipCheckScript(), { mode: 0o755 });
  const ka = join(dir, "keepalived.conf");
  const text = keepalivedConfig({
    self: { name: "m0", address: "10.103.97.200", index: 0 },
    peers: ["10.103.97.201", "10.103.97.202"],
    vip: "10.103.97.2",
    prefix: 24,
    interface: "eth0",
    checkScript: check,
  });
  writeFileSync(ka, text);
  assert.equal(spawnSync("keepalived", ["--config-test", "-f", ka]).status, 0);
  assert.equal(spawnSync("shellcheck", [check]).status, 0);
  writeFileSync(ka, text.replace("advert_int", "advert_intt"));
  assert.notEqual(spawnSync("keepalived", ["--config-test", "-f", ka]).status, 0, "keepalived's check is live");
});
