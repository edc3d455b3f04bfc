// Stack config -> validated ClusterConfig. Every problem is collected and thrown
// as one ConfigError naming the key, the bad value and the fix, before the
// program registers any resource. Pure: no Pulumi imports.
import { checkBundleFolder, missingFile } from "./bundle-check";
import { durationSeconds, durationText } from "./durations";
import {
  CA_VALIDITY_HOURS,
  clusterConfigSchema,
  CNI_NAMES,
  DEFAULT_ETCD_COUNT,
  DEFAULT_ETCD_DISK_SIZE_GB,
  FIX_HINTS,
  SECRET_KEYS,
  NAMESPACE,
  keyOf,
  CLUSTER_NAME_MAX,
  NodePoolConfig,
  ParsedClusterConfig,
  DEFAULT_CALICO_VERSION,
  DEFAULT_FLANNEL_VERSION,
  DEFAULT_GCP_IMAGE,
  PLATFORMS,
  DEFAULT_BACKUP_DIRECTORY,
} from "./schema";
import { hasHostBits, hostAt, networkOf, overlaps, parseCidr, prefixOf, sizeOf } from "./cidr";
import { LABEL_VALUE_MAX, labelValueProblem, qualifiedNameProblem } from "./kubernetes-names";
import { zonesHoldingQuorum } from "./quorum";

/** A fully defaulted, cross-checked cluster configuration. */
export interface ClusterConfig extends Omit<
  ParsedClusterConfig,
  "clusterName" | "nodePools" | "endpoint" | "kubernetes" | "controlPlane" | "bastion" | "network" | "image" | "region" | "zones" | "adminCidrs" | "backups" | "etcd"
> {
  clusterName: string;
  /** Cloud region; "site" for static hosts. */
  region: string;
  /** Cloud zones; the masters' zone labels for static hosts. */
  zones: string[];
  /** CIDRs allowed to reach the bastion ([] for static hosts). */
  adminCidrs: string[];
  controlPlane: { count: number; highAvailability: boolean; machineType: string; diskSizeGb: number };
  /**
   * Where etcd runs. external: `count` members (hosts you own: hosts.etcd's); machine type and
   * disk of the cloud members ("" and 0 on hosts you own). stacked: count 0.
   */
  etcd: { topology: "stacked" | "external"; count: number; machineType: string; diskSizeGb: number };
  bastion: { machineType: string };
  network: { nodeCidr: string; podCidr: string; serviceCidr: string; natGateways: "one-per-zone" | "single" };
  /** GCP image, or AWS AMI id; undefined on AWS means "look up the newest Canonical Ubuntu 24.04 AMI". */
  image?: string;
  nodePools: ResolvedNodePool[];
  endpoint: { mode: "cloud-lb" | "vip" | "local-proxy"; name: string; vip?: string; interface: string };
  /** As parsed, with the destination resolved (and its folder, for a directory). */
  backups: Omit<ParsedClusterConfig["backups"], "destination" | "path"> & { destination: BackupDestinationKind; path?: string };
  /** As parsed, with the CNI's version resolved. */
  kubernetes: Omit<ParsedClusterConfig["kubernetes"], "cni"> & { cni: { name: CniName; version: string } };
}

export type CniName = (typeof CNI_NAMES)[number];
export type BackupDestinationKind = "bucket" | "directory" | "s3";

export interface ResolvedNodePool extends Omit<NodePoolConfig, "zones" | "minPerZone" | "maxPerZone" | "machineType"> {
  zones: string[];
  machineType: string;
  minPerZone: number;
  maxPerZone: number;
}

/** One problem with the stack config. */
export interface ConfigProblem {
  /** Full key, e.g. `kubeadm-ha:network.podCidr`. */
  key: string;
  /** What is wrong, quoting the bad value. */
  message: string;
  /** What to write instead. */
  fix: string;
}

