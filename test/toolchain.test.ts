// The toolchain's decisions for Kubernetes and what kubeadm pins, tested as pure functions
// on the real upstream texts (Kubernetes' go.mod and kubeadm's constants.go from the
// toolchain's module cache, when a toolchain run downloaded them), and the command itself:
// a clear error when the module proxy cannot be reached, a warm run that rebuilds nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { DEFAULT_KUBERNETES_VERSION } from "../components/config/schema";
import { goEnv, toolchainDir, TOOLCHAIN_DIR_ENV } from "../toolchain/cache";
import { etcdBuild, kubeadmPins, KUBEADM_CONSTANTS, kubernetesBuild, kubernetesLdflags, pauseBuild, stagingReplaces } from "../toolchain/kubernetes";
import { isLocalReplace, parseGoMod, wrapperGoMod } from "../toolchain/recipe";
import { proxyHint } from "../toolchain/build";
import { allRecipes, LAB_UPGRADE_VERSION, toolchainVersions } from "../toolchain/recipes";
import { ROOT, toolchainSkip } from "./helpers";

const V = `v${DEFAULT_KUBERNETES_VERSION}`;
const modCache = join(toolchainDir(), "go", "mod");
const k8sGoMod = join(modCache, "cache", "download", "k8s.io", "kubernetes", "@v", `${V}.mod`);
const constants = join(modCache, `k8s.io/kubernetes@${V}`, KUBEADM_CONSTANTS);
const notDownloaded = existsSync(k8sGoMod) && existsSync(constants) ? false : `Kubernetes ${V} is not in the toolchain's module cache: run npm run toolchain`;

test("the cache folder is outside the repository and overridable; Go's caches live in it", () => {
  assert.equal(toolchainDir({ [TOOLCHAIN_DIR_ENV]: "/x/tc" }), "/x/tc");
  assert.equal(toolchainDir({ HOME: "/home/u" }), "/home/u/.cache/kubeadm-ha/toolchain");
  assert.equal(toolchainDir({ HOME: "/home/u", XDG_CACHE_HOME: "/c" }), "/c/kubeadm-ha/toolchain");
  const env = goEnv("/x/tc");
  assert.ok(env.GOMODCACHE.startsWith("/x/tc/") && env.GOCACHE.startsWith("/x/tc/"));
});

test("a go.mod is read in both its one-line and block forms", () => {
  const mod = parseGoMod(
    `module example.com/m\n\ngo 1.24.0\n\ngodebug default=go1.24\n\nrequire a.com/x v1.2.3\nrequire (\n\tb.com/y v0.0.0 // indirect\n)\nreplace (\n\tb.com/y => ./staging/y\n\tc.com/z v1.0.0 => d.com/z v1.0.1\n)\n`,
  );
  assert.equal(mod.module, "example.com/m");
  assert.equal(mod.go, "1.24.0");
  assert.deepEqual(mod.godebug, ["default=go1.24"]);
  assert.deepEqual(mod.requires, [
    { path: "a.com/x", version: "v1.2.3" },
    { path: "b.com/y", version: "v0.0.0" },
  ]);
  assert.deepEqual(mod.replaces.map(isLocalReplace), [true, false]);
  const again = parseGoMod(wrapperGoMod({ module: "w", go: "1.24", godebug: mod.godebug, requires: mod.requires, replaces: mod.replaces }));
  assert.deepEqual(again.requires, mod.requires);
  assert.deepEqual(again.replaces, mod.replaces);
});

test("every staging module of Kubernetes is pointed at its published v0.<minor>.<patch>, nothing left local", { skip: notDownloaded }, () => {
  const upstream = parseGoMod(readFileSync(k8sGoMod, "utf8"));
  const replaces = stagingReplaces(upstream, V);
  const local = upstream.replaces.filter(isLocalReplace);
  assert.ok(local.length >= 25, `Kubernetes' go.mod has ${local.length} staging replaces`);
  const [, minor, patch] = DEFAULT_KUBERNETES_VERSION.split(".");
  for (const r of local)
    assert.ok(
      replaces.some((x) => x.from === r.from && x.to === r.from && x.toVersion === `v0.${minor}.${patch}`),
      r.from,
    );
  assert.equal(replaces.filter(isLocalReplace).length, 0);
  const build = kubernetesBuild({ version: V, goMod: readFileSync(k8sGoMod, "utf8"), time: "2025-11-11T19:00:37Z" });
  assert.match(build.kind === "go" ? build.files["go.mod"] : "", new RegExp(`require \\(\\n\\tk8s.io/kubernetes ${V.replace(/\./g, "\\.")}\\n\\)`));
  assert.match(build.kind === "go" ? build.files["go.mod"] : "", /godebug default=go1\.\d+/);
});

test("the version stamps are the ones hack/lib/version.sh sets, in both packages that carry them", () => {
  const flags = kubernetesLdflags({ version: "1.34.2", buildDate: "2025-11-11T19:00:37Z" });
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    assert.ok(flags.includes(`-X ${pkg}.gitVersion=v1.34.2`));
    assert.ok(flags.includes(`-X ${pkg}.gitMajor=1`));
    assert.ok(flags.includes(`-X ${pkg}.gitMinor=34`));
    assert.ok(flags.includes(`-X ${pkg}.gitTreeState=clean`));
  }
  assert.throws(() => kubernetesLdflags({ version: "1.34", buildDate: "x" }), /not a Kubernetes release/);
});

