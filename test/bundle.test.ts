// The air-gapped bundle: its pure parts (tar writer, OCI image archives, bundle.json
// validation, the CNI recipe), a real bundle built from the toolchain (bundle.json lists
// exactly what kubeadm asks for, every sha256 holds, a rebuild gives the same digests),
// and, as root, a real containerd that imports every image and runs the programs in them.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import { gunzipSync } from "zlib";
import { DEFAULT_KUBERNETES_VERSION } from "../components/config/schema";
import { readManifest, toolchainDir } from "../toolchain/cache";
import { CNI_PLUGINS, CNI_PLUGINS_MODULE, CNI_PLUGINS_VERSION, cniPluginNames, cniPluginsBuild } from "../toolchain/cni";
import { allRecipes, toolchainVersions } from "../toolchain/recipes";
import { BUNDLE_TOOLS, BundleError, buildBundle, BundleResult, checkToolchain, goArch } from "../bundle/build";
import { ECHO_IMAGE, echoBuild, goRunnerBuild } from "../bundle/builds";
import { parseBundleArgs } from "../bundle/cli";
import { IPTABLES_COMMANDS } from "../bundle/images";
import { parseDpkgSearch, parseLdd } from "../bundle/hostfiles";
import { BundleManifestError, readBundleManifest, REQUIRED_FILES, validateBundleManifest } from "../bundle/manifest";
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, makeLayer, MEDIA, ociArchive, parseImageRef } from "../bundle/oci";
import { CAP_NET_BIND_SERVICE, fileCapability, readTar, tarArchive, TarEntry } from "../bundle/tar";
import { KUBEADM_DROPIN, KUBELET_SERVICE } from "../bundle/units";
import { freePort, ROOT, tempDir, toolchainSkip } from "./helpers";

const V = DEFAULT_KUBERNETES_VERSION;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const file = (path: string, data: string, mode = 0o644): TarEntry => ({ path, type: "file", mode, data: Buffer.from(data) });

/** An OCI archive read back: its files by path, and the parsed index, manifest and config. */
function openArchive(archive: Buffer) {
  const files = new Map(readTar(archive).map((e) => [e.path, e]));
  const blob = (digest: string) => {
    const e = files.get(`blobs/sha256/${digest.replace(/^sha256:/, "")}`);
    assert.ok(e, `the archive has the blob ${digest}`);
    assert.equal(sha(e.data), digest.replace(/^sha256:/, ""), `blob ${digest} has the content its name says`);
    return e.data;
  };
  const index = JSON.parse(files.get("index.json")!.data.toString());
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
  const config = JSON.parse(blob(manifest.config.digest).toString());
  return { files, blob, index, manifest, config };
}

// ---------------------------------------------------------------------------------
// The tar writer

