// Builds an air-gapped bundle from the toolchain cache: the node binaries, the kubelet's
// systemd units, the CNI plugins, and an OCI image archive for every image
// `kubeadm config images list` names (plus the lab's images when asked). Built into
// <out>.partial and swapped in at the end, like toolchain/build.ts, so an interrupted
// run leaves the previous bundle whole. Compressed layers are kept in the toolchain
// cache by the sha256 of their content: a warm run only hashes and copies.
import { execFileSync } from "child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "fs";
import { join, relative } from "path";
import { DEFAULT_KUBERNETES_VERSION } from "../components/config/schema";
import { readManifest, toolchainDir } from "../toolchain/cache";
import { Toolchain } from "../toolchain/build";
import { cniBuildId, cniPluginNames, CNI_PLUGINS_VERSION } from "../toolchain/cni";
import { KUBERNETES_COMMANDS, pauseBuildId, versionedSuffix } from "../toolchain/kubernetes";
import { ECHO_IMAGE, echoBuild, echoSource, goRunnerBuild } from "./builds";
import { baseLayer, imageKind, ImageKind, imageSpec, iptablesLayer, SharedLayers } from "./images";
import { BundleImage, BundleManifest, BUNDLE_FORMAT, BUNDLE_MANIFEST, readBundleManifest, sha256File } from "./manifest";
import { LayerCache, makeLayer, ociArchive, parseImageRef } from "./oci";
import { KUBEADM_DROPIN, KUBELET_SERVICE } from "./units";

export class BundleError extends Error {}

export interface BundleOptions {
  /** The bundle folder to (re)build. */
  out: string;
  withLabImages?: boolean;
  /** The repository (for lab/images sources). */
  root: string;
  /** The toolchain cache (default: toolchainDir()). */
  toolchain?: string;
  kubernetesVersion?: string;
  log?: (line: string) => void;
}

export interface BundleResult {
  dir: string;
  manifest: BundleManifest;
  bytes: number;
  seconds: number;
}