export class ConfigError extends Error {
  constructor(public readonly problems: ConfigProblem[]) {
    super(
      `invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was created:\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}. Fix: ${p.fix}.`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Lowest Kubernetes minor release whose kubeadm reads v1beta4 configs. */
export const MIN_KUBERNETES_MINOR = 31;
/** Control-plane sizes that keep an odd etcd quorum and survive a zone. */
export const CONTROL_PLANE_COUNTS = [3, 5];
/** Sizes allowed when the stack says `controlPlane.highAvailability: false` (a single master, for dev). */
export const NON_HA_CONTROL_PLANE_COUNTS = [1, 3, 5];
/** Zones (failure domains) an HA control plane spreads over at least. */
export const HA_MIN_ZONES = 3;
/**
 * How the program names its own resources after the cluster's name (`<cluster>-<name>...`).
 * A pool's resources are `<cluster>-<pool>...`: a pool name that is one of these, begins
 * one, or that one of these begins, would run into them. test/policy.test.ts checks the list
 * against every shipped stack's render, so a new kind of resource cannot slip past it.
 */
export const DERIVED_NAMES = [
  "apiserver",
  "bastion",
  "bootstrap",
  "cni",
  "control-plane",
  "etcd",
  "etcd-backups",
  "igw",
  "kubelet",
  "last-up",
  "lb",
  "master",
  "masters",
  "nat",
  "nodes",
  "pki",
  "private",
  "public",
  "router",
  "ssh",
  "vpc",
  "worker",
  "workers",
] as const;

/** Of DERIVED_NAMES, those the program also gives on hosts you own (whose machines the stack names). */
export const STATIC_DERIVED_NAMES = ["control-plane", "bootstrap", "pki", "last-up"] as const;

/** kubeadm's cluster DNS Service takes the service range's 10th address (the apiserver's Service the 1st). */
export const SERVICE_DNS_INDEX = 10;
/** Each node gets a /24 of the pod network (kube-controller-manager's default node-cidr-mask-size). */
export const POD_CIDR_PER_NODE_PREFIX = 24;
/** AWS: nodeCidr is cut into a private and a public subnet per zone; this is the smallest that leaves /28 public subnets. */
export const AWS_MAX_NODE_CIDR_PREFIX = 22;
/** AWS: zones the subnet layout has room for. */
export const AWS_MAX_ZONES = 6;
/** GCP: longest instance-template name prefix (`<cluster>-<pool>-`) that still gets the provider's full unique suffix; longer ones get a shortened, collision-prone one (the render refuses them). */
export const GCP_NAME_PREFIX_MAX = 37;

function valueAt(obj: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = obj;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as string];
  }
  return v;
}

function show(v: unknown, path: ReadonlyArray<PropertyKey> = []): string {
  const key = path
    .filter((p) => typeof p !== "number")
    .map(String)
    .join(".");
  if (v !== undefined && SECRET_KEYS.some((k) => key === k || key.startsWith(`${k}.`) || k.startsWith(`${key}.`))) return "[secret]";
  return v === undefined ? "(missing)" : JSON.stringify(v);
}

/**
 * An unknown key's value that may be a secret under a misspelt name: key material, or the
 * value of a key that is a few letters away from a secret key beside it.
 */
function mayBeSecret(path: ReadonlyArray<PropertyKey>, value: unknown): boolean {
  if (typeof value === "string" && /PRIVATE KEY/.test(value)) return true;
  const names = path.filter((p) => typeof p !== "number").map(String);
  const parent = names.slice(0, -1).join(".");
  const name = names[names.length - 1] ?? "";
  return SECRET_KEYS.some((k) => {
    const at = k.lastIndexOf(".");
    return (at < 0 ? "" : k.slice(0, at)) === parent && editDistance(k.slice(at + 1).toLowerCase(), name.toLowerCase()) <= 3;
  });
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The fix for a bad key: the most specific of `hints` for its path without list indices (`a.b.c`, then `a.b`, then `a`). */
export function hintFor(hints: Record<string, string>, path: ReadonlyArray<PropertyKey>, fallback: string): string {
  const names = path.filter((p) => typeof p !== "number").map(String);
  for (let n = names.length; n > 0; n--) {
    const h = hints[names.slice(0, n).join(".")];
    if (h !== undefined) return h;
  }
  return fallback;
}

function hint(path: ReadonlyArray<PropertyKey>): string {
  return hintFor(FIX_HINTS, path, "see the config reference in README.md");
}

/**
 * Parses the raw stack config (Pulumi's `allConfig()`: every value a string,
 * objects as JSON) and keeps the keys of our namespace.
 */
export function fromRawConfig(all: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    if (!k.startsWith(NAMESPACE + ":")) continue;
    const key = k.slice(NAMESPACE.length + 1);
    let value: unknown = v;
    if (/^\s*[[{"]|^-?\d+(\.\d+)?$|^(true|false|null)$/.test(v)) {
      try {
        value = JSON.parse(v);
      } catch {
        value = v;
      }
    }
    out[key] = value;
  }
  return out;
}

type Add = (path: PropertyKey[], message: string, fix?: string) => void;

/** `hosts` on a GCP or AWS stack: one problem, whatever its list lacks. */
function problemsOfHostsOnCloud(platform: string): ConfigProblem[] {
  return [
    { key: keyOf(["hosts"]), message: `hosts are for platform static; ${platform} creates its own machines`, fix: "remove kubeadm-ha:hosts, or set kubeadm-ha:platform: static" },
  ];
}

/** GCP/AWS: region and zones in the platform's formats, the provider's region, the endpoint mode. */
function checkCloudPlacement(c: ParsedClusterConfig, endpointMode: string, providerConfig: Record<string, string>, add: Add): { region: string; zones: string[]; count: number } {
  if (c.platform === "static") throw new Error("checkCloudPlacement: static");
  if (c.region === undefined) add(["region"], "a cloud cluster needs a region (missing)", `set kubeadm-ha:region, e.g. ${PLATFORMS[c.platform].example.region}`);
  if (c.zones === undefined) add(["zones"], "a cloud cluster needs its zones (missing)", `list three zones, e.g. [${PLATFORMS[c.platform].example.zone}, ...]`);
  if (c.adminCidrs === undefined) add(["adminCidrs"], "the bastion needs the CIDRs allowed to reach it (missing)", FIX_HINTS.adminCidrs);
  if (c.hosts !== undefined) problemsOfHostsOnCloud(c.platform).forEach((p) => add(["hosts"], p.message, p.fix));
  if (endpointMode === "vip")
    add(
      ["endpoint", "mode"],
      `"vip" needs hosts on one L2 segment: ${c.platform === "gcp" ? "GCP" : "AWS"} networks drop gratuitous ARP and VRRP, so the address would never move`,
      'use "cloud-lb" (the internal load balancer) or "local-proxy"',
    );
  const region = c.region ?? "";
  const zones = c.zones ?? [];
  // Names in the platform's formats.
  const pf = PLATFORMS[c.platform];
  const regionOk = pf.region.test(region);
  if (!regionOk) add(["region"], `${show(region)} is not a ${c.platform} region name`, `use a region such as ${pf.example.region}`);
  const machineTypes: Array<[PropertyKey[], string | undefined]> = [
    [["controlPlane", "machineType"], c.controlPlane.machineType],
    [["bastion", "machineType"], c.bastion.machineType],
    ...(c.etcd.topology === "external" ? [[["etcd", "machineType"], c.etcd.machineType] as [PropertyKey[], string | undefined]] : []),
    ...c.nodePools.map((p, i): [PropertyKey[], string | undefined] => [["nodePools", i, "machineType"], p.machineType]),
  ];
  for (const [path, mt] of machineTypes) {
    if (mt !== undefined && !pf.machineType.test(mt)) add(path, `${show(mt)} is not a ${c.platform} machine type`, `use one such as ${pf.example.machineType}`);
  }
  // GCP takes project/family, project/image, a family or image of the project, or its self-link; an AMI id is AWS's.
  const gcpImage =
    /^((https:\/\/www\.googleapis\.com\/compute\/v1\/)?projects\/[a-z][-a-z0-9.:]*\/global\/images\/(family\/)?[a-z][-a-z0-9]*|([a-z][-a-z0-9.:]*[a-z0-9]\/)?[a-z]([-a-z0-9]*[a-z0-9])?)$/;
  if (c.platform === "gcp" && c.image !== undefined && (/^ami-[0-9a-f]{8,17}$/.test(c.image) || !gcpImage.test(c.image))) {
    add(
      ["image"],
      `${show(c.image)} is not a GCP image${/^ami-/.test(c.image) ? " (an AMI id is AWS's)" : ""}`,
      "use project/family, e.g. ubuntu-os-cloud/ubuntu-2404-lts-amd64, or leave image out",
    );
  }
  if (c.platform === "aws" && c.image !== undefined && !/^ami-[0-9a-f]{8,17}$/.test(c.image))
    add(["image"], `${show(c.image)} is not an AMI id`, "use an AMI id such as ami-0123456789abcdef0, or leave image out to use the newest Ubuntu 24.04 AMI");
  // The provider must deploy where the cluster is planned.
  const providerRegion = providerConfig[`${c.platform}:region`];
  if (c.platform === "aws" && providerRegion === undefined)
    add(["region"], `the AWS provider has no region (aws:region is not set)`, `set aws:region to ${region} in the stack file`);
  else if (providerRegion !== undefined && providerRegion !== region)
    add(
      ["region"],
      `${show(region)} differs from the provider's ${c.platform}:region ${show(providerRegion)}`,
      `set ${c.platform}:region and kubeadm-ha:region to the same region`,
    );
  if (c.platform === "gcp" && c.network.natGateways !== undefined)
    add(["network", "natGateways"], `${show(c.network.natGateways)} applies to AWS only (GCP uses one regional Cloud NAT)`, "remove network.natGateways");

  // Zones: in the region, distinct, at least three.
  const inRegion = (z: string) => (c.platform === "aws" ? z.length === region.length + 1 && z.startsWith(region) : z.startsWith(region + "-"));
  const seen = new Set<string>();
  zones.forEach((z, i) => {
    if (!pf.zone.test(z)) add(["zones", i], `${show(z)} is not a ${c.platform} zone name`, `use zones such as ${pf.example.zone}`);
    else if (regionOk && !inRegion(z))
      add(["zones", i], `zone ${show(z)} is not in region ${show(region)}`, `use zones of ${region}, e.g. ${c.platform === "aws" ? region + "a" : region + "-b"}`);
    if (seen.has(z)) add(["zones", i], `zone ${show(z)} is listed twice`, "list each zone once");
    seen.add(z);
  });
  const ex = (l: string) => (c.platform === "aws" ? `${region}${l}` : `${region}-${l}`);
  if (seen.size < HA_MIN_ZONES && c.controlPlane.highAvailability) {
    add(
      ["zones"],
      `an HA control plane needs three zones or more, got ${seen.size} (${show(zones)})`,
      `list three zones of ${region}, e.g. [${ex("b")}, ${ex("c")}, ${ex("d")}], or set controlPlane.highAvailability: false for a cluster that need not survive a zone loss`,
    );
  }
  if (c.platform === "aws" && seen.size > AWS_MAX_ZONES)
    add(["zones"], `${seen.size} zones; the AWS subnet layout has room for ${AWS_MAX_ZONES}`, `list at most ${AWS_MAX_ZONES} zones`);

  return { region, zones, count: c.controlPlane.count };
}

/** static: the hosts you own, the endpoint mode and its VIP. */
function checkStaticHosts(c: ParsedClusterConfig, endpointMode: string, add: Add): { region: string; zones: string[]; count: number } {
  if (c.hosts === undefined) {
    add(["hosts"], "platform static needs the machines you own (missing)", FIX_HINTS.hosts);
    return { region: "site", zones: [], count: 3 };
  }
  for (const k of ["region", "zones", "adminCidrs", "image"] as const) {
    if (c[k] !== undefined) add([k], `${k} is for GCP and AWS; static hosts already exist`, `remove kubeadm-ha:${k}`);
  }
  if (endpointMode === "cloud-lb")
    add(["endpoint", "mode"], "your own hosts have no cloud load balancer", 'use "vip" (keepalived + haproxy, hosts on one L2 segment) or "local-proxy" (haproxy on every node)');
  const nodes = [...c.hosts.masters.map((h, i) => ({ h, path: ["hosts", "masters", i] })), ...c.hosts.workers.map((h, i) => ({ h, path: ["hosts", "workers", i] }))];
  for (const { h, path } of nodes) checkKubeletLabels(h.labels, [...path, "labels"], add);
  // etcd machines are no nodes, but share the names and addresses of the hosts.
  const all = [...nodes, ...(c.hosts.etcd ?? []).map((h, i) => ({ h, path: ["hosts", "etcd", i] }))];
  const names = new Set<string>();
  const addresses = new Set<string>();
  const cidrOk = !!parseCidr(c.network.nodeCidr) && !hasHostBits(c.network.nodeCidr);
  for (const { h, path } of all) {
    if (names.has(h.name)) add([...path, "name"], `host name ${show(h.name)} is used twice`, "give every host its own name");
    if (addresses.has(h.address)) add([...path, "address"], `address ${show(h.address)} is used twice`, "give every host its own address");
    names.add(h.name);
    addresses.add(h.address);
    if (!parseCidr(`${h.address}/32`)) add([...path, "address"], `${show(h.address)} is not an IPv4 address (four octets 0-255)`, "write the host's address, e.g. 10.103.97.200");
    else if (cidrOk && !overlaps(`${h.address}/32`, c.network.nodeCidr))
      add([...path, "address"], `${show(h.address)} is outside network.nodeCidr ${show(c.network.nodeCidr)}`, "set network.nodeCidr to the hosts' subnet, e.g. 10.103.97.0/24");
    else if (cidrOk) {
      const edge = edgeAddress(h.address, c.network.nodeCidr);
      if (edge)
        add(
          [...path, "address"],
          `${show(h.address)} is the ${edge} address of network.nodeCidr ${show(c.network.nodeCidr)}, which no host can have`,
          `use the host's own address, between ${hostAt(c.network.nodeCidr, 1)} and ${hostAt(c.network.nodeCidr, sizeOf(c.network.nodeCidr) - 2)}`,
        );
    }
  }
  if (endpointMode === "vip") {
    const vip = c.endpoint.vip;
    if (vip === undefined) add(["endpoint", "vip"], "mode vip needs the virtual address (missing)", "set endpoint.vip to a free address of the hosts' subnet, e.g. 10.103.97.2");
    else if (!parseCidr(`${vip}/32`))
      add(["endpoint", "vip"], `${show(vip)} is not an IPv4 address (four octets 0-255)`, "write a free address of the hosts' subnet, e.g. 10.103.97.2");
    else if (addresses.has(vip)) add(["endpoint", "vip"], `${show(vip)} is a host's own address`, "use a free address of the hosts' subnet");
    else if (cidrOk && !overlaps(`${vip}/32`, c.network.nodeCidr))
      add(["endpoint", "vip"], `${show(vip)} is outside network.nodeCidr ${show(c.network.nodeCidr)}`, "use an address of the hosts' subnet (one L2 segment)");
    else if (cidrOk && edgeAddress(vip, c.network.nodeCidr))
      add(
        ["endpoint", "vip"],
        `${show(vip)} is the ${edgeAddress(vip, c.network.nodeCidr)} address of network.nodeCidr ${show(c.network.nodeCidr)}, which keepalived cannot hold for the hosts`,
        "use a free address between the subnet's first and last, e.g. the second one",
      );
  } else if (c.endpoint.vip !== undefined) add(["endpoint", "vip"], `a VIP is only used by mode vip (mode is ${show(endpointMode)})`, "remove endpoint.vip");
  if (c.nodePools.length) add(["nodePools"], "static workers are listed in hosts.workers, not in pools", "move them to kubeadm-ha:hosts.workers");
  const zones = [...new Set(c.hosts.masters.map((h) => h.zone))];
  if (zones.length < HA_MIN_ZONES && c.controlPlane.highAvailability && c.hosts.masters.length > 1) {
    add(
      ["hosts", "masters"],
      `an HA control plane needs its masters in three failure domains or more, got ${zones.length} (${show(zones)})`,
      "give each master its rack or room in hosts.masters[].zone (e.g. rack-a, rack-b, rack-c), or set controlPlane.highAvailability: false",
    );
  }
  return { region: "site", zones, count: c.hosts.masters.length };
}

/** "network" or "broadcast" when `address` is that address of `cidr` (a /31 or /32 has neither); else undefined. */
function edgeAddress(address: string, cidr: string): "network" | "broadcast" | undefined {
  const size = sizeOf(cidr);
  if (size <= 2) return undefined;
  if (address === hostAt(cidr, 0)) return "network";
  if (address === hostAt(cidr, size - 1)) return "broadcast";
  return undefined;
}

/** Labels the API accepts (qualified keys, label values) and a kubelet may set on its own Node (NodeRestriction admission). */
function checkKubeletLabels(labels: Record<string, string>, at: PropertyKey[], add: Add) {
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) {
      add(
        [...at, key],
        `label key ${show(key)} ${keyProblem}: Kubernetes refuses it`,
        "write a key such as example.com/role or tier (an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.')",
      );
      continue;
    }
    const valueProblem = labelValueProblem(value);
    if (valueProblem)
      add(
        [...at, key],
        `label value ${show(value)} ${valueProblem}: Kubernetes refuses it`,
        `write a value such as ${show(
          value
            .replace(/[^A-Za-z0-9_.-]+/g, "-")
            .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "")
            .slice(0, LABEL_VALUE_MAX) || "web",
        )}`,
      );
    const prefix = key.includes("/") ? key.split("/")[0] : "";
    const restricted = /(^|\.)(kubernetes\.io|k8s\.io)$/.test(prefix) && !/(^|\.)(kubelet|node)\.kubernetes\.io$/.test(prefix);
    if (restricted)
      add(
        [...at, key],
        `the kubelet may not set label ${show(key)} on its own node (NodeRestriction admission)`,
        "use your own prefix, e.g. example.com/role, or node.kubernetes.io/...",
      );
  }
}

/** Taints the API accepts: qualified keys, label-style values, and each key and effect once (Kubernetes refuses a Node otherwise). */
function checkTaints(taints: Array<{ key: string; value?: string; effect: string }>, at: PropertyKey[], add: Add) {
  const seen = new Set<string>();
  taints.forEach((t, j) => {
    const keyProblem = qualifiedNameProblem(t.key);
    if (keyProblem) add([...at, j, "key"], `taint key ${show(t.key)} ${keyProblem}: Kubernetes refuses it`, "write a key such as example.com/dedicated or dedicated");
    const valueProblem = t.value === undefined ? undefined : labelValueProblem(t.value);
    if (valueProblem)
      add([...at, j, "value"], `taint value ${show(t.value)} ${valueProblem}: Kubernetes refuses it`, "write a value such as gpu or batch-jobs (letters, digits, '-', '_', '.')");
    const pair = `${t.key}:${t.effect}`;
    if (seen.has(pair))
      add([...at, j], `taint ${show(t.key)} with effect ${t.effect} is listed twice: Kubernetes allows each key and effect once`, "keep one entry for each key and effect");
    seen.add(pair);
  });
}

/** Whether the stack file gives a key itself (not a default). */
function given(raw: Record<string, unknown>, path: ReadonlyArray<PropertyKey>): boolean {
  return valueAt(raw, path) !== undefined;
}

/** Keys that mean nothing for the chosen platform: refused with the reason, never ignored. */
function checkKeysThatDoNotApply(raw: Record<string, unknown>, c: ParsedClusterConfig, endpointMode: string, add: Add) {
  const refuse = (path: Array<string | number>, why: string, fix: string) => {
    if (given(raw, path)) add(path, `${show(valueAt(raw, path), path)}: ${why}`, fix);
  };
  if (c.platform === "static") {
    const masters = c.hosts?.masters.length;
    refuse(
      ["controlPlane", "count"],
      `on hosts you own the masters are hosts.masters${masters === undefined ? "" : ` (${masters} listed)`}`,
      "remove controlPlane.count; list the masters in hosts.masters",
    );
    refuse(["controlPlane", "machineType"], "hosts you own have the machines they have", "remove controlPlane.machineType");
    refuse(["controlPlane", "diskSizeGb"], "hosts you own have the disks they have", "remove controlPlane.diskSizeGb");
    refuse(
      ["bastion"],
      "hosts you own are reached directly or through hosts.bastion; the program makes no bastion",
      "remove kubeadm-ha:bastion (use hosts.bastion for a jump host of yours)",
    );
    refuse(["network", "natGateways"], "the program makes NAT gateways on AWS only; hosts you own use your network's way out", "remove network.natGateways");
    refuse(["sshPublicKey"], "hosts you own already have their users and keys; the program logs in with sshPrivateKey (or your SSH agent)", "remove sshPublicKey");
  } else if (endpointMode !== "vip") {
    // (mode vip itself is refused on a cloud, with the reason: one mistake, one problem)
    refuse(["endpoint", "vip"], `a VIP is for hosts you own (mode vip); on ${c.platform} the endpoint is the internal load balancer's address`, "remove endpoint.vip");
    refuse(
      ["endpoint", "interface"],
      `the VIP's interface is for hosts you own (mode vip); on ${c.platform} the endpoint is the internal load balancer's address`,
      "remove endpoint.interface",
    );
  }
  if (c.platform === "static" && endpointMode === "local-proxy")
    refuse(["endpoint", "interface"], `the VIP's interface is used by mode vip only (mode is ${show(endpointMode)})`, "remove endpoint.interface");
  if (c.platform === "aws") {
    c.nodePools.forEach((_, i) =>
      refuse(
        ["nodePools", i, "autoscalingMode"],
        "is the GCE autoscaler's mode; an AWS Auto Scaling group has none (minPerZone and maxPerZone bound a scaler you attach)",
        "remove autoscalingMode",
      ),
    );
  }
  // A feature switched off uses none of its settings: each one given says something that will not happen.
  const off = (feature: string[], keys: string[], what: string) => {
    const name = feature.join(".");
    for (const k of keys) refuse([...feature, k], `${what} (${name}.enabled: false), so nothing uses it`, `remove ${name}.${k}, or set ${name}.enabled: true`);
  };
  if (!c.backups.enabled) off(["backups"], ["every", "keepDays", "destination", "path", "s3"], "backups are off");
  if (!c.kubernetes.encryption.enabled) off(["kubernetes", "encryption"], ["provider", "keyRound"], "Secrets are not encrypted at rest");
  if (!c.kubernetes.audit.enabled) off(["kubernetes", "audit"], ["maxAgeDays", "maxBackups", "maxSizeMB"], "the audit log is off");
}

/**
 * etcd's topology. stacked: none of the external cluster's keys. external: 3 or 5 members (1
 * allowed for a non-HA dev cluster), no failure domain holding a quorum of them, so that a zone
 * lost never stops etcd; on hosts you own, the machines in hosts.etcd.
 */
function checkEtcd(raw: Record<string, unknown>, c: ParsedClusterConfig, add: Add): { count: number } {
  const refuse = (path: Array<string | number>, why: string, fix: string) => {
    if (given(raw, path)) add(path, `${show(valueAt(raw, path), path)}: ${why}`, fix);
  };
  if (c.etcd.topology === "stacked") {
    for (const k of ["count", "machineType", "diskSizeGb"])
      refuse(["etcd", k], "etcd is stacked (a member on every master), so nothing uses it", `remove etcd.${k}, or set etcd.topology: external`);
    // (on a cloud, hosts as a whole is refused: one mistake, one problem)
    if (c.platform === "static")
      refuse(["hosts", "etcd"], "etcd is stacked (a member on every master), so nothing uses these machines", "remove hosts.etcd, or set etcd.topology: external");
    return { count: 0 };
  }
  const counts = c.controlPlane.highAvailability ? CONTROL_PLANE_COUNTS : NON_HA_CONTROL_PLANE_COUNTS;
  const single = c.controlPlane.highAvailability ? "" : ", or 1 for a dev cluster";
  if (c.platform === "static") {
    const listed = c.hosts?.etcd?.length;
    refuse(
      ["etcd", "count"],
      `on hosts you own the members are hosts.etcd${listed === undefined ? "" : ` (${listed} listed)`}`,
      "remove etcd.count; list the members in hosts.etcd",
    );
    refuse(["etcd", "machineType"], "hosts you own have the machines they have", "remove etcd.machineType");
    refuse(["etcd", "diskSizeGb"], "hosts you own have the disks they have", "remove etcd.diskSizeGb");
    const hosts = c.hosts?.etcd;
    if (c.hosts === undefined) return { count: 0 };
    if (hosts === undefined) {
      add(["hosts", "etcd"], "an external etcd on hosts you own needs its machines (missing)", FIX_HINTS["hosts.etcd"]);
      return { count: 0 };
    }
    hosts.forEach((_, i) =>
      refuse(
        ["hosts", "etcd", i, "labels"],
        "an etcd machine is not a Kubernetes node: no kubelet registers it, so no label reaches the API",
        "remove the labels of hosts.etcd entries",
      ),
    );
    if (!counts.includes(hosts.length))
      add(["hosts", "etcd"], `${hosts.length} members cannot keep an odd quorum that survives a failure`, `list 3 members (survives one failure) or 5 (survives two)${single}`);
    else if (c.controlPlane.highAvailability) {
      const zones = hosts.map((h) => h.zone);
      for (const z of zonesHoldingQuorum(zones)) {
        const n = zones.filter((x) => x === z).length;
        add(
          ["hosts", "etcd"],
          `zone ${show(z)} holds ${n} of the ${hosts.length} members, a quorum: losing it stops etcd and with it every apiserver`,
          `give each member its own zone (rack, room), at most ${Math.floor(hosts.length / 2)} of ${hosts.length} in one`,
        );
      }
    }
    return { count: hosts.length };
  }
  const count = c.etcd.count ?? DEFAULT_ETCD_COUNT;
  if (!counts.includes(count))
    add(["etcd", "count"], `${show(count)} members cannot keep an odd quorum that survives a failure`, `use 3 (survives one failure) or 5 (survives two)${single}`);
  return { count };
}

/** Where the Kubernetes packages come from, and a CNI that can come from there. */
function checkPackagesAndCni(c: ParsedClusterConfig, add: Add) {
  const { packages, cni } = c.kubernetes;
  const at = (k: string) => ["kubernetes", "packages", k];
  if (packages.source === "repository") {
    for (const k of ["path", "url"] as const) {
      if (packages[k] !== undefined)
        add(at(k), `a bundle ${k} is only used with packages.source "bundle" (source is "repository")`, `set kubernetes.packages.source: bundle, or remove packages.${k}`);
    }
  } else {
    if (c.platform !== "static")
      add(
        at("source"),
        `an air-gapped bundle is installed by the prepare step of hosts you own; on ${c.platform} machines prepare from their boot config`,
        'use packages.source "repository" on GCP and AWS',
      );
    if ((packages.path === undefined) === (packages.url === undefined)) {
      add(
        at(packages.path === undefined ? "path" : "url"),
        packages.path === undefined ? "a bundle needs a folder or a URL (neither is set)" : "a bundle comes from a folder or from a URL, not both",
        "set packages.path to a folder made by `npm run bundle`, or packages.url to where the hosts can fetch it",
      );
    } else if (packages.path !== undefined) {
      const problem = checkBundleFolder(packages.path, c.kubernetes.version);
      if (problem) add(at("path"), problem.message, problem.fix);
    }
    if (cni.name === "calico" || cni.name === "flannel") {
      add(
        ["kubernetes", "cni", "name"],
        `${show(cni.name)} is applied from a manifest on the internet, which an air-gapped bundle does not carry`,
        'use cni "bridge" (needs no image) or "none" (install your own)',
      );
    }
  }
  if (cni.name === "bridge") {
    if (c.platform !== "static")
      add(
        ["kubernetes", "cni", "name"],
        `bridge routes pods between nodes on one L2 segment; ${c.platform} networks need their own routes`,
        'use "calico" or "flannel" on GCP and AWS',
      );
    if (cni.version !== undefined)
      add(["kubernetes", "cni", "version"], `bridge has no release of its own (the CNI plugins come with the Kubernetes packages)`, "remove kubernetes.cni.version");
  }
}

/** Certificate validity and renewal window, the bootstrap token's lifetime: in range, and a window shorter than the validity. */
function checkLifetimes(c: ParsedClusterConfig, add: Add) {
  const { certificates, bootstrapToken } = c.kubernetes;
  const validity = durationSeconds(certificates.validity)!;
  const renewBefore = durationSeconds(certificates.renewBefore)!;
  const ttl = durationSeconds(bootstrapToken.ttl)!;
  const hours = (s: number) => s / 3600;
  if (hours(validity) < 1 || hours(validity) > CA_VALIDITY_HOURS) {
    add(["kubernetes", "certificates", "validity"], `${show(certificates.validity)} is outside 1h to ${CA_VALIDITY_HOURS}h (the CAs' own validity)`);
  } else if (renewBefore < 600 || renewBefore >= validity) {
    const why =
      renewBefore < 600
        ? "leaves too little time to renew every master in turn (10m at least)"
        : `is not shorter than certificates.validity ${show(certificates.validity)}: every renewal would be due again at once`;
    add(
      ["kubernetes", "certificates", "renewBefore"],
      `${show(certificates.renewBefore)} ${why}`,
      `use from 10m to less than ${certificates.validity}, e.g. ${show(durationText(Math.max(600, Math.floor(validity / 12 / 60) * 60)))}`,
    );
  }
  if (hours(ttl) < 1 || hours(ttl) > 8760) add(["kubernetes", "bootstrapToken", "ttl"], `${show(bootstrapToken.ttl)} is outside 1h to 8760h`);
}

/** The backups' interval and destination: each key only where it applies. Returns the destination. */
function checkBackups(c: ParsedClusterConfig, add: Add): BackupDestinationKind {
  const b = c.backups;
  const cloud = c.platform !== "static";
  const destination = b.destination ?? (cloud ? "bucket" : "directory");
  const every = durationSeconds(b.every)!;
  if (b.offReason !== undefined && b.enabled)
    add(["backups", "offReason"], `says why there are no backups, but backups.enabled is true`, "remove backups.offReason, or set backups.enabled: false beside it");
  // Off, its other keys are refused as not applying (checkKeysThatDoNotApply), once each.
  if (!b.enabled) return destination;
  if (every < 300 || every > 86400) add(["backups", "every"], `${show(b.every)} is outside 5m to 24h`);
  if (destination === "bucket" && !cloud)
    add(
      ["backups", "destination"],
      `"bucket" is a bucket the program makes on GCP or AWS; hosts you own have none`,
      'use "directory" (a folder on the masters, e.g. a mounted share) or "s3" with backups.s3 (an endpoint of yours)',
    );
  if (destination === "directory" && cloud)
    add(
      ["backups", "destination"],
      `"directory" keeps snapshots on the masters' own disks, which go with the masters on ${c.platform}`,
      'use "bucket" (made by the program) or "s3" with backups.s3',
    );
  if (b.path !== undefined && destination !== "directory")
    add(
      ["backups", "path"],
      `${show(b.path)} applies only to destination "directory" (the destination is ${show(destination)})`,
      'remove backups.path, or set backups.destination: "directory"',
    );
  if (b.s3 !== undefined && destination !== "s3")
    add(["backups", "s3"], `applies only to destination "s3" (the destination is ${show(destination)})`, 'remove backups.s3, or set backups.destination: "s3"');
  if (destination === "s3" && b.s3 === undefined) add(["backups", "s3"], 'is missing: destination "s3" needs the endpoint, bucket and keys', hint(["backups", "s3"]));
  return destination;
}

/** A restore names one snapshot the masters can get. */
function checkRestore(c: ParsedClusterConfig, clusterName: string, destination: BackupDestinationKind, add: Add) {
  const r = c.restore;
  if (!r) return;
  if ((r.snapshot === undefined) === (r.file === undefined)) {
    add(
      ["restore"],
      r.snapshot === undefined ? "names no snapshot" : "names both a snapshot and a file",
      "give exactly one of restore.snapshot (a name at the backup destination) and restore.file (a file on this machine)",
    );
    return;
  }
  if (r.snapshot !== undefined && !r.snapshot.startsWith(`${clusterName}/`)) {
    add(
      ["restore", "snapshot"],
      `${show(r.snapshot)} is a snapshot of another cluster (this one is ${show(clusterName)})`,
      `use a snapshot under ${clusterName}/, or restore.file with a file you copied`,
    );
  }
  if (r.snapshot !== undefined && destination === "bucket") {
    add(
      ["restore", "snapshot"],
      `${show(r.snapshot)} is in the bucket, where the masters may only add snapshots`,
      "download it with your own credentials (gcloud storage cp / aws s3 cp) and give its path as restore.file",
    );
  }
  if (r.snapshot !== undefined && !c.backups.enabled)
    add(["restore", "snapshot"], `${show(r.snapshot)} names a snapshot at the backup destination, but backups are off`, "give the snapshot's path as restore.file");
  const missing = r.file !== undefined ? missingFile(r.file) : undefined;
  if (missing) add(["restore", "file"], `${show(r.file)} ${missing}`, "write the path of an etcd snapshot file on this machine");
}

/** Validates a cluster's stack config; throws ConfigError listing every problem. */
export function validateClusterConfig(raw: Record<string, unknown>, stackName: string, providerConfig: Record<string, string> = {}): ClusterConfig {
  const problems: ConfigProblem[] = [];
  // Every other key means what the layout says: an unknown layout is the one problem worth reporting.
  if (raw.layout !== undefined && raw.layout !== "cluster")
    throw new ConfigError([{ key: keyOf(["layout"]), message: `unknown layout ${show(raw.layout)}`, fix: hint(["layout"]) }]);
  const parsed = clusterConfigSchema.safeParse(raw);
  if (!parsed.success) {
    // hosts on a cloud stack: that it does not apply is the problem, not what its list lacks.
    const cloudHosts = raw.platform !== "static" && raw.hosts !== undefined && ["gcp", "aws", undefined].includes(raw.platform as string | undefined);
    if (cloudHosts) problems.push(...problemsOfHostsOnCloud(String(raw.platform ?? "gcp")));
    for (const issue of parsed.error.issues) {
      if (cloudHosts && issue.path[0] === "hosts") continue;
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) {
          const path = [...issue.path, k];
          const value = valueAt(raw, path);
          problems.push({
            key: keyOf(path),
            message: `unknown key (value ${mayBeSecret(path, value) ? "[secret]" : show(value, path)})`,
            fix: `remove it or check its spelling; known keys are listed in README.md`,
          });
        }
        continue;
      }
      problems.push({ key: keyOf(issue.path), message: `${issue.message} (got ${show(valueAt(raw, issue.path), issue.path)})`, fix: hint(issue.path) });
    }
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  const add = (path: PropertyKey[], message: string, fix?: string) => problems.push({ key: keyOf(path), message, fix: fix ?? hint(path) });

  const clusterName = c.clusterName ?? stackName;
  if ((c.clusterName === undefined && !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(stackName)) || clusterName.length > CLUSTER_NAME_MAX) {
    add(
      ["clusterName"],
      `the cluster name defaults to the stack name ${show(stackName)}, which is not a valid name (up to ${CLUSTER_NAME_MAX} lower-case letters, digits and '-')`,
      "set kubeadm-ha:clusterName explicitly, e.g. prod",
    );
  }

  if (c.platform !== "static" && (c.sshPublicKey === undefined) !== (c.sshPrivateKey === undefined)) {
    add(
      [c.sshPublicKey === undefined ? "sshPublicKey" : "sshPrivateKey"],
      "sshPublicKey and sshPrivateKey go together: the bootstrap logs in with the private key",
      "set both, or neither to have a key pair generated and kept as a secret",
    );
  }

  const endpointMode = c.endpoint.mode ?? (c.platform === "static" ? "vip" : "cloud-lb");
  checkKeysThatDoNotApply(raw, c, endpointMode, add);
  // Machine types mean nothing for hosts you own.
  const defaults = c.platform === "static" ? { masterMachineType: "", workerMachineType: "", bastionMachineType: "", etcdMachineType: "" } : PLATFORMS[c.platform];
  let placement: { region: string; zones: string[]; count: number };
  if (c.platform === "static") placement = checkStaticHosts(c, endpointMode, add);
  else placement = checkCloudPlacement(c, endpointMode, providerConfig, add);

  // Hosts you own name their own steps; a name the program gives its own would run into them.
  if (c.hosts) {
    const roles = [
      ["masters", c.hosts.masters, "master"],
      ["workers", c.hosts.workers, "worker"],
      ["etcd", c.hosts.etcd ?? [], "etcd"],
    ] as const;
    for (const [role, list, example] of roles) {
      list.forEach((h, i) => {
        const taken = STATIC_DERIVED_NAMES.find((d) => h.name === `${clusterName}-${d}` || h.name.startsWith(`${clusterName}-${d}-`));
        if (taken)
          add(
            ["hosts", role, i, "name"],
            `host name ${show(h.name)} is taken: the program names its own steps ${clusterName}-${taken} and ${clusterName}-${taken}-*`,
            `name the host after the machine, e.g. ${clusterName}-${example}-${i}`,
          );
      });
    }
  }

  const counts = c.controlPlane.highAvailability ? CONTROL_PLANE_COUNTS : NON_HA_CONTROL_PLANE_COUNTS;
  if (!counts.includes(placement.count)) {
    const single = c.controlPlane.highAvailability && placement.count === 1 ? ", or set controlPlane.highAvailability: false for a single-master dev cluster" : "";
    add(
      c.platform === "static" ? ["hosts", "masters"] : ["controlPlane", "count"],
      `${show(placement.count)} masters cannot keep an odd etcd quorum that survives a failure`,
      (c.platform === "static" ? "list 3 masters (survives one failure) or 5 (survives two)" : "use 3 (survives one failure) or 5 (survives two)") + single,
    );
  }

  const etcd = checkEtcd(raw, c, add);

  // Kubernetes version: v1beta4 needs 1.31+.
  const minor = Number(c.kubernetes.version.split(".")[1]);
  if (minor < MIN_KUBERNETES_MINOR)
    add(
      ["kubernetes", "version"],
      `${show(c.kubernetes.version)} is older than 1.${MIN_KUBERNETES_MINOR}, the first release whose kubeadm reads v1beta4 configs`,
      "use 1.31 or newer, e.g. 1.34.2",
    );

  checkPackagesAndCni(c, add);
  checkLifetimes(c, add);
  const backupDestination = checkBackups(c, add);
  checkRestore(c, clusterName, backupDestination, add);

  // Networks: valid, aligned, sized, disjoint.
  const nets: Array<[string, string]> = [
    ["nodeCidr", c.network.nodeCidr],
    ["podCidr", c.network.podCidr],
    ["serviceCidr", c.network.serviceCidr],
  ];
  let netsOk = true;
  for (const [k, v] of nets) {
    if (!parseCidr(v)) {
      add(["network", k], `${show(v)} is not a valid IPv4 CIDR`, "write a.b.c.d/n with octets 0-255 and n 0-32");
      netsOk = false;
    } else if (hasHostBits(v)) {
      add(["network", k], `${show(v)} has host bits set`, `write the network address, ${networkOf(v)}`);
      netsOk = false;
    }
  }
  if (netsOk) {
    for (let i = 0; i < nets.length; i++)
      for (let j = i + 1; j < nets.length; j++)
        if (overlaps(nets[i][1], nets[j][1]))
          add(["network", nets[j][0]], `${show(nets[j][1])} overlaps network.${nets[i][0]} ${show(nets[i][1])}`, "pick ranges that do not overlap");
    if (prefixOf(c.network.nodeCidr) > 26)
      add(["network", "nodeCidr"], `${show(c.network.nodeCidr)} is too small for masters, load balancer and workers`, "use /26 or larger, e.g. 10.10.0.0/20");
    else if (c.platform === "aws" && prefixOf(c.network.nodeCidr) > AWS_MAX_NODE_CIDR_PREFIX)
      add(
        ["network", "nodeCidr"],
        `${show(c.network.nodeCidr)} is too small to cut into a private and a public subnet per zone on AWS`,
        `use /${AWS_MAX_NODE_CIDR_PREFIX} or larger, e.g. 10.10.0.0/20`,
      );
    if (prefixOf(c.network.serviceCidr) < 12)
      add(["network", "serviceCidr"], `${show(c.network.serviceCidr)} is larger than kube-apiserver accepts (/12 at most)`, "use /12 to /24, e.g. 10.96.0.0/12");
    else if (sizeOf(c.network.serviceCidr) - 2 < SERVICE_DNS_INDEX + 1) {
      add(
        ["network", "serviceCidr"],
        `${show(c.network.serviceCidr)} has ${sizeOf(c.network.serviceCidr)} addresses: kubeadm gives the cluster's DNS Service its ${SERVICE_DNS_INDEX}th (the apiserver's Service the 1st), which it does not have`,
        "use /12 to /24, e.g. 10.96.0.0/12",
      );
    }
    if (prefixOf(c.network.podCidr) > 22)
      add(["network", "podCidr"], `${show(c.network.podCidr)} leaves room for fewer than 4 nodes (each node takes a /24)`, "use /22 or larger, e.g. 10.244.0.0/16");
  }
  for (const [i, a] of (c.adminCidrs ?? []).entries()) {
    if (!parseCidr(a)) add(["adminCidrs", i], `${show(a)} is not a valid IPv4 CIDR`, "write a.b.c.d/n");
    else if (hasHostBits(a)) add(["adminCidrs", i], `${show(a)} has host bits set (as in network.*, a CIDR is written by its network address)`, `write ${networkOf(a)}`);
    else if (prefixOf(a) === 0) add(["adminCidrs", i], `${show(a)} opens the bastion's SSH to the whole internet`, "list only your office or VPN ranges");
  }

  // Pools (hosts you own have none: nodePools is refused there, once, not item by item).
  const poolNames = new Set<string>();
  const pools: ResolvedNodePool[] = (c.platform === "static" ? [] : c.nodePools).map((p, i) => {
    if (poolNames.has(p.name)) add(["nodePools", i, "name"], `pool name ${show(p.name)} is used twice`, "give each pool its own name");
    const taken = DERIVED_NAMES.find((d) => d === p.name || d.startsWith(`${p.name}-`) || p.name.startsWith(`${d}-`));
    if (taken !== undefined) {
      add(
        ["nodePools", i, "name"],
        `pool name ${show(p.name)} is taken: the program names its own resources ${clusterName}-${taken} and ${clusterName}-${taken}-*${taken === p.name ? "" : `, which the pool's ${clusterName}-${p.name}-* would run into`}`,
        "pick another name, e.g. general, gpu or batch",
      );
    }
    poolNames.add(p.name);
    // GCP: the pool's instance template is named `<cluster>-<pool>-` + a generated suffix (components/gcp/node-pool.ts).
    const prefix = `${clusterName}-${p.name}-`;
    if (c.platform === "gcp" && clusterName.length <= CLUSTER_NAME_MAX && prefix.length > GCP_NAME_PREFIX_MAX) {
      add(
        ["nodePools", i, "name"],
        `pool name ${show(p.name)} after cluster name ${show(clusterName)} makes the instance template prefix ${show(prefix)}, ${prefix.length} characters; above ${GCP_NAME_PREFIX_MAX}, GCP template names get a shortened, collision-prone suffix`,
        `shorten the pool name to ${GCP_NAME_PREFIX_MAX - clusterName.length - 2} characters or fewer, or kubeadm-ha:clusterName`,
      );
    }
    const zones = p.zones ?? [...new Set(placement.zones)];
    zones.forEach((z, j) => {
      if (!placement.zones.includes(z))
        add(["nodePools", i, "zones", j], `zone ${show(z)} is not one of the cluster's zones ${show(placement.zones)}`, "use zones listed in kubeadm-ha:zones");
      else if (zones.indexOf(z) !== j)
        add(["nodePools", i, "zones", j], `zone ${show(z)} is listed twice for pool ${show(p.name)}`, "list each zone once (nodesPerZone sets how many nodes each gets)");
    });
    const minPerZone = p.minPerZone ?? p.nodesPerZone;
    const maxPerZone = p.maxPerZone ?? Math.max(p.nodesPerZone, 1);
    if (minPerZone > maxPerZone) add(["nodePools", i, "minPerZone"], `minPerZone ${minPerZone} is above maxPerZone ${maxPerZone}`, "make minPerZone <= nodesPerZone <= maxPerZone");
    else if (p.nodesPerZone < minPerZone || p.nodesPerZone > maxPerZone)
      add(["nodePools", i, "nodesPerZone"], `nodesPerZone ${p.nodesPerZone} is outside ${minPerZone}..${maxPerZone}`, "make minPerZone <= nodesPerZone <= maxPerZone");
    checkKubeletLabels(p.labels, ["nodePools", i, "labels"], add);
    checkTaints(p.taints, ["nodePools", i, "taints"], add);
    return { ...p, zones, minPerZone, maxPerZone, machineType: p.machineType ?? defaults.workerMachineType };
  });
  if (netsOk) {
    const maxNodes = placement.count + (c.hosts?.workers.length ?? 0) + pools.reduce((n, p) => n + p.maxPerZone * p.zones.length, 0);
    const podSlots = sizeOf(c.network.podCidr) / 2 ** (32 - POD_CIDR_PER_NODE_PREFIX);
    if (maxNodes > podSlots)
      add(["network", "podCidr"], `${show(c.network.podCidr)} has room for ${podSlots} nodes but the pools can grow to ${maxNodes}`, "use a larger podCidr or lower maxPerZone");
  }

  if (problems.length) throw new ConfigError(problems);

  const cniVersion = c.kubernetes.cni.version ?? (c.kubernetes.cni.name === "flannel" ? DEFAULT_FLANNEL_VERSION : DEFAULT_CALICO_VERSION);
  return {
    ...c,
    region: placement.region,
    zones: placement.zones,
    adminCidrs: c.adminCidrs ?? [],
    controlPlane: { ...c.controlPlane, count: placement.count, machineType: c.controlPlane.machineType ?? defaults.masterMachineType },
    bastion: { machineType: c.bastion.machineType ?? defaults.bastionMachineType },
    etcd: {
      topology: c.etcd.topology,
      count: etcd.count,
      machineType: etcd.count && c.platform !== "static" ? (c.etcd.machineType ?? defaults.etcdMachineType) : "",
      diskSizeGb: etcd.count && c.platform !== "static" ? (c.etcd.diskSizeGb ?? DEFAULT_ETCD_DISK_SIZE_GB) : 0,
    },
    network: { ...c.network, natGateways: c.network.natGateways ?? "one-per-zone" },
    image: c.image ?? (c.platform === "gcp" ? DEFAULT_GCP_IMAGE : undefined),
    clusterName,
    nodePools: pools,
    endpoint: { mode: endpointMode, name: c.endpoint.name ?? `api.${clusterName}.internal`, vip: c.endpoint.vip, interface: c.endpoint.interface },
    kubernetes: { ...c.kubernetes, cni: { name: c.kubernetes.cni.name, version: cniVersion } },
    backups: { ...c.backups, destination: backupDestination, path: backupDestination === "directory" ? (c.backups.path ?? DEFAULT_BACKUP_DIRECTORY) : undefined },
  };
}