test("the tar writer writes ustar entries GNU tar reads, with PAX records for long paths and file capabilities", () => {
  const long = `usr/share/${"very-long-folder-name/".repeat(8)}file.txt`;
  const archive = tarArchive([
    file("usr/local/bin/tool", "#!/bin/true\n", 0o755),
    { path: "usr/local/bin/server", type: "file", mode: 0o755, data: Buffer.from("x"), xattrs: { "security.capability": fileCapability([CAP_NET_BIND_SERVICE]) } },
    { path: "tmp", type: "dir", mode: 0o1777 },
    { path: "lib", type: "symlink", mode: 0o777, linkname: "usr/lib" },
    { path: "home/nonroot", type: "dir", mode: 0o700, uid: 65532, gid: 65532 },
    file(long, "deep"),
  ]);
  assert.equal(archive.length % 512, 0);
  const dir = tempDir("bundle-tar-");
  writeFileSync(join(dir, "a.tar"), archive);
  const listing = execFileSync("tar", ["--xattrs", "--xattrs-include=*", "-tvvf", join(dir, "a.tar")], { encoding: "utf8" });
  // Parent folders are added, entries sorted, modes and owners kept.
  const names = readTar(archive).map((e) => e.path);
  assert.deepEqual(names, [...names].sort());
  for (const d of ["usr", "usr/local", "usr/local/bin", "home"]) assert.ok(names.includes(d), `parent folder ${d} is in the archive`);
  assert.match(listing, /drwxrwxrwt +0\/0 +0 1970-01-01 00:00 tmp\//);
  assert.match(listing, /drwx------ +65532\/65532 .* home\/nonroot\//);
  assert.match(listing, /lrwxrwxrwx .* lib -> usr\/lib/);
  assert.ok(listing.includes(long), "GNU tar reads the long path from the PAX header");
  assert.match(listing, /-rwxr-xr-x\* .* usr\/local\/bin\/server\n\s+x: +20 security\.capability/);
  // Extracted with xattrs, the file capability is the one `setcap cap_net_bind_service=+ep` sets.
  mkdirSync(join(dir, "x"));
  execFileSync("tar", ["--xattrs", "--xattrs-include=security.*", "-xf", join(dir, "a.tar"), "-C", join(dir, "x")]);
  if (existsSync("/usr/sbin/getcap") && process.getuid?.() === 0) {
    assert.match(execFileSync("/usr/sbin/getcap", [join(dir, "x/usr/local/bin/server")], { encoding: "utf8" }), /cap_net_bind_service[=+]ep/);
  }
  assert.equal(readFileSync(join(dir, "x", long), "utf8"), "deep");
});

test("the tar writer is deterministic and refuses what cannot be a layer", () => {
  const entries = [file("b", "2"), file("a/x", "1"), { path: "a", type: "dir" as const, mode: 0o755 }];
  assert.equal(sha(tarArchive(entries)), sha(tarArchive([...entries].reverse())), "entry order does not matter");
  for (const e of readTar(tarArchive(entries))) assert.equal(e.mtime, 0);
  assert.notEqual(sha(tarArchive(entries)), sha(tarArchive([file("b", "3"), file("a/x", "1")])));
  assert.throws(() => tarArchive([file("../etc/passwd", "x")]), /not a clean relative path/);
  assert.throws(() => tarArchive([file("a", "1"), file("a", "2")]), /two tar entries at a/);
  assert.throws(() => tarArchive([file("a", "1"), file("a/b", "2")]), /lies under a, which is a file/);
  // VFS_CAP_REVISION_2 | effective, permitted bit 10: the bytes setcap writes for cap_net_bind_service=+ep.
  assert.equal(fileCapability([CAP_NET_BIND_SERVICE]).toString("hex"), "0100000200040000000000000000000000000000");
});

// ---------------------------------------------------------------------------------
// OCI image archives

test("an OCI image archive has the layout ctr imports: oci-layout, an annotated index, the manifest, config and gzip layers", () => {
  const layer = makeLayer("pause", [file("pause", "\x7fELF", 0o755)]);
  const img = ociArchive({ ref: "registry.k8s.io/pause:3.10.1", arch: "amd64", config: { User: "65535:65535", Entrypoint: ["/pause"], Labels: { a: "b" } }, layers: [layer] });
  const { files, blob, index, manifest, config } = openArchive(img.archive);
  assert.deepEqual(JSON.parse(files.get("oci-layout")!.data.toString()), { imageLayoutVersion: "1.0.0" });
  assert.equal(index.mediaType, MEDIA.index);
  assert.equal(index.manifests.length, 1);
  const desc = index.manifests[0];
  assert.equal(desc.digest, `sha256:${img.manifestDigest}`);
  assert.deepEqual(desc.platform, { architecture: "amd64", os: "linux" });
  assert.equal(desc.annotations[ANNOTATION_IMAGE_NAME], "registry.k8s.io/pause:3.10.1");
  assert.equal(desc.annotations[ANNOTATION_REF_NAME], "3.10.1");
  assert.equal(manifest.mediaType, MEDIA.manifest);
  assert.equal(manifest.config.mediaType, MEDIA.config);
  assert.equal(manifest.layers[0].mediaType, MEDIA.layerGzip);
  assert.equal(manifest.layers[0].size, layer.gz.length);
  // The config's diff_id is the sha256 of the uncompressed layer; the layer holds /pause.
  const tar = gunzipSync(blob(manifest.layers[0].digest));
  assert.deepEqual(config.rootfs, { type: "layers", diff_ids: [`sha256:${sha(tar)}`] });
  assert.deepEqual(
    readTar(tar).map((e) => [e.path, e.mode]),
    [["pause", 0o755]],
  );
  assert.equal(config.architecture, "amd64");
  assert.equal(config.os, "linux");
  assert.deepEqual(config.config.Entrypoint, ["/pause"]);
  assert.equal(config.config.User, "65535:65535");
  assert.equal(config.history.length, 1);
  // docker load reads the same archive.
  assert.deepEqual(JSON.parse(files.get("manifest.json")!.data.toString()), [
    { Config: `blobs/sha256/${img.configDigest}`, RepoTags: ["registry.k8s.io/pause:3.10.1"], Layers: [`blobs/sha256/${layer.digest}`] },
  ]);
});

test("the same inputs give the same layer, config and manifest digests; a changed input changes them", () => {
  const build = (content: string, user = "0") =>
    ociArchive({
      ref: "kubeadm-ha.lab/echo:1",
      arch: "amd64",
      config: { User: user },
      layers: [makeLayer("echo", [file("echo", content, 0o755), { path: "tmp", type: "dir", mode: 0o1777 }])],
    });
  const a = build("v1");
  const b = build("v1");
  assert.equal(a.manifestDigest, b.manifestDigest);
  assert.equal(sha(a.archive), sha(b.archive), "the whole archive is byte for byte the same");
  assert.notEqual(build("v2").manifestDigest, a.manifestDigest);
  assert.notEqual(build("v1", "65532").configDigest, a.configDigest);
  assert.equal(build("v1", "65532").archive.length > 0, true);
});

test("image references are split into repository, tag and the file name the bundle uses", () => {
  assert.deepEqual(parseImageRef("registry.k8s.io/coredns/coredns:v1.12.1"), { repository: "registry.k8s.io/coredns/coredns", tag: "v1.12.1", name: "coredns" });
  assert.deepEqual(parseImageRef("registry.k8s.io/etcd:3.6.5-0"), { repository: "registry.k8s.io/etcd", tag: "3.6.5-0", name: "etcd" });
  assert.deepEqual(parseImageRef("localhost:5000/x/pause:3.10"), { repository: "localhost:5000/x/pause", tag: "3.10", name: "pause" });
  assert.equal(parseImageRef(ECHO_IMAGE).name, "echo");
  assert.throws(() => parseImageRef("pause"), /not an image reference/);
  assert.throws(() => parseImageRef("registry.k8s.io/pause"), /not an image reference/);
});

// ---------------------------------------------------------------------------------
// bundle.json

const goodManifest = () => ({
  format: 1,
  kubernetesVersion: "1.34.2",
  arch: "amd64",
  images: [{ ref: "registry.k8s.io/pause:3.10.1", file: "images/pause.tar" }],
  cniPlugins: "v1.9.1",
  files: Object.fromEntries([...REQUIRED_FILES, "images/pause.tar"].map((f) => [f, sha(f)])),
});

const problems = (data: unknown, opts = {}) => {
  try {
    validateBundleManifest(data, "b/bundle.json", opts);
  } catch (e) {
    assert.ok(e instanceof BundleManifestError, String(e));
    assert.match(e.message, /^b\/bundle\.json is not a usable bundle:/);
    return e.problems.join("\n");
  }
  assert.fail("expected the manifest to be refused");
};

test("bundle.json validation names each problem", () => {
  assert.equal(validateBundleManifest(goodManifest()).kubernetesVersion, "1.34.2");
  assert.equal(validateBundleManifest(goodManifest(), "x", { kubernetesVersion: "v1.34.2" }).arch, "amd64");
  assert.match(problems([]), /not a JSON object/);
  assert.match(problems({ ...goodManifest(), format: 2 }), /its format is 2; this program reads format 1/);
  assert.match(problems({ ...goodManifest(), format: undefined }), /has no "format"/);
  assert.match(problems({ ...goodManifest(), kubernetesVersion: "v1.34" }), /"kubernetesVersion" must be a release like "1\.34\.2", not "v1\.34"/);
  assert.match(problems(goodManifest(), { kubernetesVersion: "1.33.1" }), /it holds Kubernetes 1\.34\.2, but 1\.33\.1 is configured/);
  assert.match(problems({ ...goodManifest(), cniPlugins: 1 }), /"cniPlugins" must be a release like "v1\.9\.1"/);
  assert.match(problems({ ...goodManifest(), arch: "" }), /"arch" must name an architecture/);
  assert.match(problems({ ...goodManifest(), images: [] }), /"images" must be a non-empty array/);
  assert.match(problems({ ...goodManifest(), images: [{ ref: "pause", file: "images/pause.tar" }] }), /images\[0\]\.ref "pause" is not a registry\/name:tag reference/);
  assert.match(
    problems({ ...goodManifest(), images: [{ ref: "registry.k8s.io/etcd:3.6.5-0", file: "images/etcd.tar" }] }),
    /images\[0\] \(registry\.k8s\.io\/etcd:3\.6\.5-0\) names images\/etcd\.tar, which "files" does not list/,
  );
  const m = goodManifest();
  delete (m.files as Record<string, string>)["bin/kubelet"];
  (m.files as Record<string, string>)["../etc/passwd"] = "zz";
  const p = problems(m);
  assert.match(p, /"files" does not list bin\/kubelet, which every bundle holds/);
  assert.match(p, /"files" lists "\.\.\/etc\/passwd", which is not a clean relative path/);
  assert.match(p, /gives \.\.\/etc\/passwd the sha256 "zz", not 64 lowercase hex digits/);
  assert.match(problems({ ...goodManifest(), extraImages: "x" }), /"extraImages" must be an array/);
});

test("readBundleManifest checks that every listed file is there with its sha256, when asked", () => {
  const dir = tempDir("bundle-manifest-");
  assert.throws(() => readBundleManifest(dir), /bundle\.json is not a usable bundle:\n {2}- it does not exist: build a bundle with npm run bundle -- --out /);
  const m = goodManifest();
  for (const f of Object.keys(m.files)) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(join(dir, f), f);
  }
  writeFileSync(join(dir, "bundle.json"), "{");
  assert.throws(() => readBundleManifest(dir), /it is not valid JSON/);
  writeFileSync(join(dir, "bundle.json"), JSON.stringify(m));
  assert.equal(readBundleManifest(dir, { verifyFiles: true, kubernetesVersion: "1.34.2" }).images.length, 1);
  writeFileSync(join(dir, "bin/kubeadm"), "changed");
  rmSync(join(dir, "cni/bin/portmap"));
  readBundleManifest(dir); // without verifyFiles only bundle.json is read
  assert.throws(
    () => readBundleManifest(dir, { verifyFiles: true }),
    (e: unknown) =>
      e instanceof BundleManifestError &&
      e.problems.some((p) => p.startsWith(`bin/kubeadm has sha256 ${sha("changed")}, but bundle.json says ${sha("bin/kubeadm")}`)) &&
      e.problems.includes("cni/bin/portmap is listed but missing from the bundle"),
  );
});

// ---------------------------------------------------------------------------------
// Recipes, units, host files, command line

const pluginsDir = join(toolchainDir(), "go", "mod", `${CNI_PLUGINS_MODULE}@${CNI_PLUGINS_VERSION}`);
const pluginsGoMod = join(toolchainDir(), "go", "mod", "cache", "download", CNI_PLUGINS_MODULE, "@v", `${CNI_PLUGINS_VERSION}.mod`);
const pluginsNotDownloaded =
  existsSync(pluginsDir) && existsSync(pluginsGoMod)
    ? false
    : `${CNI_PLUGINS_MODULE}@${CNI_PLUGINS_VERSION} is not in the toolchain's module cache: run npm run toolchain -- --only cni-plugins`;

test("the CNI recipe builds every plugin upstream's build_linux.sh builds, in one static go build with the version stamp", { skip: pluginsNotDownloaded }, () => {
  // build_linux.sh: every folder of plugins/meta, plugins/main (but windows) and plugins/ipam.
  for (const kind of ["main", "ipam", "meta"] as const) {
    const folders = readdirSync(join(pluginsDir, "plugins", kind)).filter((d) => d !== "windows" && statSync(join(pluginsDir, "plugins", kind, d)).isDirectory());
    assert.deepEqual([...CNI_PLUGINS[kind]].sort(), folders.sort(), `plugins/${kind}`);
  }
  const b = cniPluginsBuild({ version: CNI_PLUGINS_VERSION, goMod: readFileSync(pluginsGoMod, "utf8") });
  assert.equal(b.kind, "go");
  if (b.kind !== "go") return;
  assert.equal(b.id, `cni-plugins-${CNI_PLUGINS_VERSION}`);
  assert.equal(b.packages.length, cniPluginNames().length);
  assert.deepEqual(b.outputs, cniPluginNames());
  assert.ok(!b.cgo, "static: cgo off");
  assert.deepEqual(b.ldflags, [`-X ${CNI_PLUGINS_MODULE}/pkg/utils/buildversion.BuildVersion=${CNI_PLUGINS_VERSION}`]);
  assert.match(b.files["go.mod"], new RegExp(`require \\(\\n\\t${CNI_PLUGINS_MODULE.replace(/\./g, "\\.")} ${CNI_PLUGINS_VERSION}\\n\\)`));
  assert.throws(() => cniPluginsBuild({ version: "v1.0.0", goMod: "module example.com/other\n" }), /expected the go\.mod of github\.com\/containernetworking\/plugins/);
  assert.ok(
    allRecipes(toolchainVersions(ROOT)).some((r) => r.name === "cni-plugins"),
    "npm run toolchain builds the plugins",
  );
});

test("the built CNI plugins print the pinned release", { skip: toolchainSkip(["bridge", "portmap"]) }, () => {
  const m = readManifest()!;
  const r = spawnSync(m.tools.bridge.path, ["--version"], { encoding: "utf8" });
  assert.match(r.stdout + r.stderr, new RegExp(`CNI bridge plugin ${CNI_PLUGINS_VERSION.replace(/\./g, "\\.")}`));
  const ldd = spawnSync("ldd", [m.tools.portmap.path], { encoding: "utf8" });
  assert.match(ldd.stdout + ldd.stderr, /not a dynamic executable|statically linked/, "static: no shared library to find on a host");
});

test("the kubelet units are the .deb's, running /usr/bin/kubelet with kubeadm's flag files", () => {
  assert.match(KUBELET_SERVICE, /^\[Service\]\nExecStart=\/usr\/bin\/kubelet\nRestart=always$/m);
  assert.match(KUBELET_SERVICE, /^WantedBy=multi-user\.target$/m);
  assert.match(KUBEADM_DROPIN, /^EnvironmentFile=-\/var\/lib\/kubelet\/kubeadm-flags\.env$/m);
  assert.match(KUBEADM_DROPIN, /^EnvironmentFile=-\/etc\/default\/kubelet$/m);
  assert.match(KUBEADM_DROPIN, /^ExecStart=\nExecStart=\/usr\/bin\/kubelet \$KUBELET_KUBECONFIG_ARGS \$KUBELET_CONFIG_ARGS \$KUBELET_KUBEADM_ARGS \$KUBELET_EXTRA_ARGS$/m);
});

test("ldd's and dpkg's output is read as printed", () => {
  assert.deepEqual(
    parseLdd("\tlinux-vdso.so.1 (0x00007ffd)\n\tlibxtables.so.12 => /lib/x86_64-linux-gnu/libxtables.so.12 (0x00007f7d)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f7d)\n"),
    ["/lib/x86_64-linux-gnu/libxtables.so.12", "/lib64/ld-linux-x86-64.so.2"],
  );
  assert.throws(() => parseLdd("\tlibfoo.so.1 => not found\n"), /a shared library is missing/);
  const owners = parseDpkgSearch(
    "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\niptables: /usr/sbin/xtables-nft-multi\ndiversion by x from: /y\nlibxtables12:amd64, other: /usr/lib/libxtables.so.12\n",
  );
  assert.deepEqual(owners.get("/lib/x86_64-linux-gnu/libc.so.6"), ["libc6"]);
  assert.deepEqual(owners.get("/usr/lib/libxtables.so.12"), ["libxtables12", "other"]);
  assert.equal(owners.size, 3);
});

test("the command line needs --out and knows --with-lab-images", () => {
  assert.deepEqual(parseBundleArgs(["--out", "/tmp/b", "--with-lab-images"]), { out: "/tmp/b", withLabImages: true });
  assert.deepEqual(parseBundleArgs(["--out", "/tmp/b"]), { out: "/tmp/b", withLabImages: false });
  assert.match((parseBundleArgs([]) as { error: string }).error, /--out DIR is required/);
  assert.match((parseBundleArgs(["--out", "x", "--bogus"]) as { error: string }).error, /bogus/);
  assert.equal(goArch("x64"), "amd64");
  assert.throws(() => goArch("mips"), BundleError);
  const g = goRunnerBuild("1.34.2");
  assert.equal(g.kind === "go" && g.files["go.mod"].includes("k8s.io/component-base v0.34.2"), true);
  const e = echoBuild("package main\n");
  assert.equal(e.kind === "go" && e.files["main.go"], "package main\n");
});

test("a toolchain that lacks a program is named with the command that builds it", () => {
  const empty = tempDir("bundle-no-toolchain-");
  assert.throws(
    () => checkToolchain(empty, V),
    (e: unknown) => e instanceof BundleError && /lacks kubeadm, kubelet, .*bridge.*: run npm run toolchain/.test(e.message),
  );
  const res = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "bundle/cli.ts"), "--out", join(empty, "b")], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, KUBEADM_HA_TOOLCHAIN_DIR: empty },
  });
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /^bundle: the toolchain in .* lacks kubeadm, .*: run npm run toolchain/m);
});

