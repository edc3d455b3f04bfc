// bundle.json: what an air-gapped bundle holds. The layout is a contract with the
// hosts-you-own prepare step, which installs from it:
//   bundle.json   {format: 1, kubernetesVersion, arch, images: [{ref, file}], cniPlugins, files: {path: sha256}}
//   bin/kubeadm kubelet kubectl, systemd/kubelet.service, systemd/kubelet.service.d/10-kubeadm.conf,
//   cni/bin/<plugin>, images/<name>.tar (OCI image archives for `ctr -n k8s.io images import`)
// Extensions (readers ignore what they do not know): images[].digest (the manifest digest
// `ctr images ls` shows after import) and extraImages (same shape as images: lab-only
// images such as kubeadm-ha.lab/echo:1, present with --with-lab-images).
import { createHash } from "crypto";
import { existsSync, readFileSync, statSync } from "fs";
import { join } from "path";

export const BUNDLE_FORMAT = 1;
export const BUNDLE_MANIFEST = "bundle.json";

export interface BundleImage {
  ref: string;
  /** Relative to the bundle, e.g. `images/kube-apiserver.tar`. */
  file: string;
  /** `sha256:<hex>` of the image manifest (an extension). */
  digest?: string;
}

export interface BundleManifest {
  format: 1;
  /** Without a leading v, e.g. `1.34.2`. */
  kubernetesVersion: string;
  arch: string;
  /** Exactly the images `kubeadm config images list` names for kubernetesVersion. */
  images: BundleImage[];
  /** Release of the CNI plugins in cni/bin, e.g. `v1.9.1`. */
  cniPlugins: string;
  /** Every file of the bundle but bundle.json, by relative path: its sha256 (hex). */
  files: Record<string, string>;
  /** Lab-only images (an extension). */
  extraImages?: BundleImage[];
}

/** Files every bundle must hold (the prepare step installs them by these names). */
export const REQUIRED_FILES = [
  "bin/kubeadm",
  "bin/kubelet",
  "bin/kubectl",
  "systemd/kubelet.service",
  "systemd/kubelet.service.d/10-kubeadm.conf",
  "cni/bin/bridge",
  "cni/bin/host-local",
  "cni/bin/loopback",
  "cni/bin/portmap",
];

export class BundleManifestError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not a usable bundle:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const SHA256 = /^[0-9a-f]{64}$/;
const cleanRelative = (p: string) => !!p && !p.startsWith("/") && !p.split("/").some((s) => s === "" || s === "." || s === "..");

/**
 * Validates the parsed content of a bundle.json (pure: no file is read). Returns the
 * manifest, or throws BundleManifestError listing every problem found. With
 * `kubernetesVersion`, the bundle must hold that version (with or without a leading v).
 */
export function validateBundleManifest(data: unknown, source = BUNDLE_MANIFEST, opts: { kubernetesVersion?: string } = {}): BundleManifest {
  const problems: string[] = [];
  if (!isObject(data)) throw new BundleManifestError(source, ["it is not a JSON object"]);
  const d = data;
  if (d.format !== BUNDLE_FORMAT) {
    problems.push(
      d.format === undefined ? `it has no "format" (expected ${BUNDLE_FORMAT})` : `its format is ${JSON.stringify(d.format)}; this program reads format ${BUNDLE_FORMAT}`,
    );
  }
  if (typeof d.kubernetesVersion !== "string" || !/^\d+\.\d+\.\d+$/.test(d.kubernetesVersion)) {
    problems.push(`"kubernetesVersion" must be a release like "1.34.2", not ${JSON.stringify(d.kubernetesVersion)}`);
  } else if (opts.kubernetesVersion !== undefined && d.kubernetesVersion !== opts.kubernetesVersion.replace(/^v/, "")) {
    problems.push(
      `it holds Kubernetes ${d.kubernetesVersion}, but ${opts.kubernetesVersion.replace(/^v/, "")} is configured: build a bundle for it with npm run bundle (after npm run toolchain for that version)`,
    );
  }
  if (typeof d.arch !== "string" || !d.arch) problems.push(`"arch" must name an architecture such as "amd64", not ${JSON.stringify(d.arch)}`);
  if (typeof d.cniPlugins !== "string" || !/^v\d+\.\d+\.\d+$/.test(d.cniPlugins))
    problems.push(`"cniPlugins" must be a release like "v1.9.1", not ${JSON.stringify(d.cniPlugins)}`);
  const files = isObject(d.files) ? d.files : undefined;
  if (!files) problems.push(`"files" must be an object of relative path to sha256`);
  else {
    for (const [p, h] of Object.entries(files)) {
      if (!cleanRelative(p)) problems.push(`"files" lists ${JSON.stringify(p)}, which is not a clean relative path`);
      if (typeof h !== "string" || !SHA256.test(h)) problems.push(`"files" gives ${p} the sha256 ${JSON.stringify(h)}, not 64 lowercase hex digits`);
    }
    for (const r of REQUIRED_FILES) if (!(r in files)) problems.push(`"files" does not list ${r}, which every bundle holds`);
  }
  for (const key of ["images", "extraImages"] as const) {
    const list = d[key];
    if (list === undefined && key === "extraImages") continue;
    if (!Array.isArray(list) || (key === "images" && !list.length)) {
      problems.push(`"${key}" must be a${key === "images" ? " non-empty" : "n"} array of {ref, file}`);
      continue;
    }
    list.forEach((img, i) => {
      if (!isObject(img) || typeof img.ref !== "string" || typeof img.file !== "string") {
        problems.push(`${key}[${i}] must be {ref, file} strings`);
        return;
      }
      if (!/^[^\s:]+(:\d+)?\/[^\s]+:[\w][\w.-]*$/.test(img.ref)) problems.push(`${key}[${i}].ref ${JSON.stringify(img.ref)} is not a registry/name:tag reference`);
      if (files && !(img.file in files)) problems.push(`${key}[${i}] (${img.ref}) names ${img.file}, which "files" does not list`);
    });
  }
  if (problems.length) throw new BundleManifestError(source, problems);
  return d as unknown as BundleManifest;
}

export const sha256File = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/**
 * Reads and validates `<dir>/bundle.json`. With `verifyFiles`, every listed file must be
 * in the bundle with that sha256 (reads every file: seconds for a full bundle). With
 * `kubernetesVersion`, the bundle must hold that version.
 */
export function readBundleManifest(dir: string, opts: { kubernetesVersion?: string; verifyFiles?: boolean } = {}): BundleManifest {
  const path = join(dir, BUNDLE_MANIFEST);
  if (!existsSync(path)) throw new BundleManifestError(path, [`it does not exist: build a bundle with npm run bundle -- --out ${dir}`]);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new BundleManifestError(path, [`it is not valid JSON (${(e as Error).message})`]);
  }
  const m = validateBundleManifest(data, path, opts);
  if (opts.verifyFiles) {
    const problems: string[] = [];
    for (const [rel, want] of Object.entries(m.files)) {
      const p = join(dir, rel);
      if (!existsSync(p) || !statSync(p).isFile()) problems.push(`${rel} is listed but missing from the bundle`);
      else {
        const got = sha256File(p);
        if (got !== want) problems.push(`${rel} has sha256 ${got}, but bundle.json says ${want} (changed or damaged since the bundle was built)`);
      }
    }
    if (problems.length) throw new BundleManifestError(path, problems);
  }
  return m;
}