/** The bundle's architecture name for this machine (the toolchain builds for the machine it runs on). */
export function goArch(nodeArch = process.arch): string {
  const a = ({ x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[nodeArch];
  if (!a) throw new BundleError(`no Kubernetes architecture for ${nodeArch}`);
  return a;
}

/** The tools a bundle is built from, by toolchain name. */
export const BUNDLE_TOOLS = [...KUBERNETES_COMMANDS, "etcd", "etcdctl", "etcdutl", "coredns", "pause", ...cniPluginNames()];

/** `kubeadm config images list` of the toolchain's kubeadm: the exact images and tags kubeadm will ask for. */
export function kubeadmImages(kubeadm: string, kubernetesVersion: string): string[] {
  let out: string;
  try {
    out = execFileSync(kubeadm, ["config", "images", "list", "--kubernetes-version", `v${kubernetesVersion.replace(/^v/, "")}`, "--image-repository", "registry.k8s.io"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new BundleError(`kubeadm config images list failed: ${(err.stderr || err.message).trim()}`);
  }
  const refs = out
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (!refs.length) throw new BundleError("kubeadm config images list printed no image");
  return refs;
}

/**
 * Checks that the toolchain holds every tool, at the versions this bundle needs; one
 * error names everything missing or stale, and the command that builds it. A release
 * built beside the default one (the lab's upgrade target) is found by its versioned
 * names (`kubeadm@v1.35.4`), the default release by the plain ones.
 */
export function checkToolchain(dir: string, kubernetesVersion: string): { tool: (name: string) => string; buildOf: (name: string) => string } {
  const manifest = readManifest(dir);
  const entry = (n: string) => manifest?.tools[n + versionedSuffix(kubernetesVersion)] ?? manifest?.tools[n];
  const missing = BUNDLE_TOOLS.filter((n) => !entry(n) || !existsSync(entry(n)!.path));
  if (missing.length) {
    const onlyCni = missing.every((n) => cniPluginNames().includes(n));
    throw new BundleError(`the toolchain in ${dir} lacks ${missing.join(", ")}: run npm run toolchain${onlyCni ? " (or npm run toolchain -- --only cni-plugins)" : ""}`);
  }
  const buildOf = (n: string) => entry(n)!.build;
  const k = `kubernetes-v${kubernetesVersion.replace(/^v/, "")}`;
  const stale = KUBERNETES_COMMANDS.filter((n) => buildOf(n) !== k);
  if (stale.length) throw new BundleError(`the toolchain's ${stale.join(", ")} come from ${buildOf(stale[0])}, not ${k}: run npm run toolchain`);
  if (buildOf("bridge") !== cniBuildId())
    throw new BundleError(`the toolchain's CNI plugins come from ${buildOf("bridge")}, not ${cniBuildId()}: run npm run toolchain -- --only cni-plugins`);
  return { tool: (n) => entry(n)!.path, buildOf };
}

/** The toolchain build an image's programs must come from, for the tag kubeadm asks for. */
export function expectedBuild(kind: ImageKind, tag: string, kubernetesVersion: string): { tool: string; build: string } {
  switch (kind) {
    case "control-plane":
    case "kube-proxy":
      return { tool: "kubeadm", build: `kubernetes-v${kubernetesVersion.replace(/^v/, "")}` };
    case "etcd":
      // kubeadm's etcd tags carry an image revision: 3.6.5-0 is etcd v3.6.5.
      return { tool: "etcd", build: `etcd-v${tag.replace(/-\d+$/, "")}` };
    case "coredns":
      return { tool: "coredns", build: `coredns-${tag}` };
    case "pause":
      return { tool: "pause", build: pauseBuildId(tag, kubernetesVersion) };
  }
}

const elapsed = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Every file under dir, relative, sorted (byte order). */
export function listFiles(dir: string, under = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(under)) {
    const p = join(under, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(dir, p));
    else out.push(relative(dir, p));
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export async function buildBundle(opts: BundleOptions): Promise<BundleResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const tcDir = opts.toolchain ?? toolchainDir();
  const version = (opts.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION).replace(/^v/, "");
  const arch = goArch();
  const out = opts.out.replace(/\/+$/, "");
  if (existsSync(out) && (!statSync(out).isDirectory() || (readdirSync(out).length && !existsSync(join(out, BUNDLE_MANIFEST))))) {
    throw new BundleError(`${out} exists and is not a bundle (no ${BUNDLE_MANIFEST}): choose a new or empty folder`);
  }

  const { tool, buildOf } = checkToolchain(tcDir, version);
  const refs = kubeadmImages(tool("kubeadm"), version);
  log(`Kubernetes ${version} (${arch}); kubeadm asks for ${refs.join(", ")}`);
  for (const ref of refs) {
    const kind = imageKind(ref);
    const want = expectedBuild(kind, parseImageRef(ref).tag, version);
    if (buildOf(want.tool) !== want.build)
      throw new BundleError(`kubeadm asks for ${ref}, but the toolchain's ${want.tool} comes from ${buildOf(want.tool)}, not ${want.build}: run npm run toolchain`);
  }

  const partial = `${out}.partial`;
  rmSync(partial, { recursive: true, force: true });
  for (const d of ["bin", "systemd/kubelet.service.d", "cni/bin", "images"]) mkdirSync(join(partial, d), { recursive: true });
  const copy = (from: string, to: string) => {
    copyFileSync(from, join(partial, to));
    chmodSync(join(partial, to), 0o755);
  };
  for (const b of ["kubeadm", "kubelet", "kubectl"]) copy(tool(b), `bin/${b}`);
  writeFileSync(join(partial, "systemd/kubelet.service"), KUBELET_SERVICE, { mode: 0o644 });
  writeFileSync(join(partial, "systemd/kubelet.service.d/10-kubeadm.conf"), KUBEADM_DROPIN, { mode: 0o644 });
  for (const p of cniPluginNames()) copy(tool(p), `cni/bin/${p}`);
  log(`binaries, systemd units and ${cniPluginNames().length} CNI plugins (${CNI_PLUGINS_VERSION}) copied`);

  // Small programs the images need, built through the toolchain (cached by their stamps).
  const tc = new Toolchain(tcDir, (l) => log(l.trim()));
  const goRunner = (await tc.build(goRunnerBuild(version)))["go-runner"];
  const echo = opts.withLabImages ? (await tc.build(echoBuild(echoSource(opts.root))))["echo"] : undefined;

  const cache = new LayerCache(join(tcDir, "bundle-layers"));
  const used = new Set<string>();
  const base = baseLayer(cache);
  let ipt: ReturnType<typeof iptablesLayer> | undefined;
  const shared: SharedLayers = {
    base: base.layer,
    basePackages: base.packages,
    goRunner: makeLayer("go-runner (kube-log-runner)", [{ path: "go-runner", type: "file", mode: 0o755, data: readFileSync(goRunner) }], cache),
    iptables: () => (ipt ??= iptablesLayer(cache)),
  };
  const programs = { tool, goRunner, echo };
  const write = (ref: string, kind: ImageKind | "echo"): BundleImage => {
    const t = Date.now();
    const spec = imageSpec(ref, kind, programs, shared, arch, cache);
    for (const l of spec.layers) used.add(l.diffId);
    const built = ociArchive(spec);
    const file = `images/${parseImageRef(ref).name}.tar`;
    writeFileSync(join(partial, file), built.archive);
    log(`${ref}: ${file} ${mib(built.archive.length)}, ${spec.layers.length} layers, manifest sha256:${built.manifestDigest.slice(0, 12)} (${elapsed(Date.now() - t)})`);
    return { ref, file, digest: `sha256:${built.manifestDigest}` };
  };
  const images = refs.map((ref) => write(ref, imageKind(ref)));
  const extraImages = opts.withLabImages ? [write(ECHO_IMAGE, "echo")] : undefined;

  const files: Record<string, string> = {};
  let bytes = 0;
  for (const f of listFiles(partial)) {
    files[f] = sha256File(join(partial, f));
    bytes += statSync(join(partial, f)).size;
  }
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    kubernetesVersion: version,
    arch,
    images,
    cniPlugins: CNI_PLUGINS_VERSION,
    files,
    ...(extraImages ? { extraImages } : {}),
  };
  writeFileSync(join(partial, BUNDLE_MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  readBundleManifest(partial, { kubernetesVersion: version });

  // Swap: the old bundle stays whole until the new one is complete.
  const old = `${out}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(out)) renameSync(out, old);
  renameSync(partial, out);
  rmSync(old, { recursive: true, force: true });

  // Keep the layer cache at one bundle's worth (a concurrent build may be writing its own: only finished blobs, errors ignored).
  if (existsSync(cache.dir)) {
    for (const f of readdirSync(cache.dir)) {
      const m = /^([0-9a-f]{64})\.tar\.gz$/.exec(f);
      if (m && !used.has(m[1])) rmSync(join(cache.dir, f), { force: true });
    }
  }

  const seconds = (Date.now() - t0) / 1000;
  log(`bundle ${out}: ${Object.keys(files).length} files, ${mib(bytes)}, built in ${seconds.toFixed(1)}s`);
  return { dir: out, manifest, bytes, seconds };
}