// ---------------------------------------------------------------------------------
// A real bundle from the toolchain

const noToolchain = toolchainSkip(BUNDLE_TOOLS);
let built: Promise<BundleResult> | undefined;
const bundleDir = () => join(tempDir("bundle-"), "b");
let out = "";
/** One bundle (with the lab images) per test process. */
function theBundle(): Promise<BundleResult> {
  out ||= bundleDir();
  built ??= buildBundle({ out, withLabImages: true, root: ROOT });
  return built;
}

const kubeadmList = () =>
  execFileSync(readManifest()!.tools.kubeadm.path, ["config", "images", "list", "--kubernetes-version", `v${V}`, "--image-repository", "registry.k8s.io"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);

describe("a bundle built from the toolchain", { skip: noToolchain }, () => {
  test("bundle.json lists exactly the images kubeadm config images list prints, and the lab's echo apart", async () => {
    const { manifest } = await theBundle();
    assert.deepEqual(
      manifest.images.map((i) => i.ref),
      kubeadmList(),
    );
    for (const i of manifest.images) assert.equal(i.file, `images/${parseImageRef(i.ref).name}.tar`);
    assert.deepEqual(
      manifest.extraImages?.map((i) => i.ref),
      [ECHO_IMAGE],
    );
    assert.equal(manifest.format, 1);
    assert.equal(manifest.kubernetesVersion, V);
    assert.equal(manifest.arch, "amd64");
    assert.equal(manifest.cniPlugins, CNI_PLUGINS_VERSION);
  });

  test("every file is listed with its sha256, and the layout is the one the prepare step installs from", async () => {
    const { manifest } = await theBundle();
    const onDisk: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(join(out, d))) {
        const rel = d ? `${d}/${n}` : n;
        if (statSync(join(out, rel)).isDirectory()) walk(rel);
        else if (rel !== "bundle.json") onDisk.push(rel);
      }
    };
    walk("");
    assert.deepEqual(Object.keys(manifest.files).sort(), onDisk.sort(), "files lists every file of the bundle");
    for (const [rel, h] of Object.entries(manifest.files)) assert.equal(sha(readFileSync(join(out, rel))), h, rel);
    assert.equal(readBundleManifest(out, { verifyFiles: true, kubernetesVersion: V }).images.length, manifest.images.length);
    for (const b of ["kubeadm", "kubelet", "kubectl"]) {
      assert.equal(statSync(join(out, "bin", b)).mode & 0o777, 0o755, b);
      assert.equal(
        execFileSync(join(out, "bin", b), b === "kubeadm" ? ["version", "-o", "short"] : b === "kubectl" ? ["version", "--client", "-o", "yaml"] : ["--version"], {
          encoding: "utf8",
        }).includes(`v${V}`),
        true,
        b,
      );
    }
    assert.equal(readFileSync(join(out, "systemd/kubelet.service"), "utf8"), KUBELET_SERVICE);
    assert.equal(readFileSync(join(out, "systemd/kubelet.service.d/10-kubeadm.conf"), "utf8"), KUBEADM_DROPIN);
    assert.deepEqual(readdirSync(join(out, "cni/bin")).sort(), cniPluginNames());
    for (const p of ["bridge", "host-local", "loopback", "portmap"]) assert.equal(statSync(join(out, "cni/bin", p)).mode & 0o777, 0o755, p);
  });

  test("each image carries its program where upstream's image has it, with upstream's entrypoint and user", async () => {
    const { manifest } = await theBundle();
    const opened = new Map<string, ReturnType<typeof openImage>>();
    const open = (name: string) => opened.get(name) ?? opened.set(name, openImage(name)).get(name)!;
    const openImage = (name: string) => {
      const img = [...manifest.images, ...(manifest.extraImages ?? [])].find((i) => parseImageRef(i.ref).name === name)!;
      const a = openArchive(readFileSync(join(out, img.file)));
      assert.equal(`sha256:${sha(a.blob(a.index.manifests[0].digest))}`, img.digest);
      const paths = new Map<string, ReturnType<typeof readTar>[number]>();
      for (const l of a.manifest.layers) for (const e of readTar(gunzipSync(a.blob(l.digest)))) paths.set(e.path, e);
      return { ...a, paths };
    };
    for (const name of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
      const { config, paths } = open(name);
      assert.equal(paths.get(`usr/local/bin/${name}`)?.mode, 0o755, name);
      assert.ok(paths.has("go-runner"), name);
      assert.deepEqual(config.config.Entrypoint, ["/go-runner"]);
      assert.equal(config.config.User, "0");
    }
    assert.deepEqual(Object.keys(open("kube-apiserver").paths.get("usr/local/bin/kube-apiserver")!.xattrs), ["security.capability"]);
    const proxy = open("kube-proxy");
    assert.ok(proxy.paths.has("usr/local/bin/kube-proxy"));
    for (const c of IPTABLES_COMMANDS) assert.equal(proxy.paths.get(`usr/sbin/${c}`)?.linkname, "xtables-nft-multi", c);
    assert.ok(proxy.paths.has("usr/sbin/conntrack"));
    assert.ok([...proxy.paths.keys()].filter((p) => /\/xtables\/libxt_comment\.so$/.test(p)).length === 1, "the xtables extension modules are there");
    assert.ok(
      [...proxy.paths.keys()].some((p) => p.endsWith("/ld-linux-x86-64.so.2")),
      "the dynamic loader is there",
    );
    assert.equal(proxy.paths.get("lib64")?.linkname, "usr/lib64");
    const dpkgVersion = (p: string) => execFileSync("dpkg-query", ["-W", "-f", "${Version}", p], { encoding: "utf8" });
    assert.equal(proxy.config.config.Labels["io.kubeadm-ha.debian.iptables"], dpkgVersion("iptables"));
    assert.equal(proxy.config.config.Labels["io.kubeadm-ha.debian.conntrack"], dpkgVersion("conntrack"));
    assert.equal(proxy.config.config.Entrypoint, undefined, "distroless-iptables has no entrypoint");
    const etcd = open("etcd");
    for (const b of ["etcd", "etcdctl", "etcdutl"]) assert.ok(etcd.paths.has(`usr/local/bin/${b}`), b);
    const coredns = open("coredns");
    assert.deepEqual(coredns.config.config.Entrypoint, ["/coredns"]);
    assert.equal(coredns.config.config.User, "nonroot:nonroot");
    assert.deepEqual(Object.keys(coredns.paths.get("coredns")!.xattrs), ["security.capability"]);
    assert.match(coredns.paths.get("etc/passwd")!.data.toString(), /^nonroot:x:65532:65532:/m);
    const pause = open("pause");
    assert.deepEqual(pause.config.config.Entrypoint, ["/pause"]);
    assert.equal(pause.config.config.User, "65535:65535");
    assert.deepEqual([...pause.paths.keys()], ["pause"]);
    const echo = open("echo");
    assert.deepEqual(echo.config.config.Entrypoint, ["/echo"]);
    // The base layer is byte-identical in every image that has one: containerd stores it once.
    assert.equal(open("kube-apiserver").manifest.layers[0].digest, etcd.manifest.layers[0].digest);
    assert.equal(open("kube-apiserver").manifest.layers[1].digest, proxy.manifest.layers[2].digest, "one go-runner layer");
  });

  test("a rebuild swaps in a bundle with the same digests, and a folder that is not a bundle is refused", async () => {
    const first = await theBundle();
    const again = await buildBundle({ out, withLabImages: true, root: ROOT });
    assert.deepEqual(again.manifest, first.manifest, "same inputs, same bundle.json (every sha256 and image digest)");
    assert.ok(!existsSync(`${out}.partial`) && !existsSync(`${out}.old`), "no partial or old folder is left");
    const other = tempDir("bundle-not-");
    writeFileSync(join(other, "precious"), "x");
    await assert.rejects(buildBundle({ out: other, root: ROOT }), /exists and is not a bundle \(no bundle\.json\): choose a new or empty folder/);
    assert.ok(existsSync(join(other, "precious")));
  });
});