test("etcd, CoreDNS and pause are the versions kubeadm pins for the Kubernetes minor", { skip: notDownloaded }, () => {
  const pins = kubeadmPins(readFileSync(constants, "utf8"), V);
  assert.match(pins.etcd, /^3\.\d+\.\d+$/);
  assert.equal(pins.etcdImageTag.replace(/-\d+$/, ""), pins.etcd);
  assert.match(pins.coredns, /^v1\.\d+\.\d+$/);
  assert.match(pins.pause, /^3\.\d+/);
  assert.throws(() => kubeadmPins(readFileSync(constants, "utf8"), "1.99.0"), /does not list etcd for minor 99/);
  const etcd = etcdBuild(pins.etcd);
  assert.deepEqual(etcd.kind === "go" && etcd.renames, { server: "etcd" });
});

test("from 1.35 kubeadm keys its etcd table by skew from its own release: that row is the release's etcd", () => {
  const constants135 = `
	DefaultEtcdVersion = "3.6.6-0"
	CoreDNSVersion = "v1.13.1"
	PauseVersion = "3.10.1"
	SupportedEtcdVersion = map[uint8]string{
		uint8(getSkewedKubernetesVersion(-2).Minor()): "3.5.24-0",
		uint8(getSkewedKubernetesVersion(-1).Minor()): "3.6.5-0",
		uint8(getSkewedKubernetesVersion(0).Minor()):  "3.6.6-0",
	}
`;
  assert.deepEqual(kubeadmPins(constants135, "1.35.4"), { etcd: "3.6.6", etcdImageTag: "3.6.6-0", coredns: "v1.13.1", pause: "3.10.1" });
});

test("two releases that pin the same pause compile it as two builds: a warm run rebuilds neither", () => {
  const a = pauseBuild("1.34.2", "3.10.1");
  const b = pauseBuild("1.35.4", "3.10.1");
  assert.notEqual(a.id, b.id);
  assert.equal(a.id, "pause-3.10.1-from-kubernetes-v1.34.2");
});

test(
  "the lab's upgrade release is built beside the default one, under versioned names",
  { skip: toolchainSkip([`kubeadm@v${LAB_UPGRADE_VERSION}`, `kubelet@v${LAB_UPGRADE_VERSION}`]) },
  () => {
    const manifest = JSON.parse(readFileSync(join(toolchainDir(), "toolchain.json"), "utf8"));
    const out = (t: string, args: string[]) => spawnSync(manifest.tools[t].path, args, { encoding: "utf8" }).stdout.trim();
    assert.equal(out(`kubeadm@v${LAB_UPGRADE_VERSION}`, ["version", "-o", "short"]), `v${LAB_UPGRADE_VERSION}`);
    assert.equal(out(`kubelet@v${LAB_UPGRADE_VERSION}`, ["--version"]), `Kubernetes v${LAB_UPGRADE_VERSION}`);
    assert.equal(out("kubeadm", ["version", "-o", "short"]), V, "the plain names stay the default release's");
    const names = allRecipes(toolchainVersions(ROOT)).map((r) => r.name);
    assert.deepEqual(
      names.filter((n) => n.endsWith("-upgrade")),
      ["kubernetes-upgrade", "etcd-upgrade", "coredns-upgrade", "pause-upgrade"],
    );
  },
);

test("the built programs print the versions they were built for", { skip: toolchainSkip(["kubeadm", "kubelet", "etcd"]) }, () => {
  const manifest = JSON.parse(readFileSync(join(toolchainDir(), "toolchain.json"), "utf8"));
  const out = (t: string, args: string[]) => spawnSync(manifest.tools[t].path, args, { encoding: "utf8" }).stdout.trim();
  assert.equal(out("kubeadm", ["version", "-o", "short"]), V);
  assert.equal(out("kubelet", ["--version"]), `Kubernetes ${V}`);
  const pins = kubeadmPins(readFileSync(constants, "utf8"), V);
  assert.match(out("etcd", ["--version"]), new RegExp(`etcd Version: ${pins.etcd.replace(/\./g, "\\.")}`));
});

test("an unreachable module proxy fails with one clear sentence, keeping go's own detail", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeadm-ha-toolchain-"));
  try {
    const res = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "toolchain/cli.ts"), "--only", "pause"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, [TOOLCHAIN_DIR_ENV]: dir, GOPROXY: "http://127.0.0.1:9", GOSUMDB: "off" },
      timeout: 120_000,
    });
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /toolchain: the Go module proxy cannot be reached \(GOPROXY=http:\/\/127\.0\.0\.1:9\)/);
    assert.match(res.stderr, /connection refused/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.doesNotMatch(proxyHint("go: k8s.io/x@v1: invalid version"), /cannot be reached/);
});

test("a warm run reuses every build instead of rebuilding it", { skip: toolchainSkip(["kubeadm", "etcd", "pause"]) }, () => {
  const res = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "toolchain/cli.ts"), "--only", "kubernetes,etcd,pause"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 300_000,
  });
  assert.equal(res.status, 0, res.stderr);
  assert.equal((res.stderr.match(/built already/g) ?? []).length, 3, res.stderr);
  assert.doesNotMatch(res.stderr, /building \.\.\./);
  assert.match(res.stdout, /toolchain ready in/);
});
