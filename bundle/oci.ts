// OCI images as image-layout tar archives, the form `ctr -n k8s.io images import` reads:
// oci-layout, index.json (the manifest with its `io.containerd.image.name` and
// `org.opencontainers.image.ref.name` annotations and its platform), blobs/sha256/*
// (config, manifest, gzip layers). A Docker-style manifest.json is added as well, so
// `docker load` reads the same file. Everything is deterministic: the same entries give
// the same layer, config and manifest digests.
import { createHash } from "crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { gunzipSync, gzipSync } from "zlib";
import { TarEntry, tarArchive } from "./tar";

export const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

export const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

/** The fixed creation time of every image and history entry (reproducible builds). */
export const FIXED_CREATED = "1970-01-01T00:00:00Z";

export const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** The runtime part of an image config, as in the OCI image spec (`config` object). */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
}

export interface Layer {
  /** What the layer is, for the config's history. */
  comment: string;
  /** sha256 of the uncompressed tar (the config's diff_id), hex. */
  diffId: string;
  /** sha256 of the gzip blob, hex. */
  digest: string;
  gz: Buffer;
  /** Size of the uncompressed tar. */
  size: number;
}

/**
 * Where gzip blobs are kept between runs, by the sha256 of their uncompressed tar: a
 * warm bundle build hashes its layers and reuses the compressed bytes.
 */
export class LayerCache {
  constructor(readonly dir: string) {}
  /** The cached blob, if it is there and still unpacks to the tar it was made from. */
  get(diffId: string): Buffer | undefined {
    const p = join(this.dir, `${diffId}.tar.gz`);
    if (!existsSync(p)) return undefined;
    const gz = readFileSync(p);
    try {
      return sha256(gunzipSync(gz)) === diffId ? gz : undefined;
    } catch {
      return undefined;
    }
  }
  /** Best effort: a cache that cannot be written only makes the next run slower. */
  put(diffId: string, gz: Buffer) {
    const p = join(this.dir, `${diffId}.tar.gz`);
    const tmp = `${p}.${process.pid}.tmp`;
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(tmp, gz);
      renameSync(tmp, p);
    } catch {
      rmSync(tmp, { force: true });
    }
  }
}

/** A gzip layer of the entries. Node's zlib writes no time or name into the gzip header, so equal tars give equal blobs. */
export function makeLayer(comment: string, entries: TarEntry[], cache?: LayerCache): Layer {
  const tar = tarArchive(entries);
  const diffId = sha256(tar);
  let gz = cache?.get(diffId);
  if (!gz) {
    gz = gzipSync(tar);
    cache?.put(diffId, gz);
  }
  return { comment, diffId, digest: sha256(gz), gz, size: tar.length };
}

/** `registry.k8s.io/coredns/coredns:v1.12.1` → repository, tag, and the short name used for its file (`coredns`). */
export function parseImageRef(ref: string): { repository: string; tag: string; name: string } {
  const m = /^([a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+):([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(ref);
  if (!m) throw new Error(`not an image reference with a registry, a path and a tag: ${JSON.stringify(ref)}`);
  return { repository: m[1], tag: m[2], name: m[1].split("/").pop()! };
}

export interface ImageSpec {
  /** Full reference, e.g. `registry.k8s.io/kube-apiserver:v1.34.2`. */
  ref: string;
  arch: string;
  os?: string;
  config: ImageRuntimeConfig;
  layers: Layer[];
}

export interface BuiltImage {
  archive: Buffer;
  manifestDigest: string;
  configDigest: string;
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** The OCI image-layout tar archive of one image. */
export function ociArchive(img: ImageSpec): BuiltImage {
  const { tag } = parseImageRef(img.ref);
  const os = img.os ?? "linux";
  const config = json({
    created: FIXED_CREATED,
    architecture: img.arch,
    os,
    config: img.config,
    rootfs: { type: "layers", diff_ids: img.layers.map((l) => `sha256:${l.diffId}`) },
    history: img.layers.map((l) => ({ created: FIXED_CREATED, created_by: l.comment })),
  });
  const configDigest = sha256(config);
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: `sha256:${configDigest}`, size: config.length },
    layers: img.layers.map((l) => ({ mediaType: MEDIA.layerGzip, digest: `sha256:${l.digest}`, size: l.gz.length })),
  });
  const manifestDigest = sha256(manifest);
  const index = json({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.manifest,
        digest: `sha256:${manifestDigest}`,
        size: manifest.length,
        platform: { architecture: img.arch, os },
        annotations: { [ANNOTATION_IMAGE_NAME]: img.ref, [ANNOTATION_REF_NAME]: tag },
      },
    ],
  });
  const dockerManifest = json([{ Config: `blobs/sha256/${configDigest}`, RepoTags: [img.ref], Layers: img.layers.map((l) => `blobs/sha256/${l.digest}`) }]);
  const blobs = new Map<string, Buffer>([
    [configDigest, config],
    [manifestDigest, manifest],
  ]);
  for (const l of img.layers) blobs.set(l.digest, l.gz);
  const entries: TarEntry[] = [
    { path: "oci-layout", type: "file", mode: 0o644, data: json({ imageLayoutVersion: "1.0.0" }) },
    { path: "index.json", type: "file", mode: 0o644, data: index },
    { path: "manifest.json", type: "file", mode: 0o644, data: dockerManifest },
    ...[...blobs].map(([d, data]): TarEntry => ({ path: `blobs/sha256/${d}`, type: "file", mode: 0o644, data })),
  ];
  return { archive: tarArchive(entries), manifestDigest, configDigest };
}