// ---------------------------------------------------------------------------------
// A real containerd imports and runs the images

const isRoot = process.getuid?.() === 0;
const hasContainerd = ["containerd", "ctr", "runc"].every((b) => spawnSync("sh", ["-c", `command -v ${b}`]).status === 0);
function containerdSkip(): string | false {
  if (noToolchain) return noToolchain;
  if (!isRoot) return "starting containerd and running containers needs root (CI runs as root)";
  if (!hasContainerd) {
    const why = "containerd, ctr and runc are not installed: apt-get install containerd (setup.sh lists it)";
    if (process.env.CI === "true") throw new Error(`CI installs containerd through setup.sh, yet ${why}`);
    return why;
  }
  return false;
}

/** Polls until `check` returns a value (not undefined), or fails after `ms` with what it last saw. */
async function waitFor<T>(what: string, ms: number, check: () => T | undefined, last: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s waiting for ${what}${last() ? `: ${last()}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the bundle's images in a real containerd", { skip: containerdSkip() }, () => {
  let dir = "";
  let daemon: ChildProcess | undefined;
  let daemonLog = "";
  const netns = `kubeadm-ha-bundle-${process.pid}`;
  let n = 0;
  const ctrArgs = () => ["--address", join(dir, "containerd.sock"), "-n", "k8s.io"];
  const ctr = (args: string[], timeout = 120_000) => {
    const r = spawnSync("ctr", [...ctrArgs(), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout, maxBuffer: 64 << 20 });
    return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, stdout: r.stdout ?? "" };
  };
  /** Runs a command in a fresh container of the image; returns what it printed. */
  const run = (image: string, cmd: string[], opts: string[] = []) => {
    const r = ctr(["run", "--rm", ...opts, image, `bt-${process.pid}-${++n}`, ...cmd]);
    assert.equal(r.status, 0, `${cmd.join(" ")} in ${image}: ${r.out}`);
    return r.out;
  };
  /**
   * What a program that always prints (its version, a ruleset) printed in `image`, where
   * running it again changes nothing. Debian's containerd
   * 1.6 shim now and then drops, under load, all a short-lived container wrote before it
   * exited (seen on CI: kube-apiserver --version answered ""): such a run is run again, up to
   * three times, so the program's own answer is what the test compares.
   */
  const said = (image: string, cmd: string[], opts: string[] = []) => {
    for (let attempt = 1; ; attempt++) {
      const out = run(image, cmd, opts);
      if (out.trim() !== "" || attempt === 3) return out;
    }
  };

  before(async () => {
    await theBundle();
    dir = tempDir("bundle-containerd-");
    const config = [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      // Images and containers only: no CRI (it would start CNI and a streaming server).
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${dir}/containerd.sock"`,
      "[ttrpc]",
      `  address = "${dir}/containerd.sock.ttrpc"`,
      "[debug]",
      `  address = "${dir}/debug.sock"`,
    ].join("\n");
    writeFileSync(join(dir, "config.toml"), config + "\n");
    daemon = spawn("containerd", ["--config", join(dir, "config.toml")], { stdio: ["ignore", "pipe", "pipe"] });
    daemon.stdout!.on("data", (d) => (daemonLog += d));
    daemon.stderr!.on("data", (d) => (daemonLog += d));
    await waitFor(
      "containerd to answer",
      30_000,
      () => (daemon!.exitCode === null && ctr(["version"], 5_000).status === 0 ? true : undefined),
      () => daemonLog.split("\n").slice(-5).join("\n"),
    );
    execFileSync("ip", ["netns", "add", netns]);
  });

  after(async () => {
    // Every task we started, then containerd, then whatever is still mounted under its root.
    if (daemon && daemon.exitCode === null) {
      for (const line of ctr(["task", "ls", "-q"], 10_000).stdout.split("\n").filter(Boolean)) {
        ctr(["task", "kill", "-s", "SIGKILL", line], 10_000);
        ctr(["task", "delete", "--force", line], 10_000);
      }
      for (const c of ctr(["containers", "ls", "-q"], 10_000).stdout.split("\n").filter(Boolean)) ctr(["containers", "rm", c], 10_000);
      daemon.kill("SIGTERM");
      await waitFor("containerd to stop", 20_000, () => (daemon!.exitCode !== null || daemon!.signalCode !== null ? true : undefined)).catch(() => daemon!.kill("SIGKILL"));
    }
    if (dir) {
      const mounts = readFileSync("/proc/mounts", "utf8")
        .split("\n")
        .map((l) => l.split(" ")[1])
        .filter((m) => m?.startsWith(dir))
        .reverse();
      for (const m of mounts) spawnSync("umount", ["-l", m]);
    }
    spawnSync("ip", ["netns", "del", netns]);
  });

  test("ctr imports every image of the bundle, and lists the refs kubeadm wants with the bundle's digests", async () => {
    const { manifest } = await theBundle();
    const all = [...manifest.images, ...(manifest.extraImages ?? [])];
    for (const img of all) {
      const r = ctr(["images", "import", join(out, img.file)], 300_000);
      assert.equal(r.status, 0, `${img.file}: ${r.out}`);
    }
    const listed = new Map(
      ctr(["images", "ls"])
        .stdout.split("\n")
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split(/\s+/))
        .map(([ref, , digest]) => [ref, digest]),
    );
    for (const ref of kubeadmList()) assert.ok(listed.has(ref), `ctr images ls shows ${ref}`);
    for (const img of all) assert.equal(listed.get(img.ref), img.digest, img.ref);
  });

  test("the programs run inside their images", () => {
    assert.equal(said(`registry.k8s.io/kube-proxy:v${V}`, ["kube-proxy", "--version"]).trim(), `Kubernetes v${V}`);
    assert.match(said(`registry.k8s.io/kube-proxy:v${V}`, ["iptables-restore", "--version"]), /^iptables-restore v1\.\d+\.\d+ \(nf_tables\)/);
    assert.match(said(`registry.k8s.io/kube-proxy:v${V}`, ["ip6tables-save", "--version"]), /^ip6tables-save v1\.\d+\.\d+ \(nf_tables\)/);
    assert.match(said(`registry.k8s.io/kube-proxy:v${V}`, ["conntrack", "--version"]), /^conntrack v1\.\d+\.\d+ \(conntrack-tools\)/);
    for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
      assert.equal(said(`registry.k8s.io/${c}:v${V}`, [c, "--version"]).trim(), `Kubernetes v${V}`, c);
    }
    // The entrypoint upstream's images have: go-runner runs the command it is given. Read from
    // its --log-file, not from ctr: Debian's containerd 1.6 shim drops, now and then under load,
    // what a container's grandchild wrote to stdout before it exited (measured: 2 of 150 runs).
    const logs = join(dir, "go-runner");
    mkdirSync(logs, { recursive: true });
    run(
      `registry.k8s.io/kube-scheduler:v${V}`,
      ["/go-runner", "--log-file=/out/kube-scheduler.log", "kube-scheduler", "--version"],
      ["--mount", `type=bind,src=${logs},dst=/out,options=rbind:rw`],
    );
    assert.match(readFileSync(join(logs, "kube-scheduler.log"), "utf8"), new RegExp(`Kubernetes v${V.replace(/\./g, "\\.")}`));
    const images = kubeadmList();
    const tagOf = (name: string) => parseImageRef(images.find((r) => parseImageRef(r).name === name)!).tag;
    assert.match(
      said(`registry.k8s.io/etcd:${tagOf("etcd")}`, ["etcd", "--version"]),
      new RegExp(`^etcd Version: ${tagOf("etcd").replace(/-\d+$/, "").replace(/\./g, "\\.")}$`, "m"),
    );
    assert.match(said(`registry.k8s.io/etcd:${tagOf("etcd")}`, ["etcdctl", "version"]), /^etcdctl version: 3\./m);
    assert.match(
      said(`registry.k8s.io/coredns/coredns:${tagOf("coredns")}`, ["/coredns", "-version"]),
      new RegExp(`^CoreDNS-${tagOf("coredns").replace(/^v/, "").replace(/\./g, "\\.")}$`, "m"),
    );
    assert.match(said(`registry.k8s.io/pause:${tagOf("pause")}`, ["/pause", "-v"]), new RegExp(`pause\\.c v${tagOf("pause").replace(/\./g, "\\.")}`));
    assert.equal(said(ECHO_IMAGE, ["/echo", "-version"]).trim(), "echo 1");
  });

  test("kube-proxy's iptables (nft) loads and saves a ruleset with the extension modules kube-proxy uses", () => {
    const rules = join(dir, "rules");
    writeFileSync(
      rules,
      [
        "*nat",
        ":KUBE-SERVICES - [0:0]",
        ":KUBE-SVC-TEST - [0:0]",
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m udp --dport 53 -m comment --comment "kube-system/kube-dns:dns" -j KUBE-SVC-TEST',
        "-A KUBE-SVC-TEST -p udp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.0.2:53",
        "-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE",
        "COMMIT",
        "*filter",
        ":KUBE-FIREWALL - [0:0]",
        "-A INPUT -m conntrack --ctstate INVALID -j DROP",
        "-A KUBE-FIREWALL -m addrtype --dst-type LOCAL -j ACCEPT",
        "COMMIT",
        "",
      ].join("\n"),
    );
    // In a network namespace of the test's own, so the machine's rules are never touched.
    const inNetns = ["--privileged", "--with-ns", `network:/var/run/netns/${netns}`];
    run(`registry.k8s.io/kube-proxy:v${V}`, ["iptables-restore", "/rules"], [...inNetns, "--mount", `type=bind,src=${rules},dst=/rules,options=rbind:ro`]);
    const saved = said(`registry.k8s.io/kube-proxy:v${V}`, ["iptables-save"], inNetns);
    assert.match(saved, /^# Generated by iptables-save v1\.\d+\.\d+ \(nf_tables\)/m);
    assert.match(saved, /-A KUBE-SVC-TEST -p udp -m statistic --mode random --probability 0\.5\d* -j DNAT --to-destination 10\.0\.0\.2:53/);
    assert.match(saved, /-A POSTROUTING -m mark --mark 0x4000\/0x4000 -j MASQUERADE/);
    assert.match(saved, /-A INPUT -m conntrack --ctstate INVALID -j DROP/);
    assert.match(saved, /-A KUBE-FIREWALL -m addrtype --dst-type LOCAL -j ACCEPT/);
    assert.match(said(`registry.k8s.io/kube-proxy:v${V}`, ["conntrack", "-L"], inNetns), /0 flow entries have been shown/);
    // kube-proxy itself drives them: --cleanup runs iptables-save/-restore and ip6tables-save/-restore
    // from the image's PATH and removes its own chains.
    const cleanup = said(`registry.k8s.io/kube-proxy:v${V}`, ["kube-proxy", "--cleanup", "-v=4"], inNetns);
    assert.match(cleanup, /"Running" command="iptables-restore"/);
    assert.match(cleanup, /"Running" command="ip6tables-save"/);
    const after = said(`registry.k8s.io/kube-proxy:v${V}`, ["iptables-save", "-t", "nat"], inNetns);
    assert.doesNotMatch(after, /KUBE-SERVICES|KUBE-SVC-TEST/, "kube-proxy removed its chains");
    assert.match(after, /-A POSTROUTING -m mark --mark 0x4000\/0x4000 -j MASQUERADE/, "and left the rest alone");
  });

  /** Starts a long-running container, waits until its output matches, returns the output; the container is killed either way. */
  async function serve(image: string, cmd: string[], opts: string[], ready: RegExp, then?: () => Promise<void>): Promise<string> {
    const id = `bt-${process.pid}-${++n}`;
    const p = spawn("ctr", [...ctrArgs(), "run", "--rm", ...opts, image, id, ...cmd], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    p.stdout.on("data", (d) => (output += d));
    p.stderr.on("data", (d) => (output += d));
    try {
      await waitFor(
        `${cmd.join(" ")} in ${image} to print ${ready}`,
        60_000,
        () => (ready.test(output) ? true : p.exitCode !== null ? assert.fail(`${cmd[0]} exited ${p.exitCode}: ${output}`) : undefined),
        () => output,
      );
      if (then) await then();
      return output;
    } finally {
      ctr(["task", "kill", "-s", "SIGKILL", id], 10_000);
      await waitFor(`ctr run ${id} to end`, 30_000, () => (p.exitCode !== null || p.signalCode !== null ? true : undefined)).catch(() => p.kill("SIGKILL"));
    }
  }

  test("CoreDNS binds port 53 as nonroot, through the file capability its image gives it", async () => {
    const conf = join(dir, "coredns");
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, "Corefile"), ".:53 {\n  whoami\n}\n");
    const images = kubeadmList();
    const ref = images.find((r) => parseImageRef(r).name === "coredns")!;
    const output = await serve(
      ref,
      ["/coredns", "-conf", "/etc/coredns/Corefile"],
      ["--mount", `type=bind,src=${conf},dst=/etc/coredns,options=rbind:ro`],
      /^CoreDNS-\d+\.\d+\.\d+$/m,
    );
    assert.match(output, /^\.:53$/m);
    assert.doesNotMatch(output, /permission denied/);
  });

  test("the lab's echo server answers with its pod name", async () => {
    const port = await freePort();
    let answer = "";
    await serve(
      ECHO_IMAGE,
      ["/echo", "-listen", `127.0.0.1:${port}`],
      ["--net-host", "--env", "POD_NAME=echo-test-pod", "--env", "POD_NAMESPACE=lab"],
      /listening on/,
      async () => {
        answer = await waitForAsync(`http://127.0.0.1:${port}/hello`, 30_000);
      },
    );
    assert.match(answer, /^pod=echo-test-pod namespace=lab hostname=\S+ path=\/hello$/m);
  });
});

/** GETs url until it answers 200 (the server may still be starting); returns the body. */
async function waitForAsync(url: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  let last: string;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return await r.text();
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in ${ms / 1000}s: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
