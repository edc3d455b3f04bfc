// Stack config -> validated ClusterConfig. Every problem is collected and thrown
// as one ConfigError naming the key, the bad value and the fix, before the
// program registers any resource. Pure: no Pulumi imports.
import { checkBundleFolder, missingFile } from "./bundle-check";
import { durationSeconds, durationText } from "./durations";
import {
  CA_VALIDITY_HOURS,
  clusterConfigSchema,
  DEFAULT_ETCD_COUNT,
  DEFAULT_ETCD_DISK_SIZE_GB,
  keyOf,
  NAMESPACE,
  CLUSTER_NAME_MAX,
  ParsedClusterConfig,
  DEFAULT_CALICO_VERSION,
  DEFAULT_FLANNEL_VERSION,
  DEFAULT_BACKUP_DIRECTORY,
} from "./schema";
import { Add, ConfigError, ConfigProblem, hint, mayBeSecret, refuserOf, show, valueAt } from "./problems";
import { hasHostBits, networkOf, overlaps, parseCidr, prefixOf, sizeOf } from "./cidr";
import { checkKubeletLabels, labelValueProblem, qualifiedNameProblem } from "./kubernetes-names";
import { CONTROL_PLANE_COUNTS, NON_HA_CONTROL_PLANE_COUNTS } from "./quorum";
import { EndpointMode, Placement, PLATFORM_RULES, PlatformRules, rulesNamed } from "./platforms";
import { problemsOfHostsOnCloud } from "./platforms/cloud";

export { ConfigError, hintFor } from "./problems";
export type { ConfigProblem } from "./problems";

export type { AwsClusterConfig, ClusterConfig, GcpClusterConfig, ResolvedNodePool, StaticClusterConfig } from "./cluster-config";
import type { BackupDestinationKind, ClusterConfig, ClusterConfigCommon, ResolvedNodePool } from "./cluster-config";

/** Lowest Kubernetes minor release whose kubeadm reads v1beta4 configs. */
export const MIN_KUBERNETES_MINOR = 31;
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

/** Keys that mean nothing for the chosen platform: refused with the reason, never ignored. */
function checkKeysThatDoNotApply(raw: Record<string, unknown>, c: ParsedClusterConfig, rules: PlatformRules, endpointMode: EndpointMode, add: Add) {
  const refuse = refuserOf(raw, add);
  rules.refuseKeys(c, endpointMode, refuse, add);
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
function checkEtcd(raw: Record<string, unknown>, c: ParsedClusterConfig, rules: PlatformRules, add: Add): { count: number } {
  const refuse = refuserOf(raw, add);
  if (c.etcd.topology === "stacked") {
    for (const k of ["count", "machineType", "diskSizeGb"])
      refuse(["etcd", k], "etcd is stacked (a member on every master), so nothing uses it", `remove etcd.${k}, or set etcd.topology: external`);
    // (on a cloud, hosts as a whole is refused: one mistake, one problem)
    rules.etcdMembers(c, refuse, add);
    return { count: 0 };
  }
  const listed = rules.etcdMembers(c, refuse, add);
  if (listed) return listed;
  const count = c.etcd.count ?? DEFAULT_ETCD_COUNT;
  const counts = c.controlPlane.highAvailability ? CONTROL_PLANE_COUNTS : NON_HA_CONTROL_PLANE_COUNTS;
  if (!counts.includes(count))
    add(
      ["etcd", "count"],
      `${show(count)} members cannot keep an odd quorum that survives a failure`,
      `use 3 (survives one failure) or 5 (survives two)${c.controlPlane.highAvailability ? "" : ", or 1 for a dev cluster"}`,
    );
  return { count };
}

/** Where the Kubernetes packages come from, and a CNI that can come from there. */
function checkPackagesAndCni(c: ParsedClusterConfig, rules: PlatformRules, add: Add) {
  const { packages, cni } = c.kubernetes;
  const at = (k: string) => ["kubernetes", "packages", k];
  if (packages.source === "repository") {
    for (const k of ["path", "url"] as const) {
      if (packages[k] !== undefined)
        add(at(k), `a bundle ${k} is only used with packages.source "bundle" (source is "repository")`, `set kubernetes.packages.source: bundle, or remove packages.${k}`);
    }
  } else {
    if (rules.makesMachines)
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
    if (rules.makesMachines)
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
function checkBackups(c: ParsedClusterConfig, rules: PlatformRules, add: Add): BackupDestinationKind {
  const b = c.backups;
  const cloud = rules.makesMachines;
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
  // Every other key means what the layout says: an unknown layout is the one problem worth reporting.
  if (raw.layout !== undefined && raw.layout !== "cluster")
    throw new ConfigError([{ key: keyOf(["layout"]), message: `unknown layout ${show(raw.layout)}`, fix: hint(["layout"]) }]);
  const c = parseClusterConfig(raw);
  const problems: ConfigProblem[] = [];
  const add = (path: PropertyKey[], message: string, fix?: string) => problems.push({ key: keyOf(path), message, fix: fix ?? hint(path) });

  const clusterName = c.clusterName ?? stackName;
  if ((c.clusterName === undefined && !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(stackName)) || clusterName.length > CLUSTER_NAME_MAX) {
    add(
      ["clusterName"],
      `the cluster name defaults to the stack name ${show(stackName)}, which is not a valid name (up to ${CLUSTER_NAME_MAX} lower-case letters, digits and '-')`,
      "set kubeadm-ha:clusterName explicitly, e.g. prod",
    );
  }

  const rules = PLATFORM_RULES[c.platform];
  if (rules.makesMachines && (c.sshPublicKey === undefined) !== (c.sshPrivateKey === undefined)) {
    add(
      [c.sshPublicKey === undefined ? "sshPublicKey" : "sshPrivateKey"],
      "sshPublicKey and sshPrivateKey go together: the bootstrap logs in with the private key",
      "set both, or neither to have a key pair generated and kept as a secret",
    );
  }

  const endpointMode = c.endpoint.mode ?? rules.defaultEndpointMode;
  checkKeysThatDoNotApply(raw, c, rules, endpointMode, add);
  const placement = rules.placement(c, endpointMode, providerConfig, add);
  checkHostNames(c, clusterName, add);

  const counts = c.controlPlane.highAvailability ? CONTROL_PLANE_COUNTS : NON_HA_CONTROL_PLANE_COUNTS;
  if (!counts.includes(placement.count)) {
    const single = c.controlPlane.highAvailability && placement.count === 1 ? ", or set controlPlane.highAvailability: false for a single-master dev cluster" : "";
    add(rules.mastersCount.path, `${show(placement.count)} masters cannot keep an odd etcd quorum that survives a failure`, rules.mastersCount.fix + single);
  }

  const etcd = checkEtcd(raw, c, rules, add);

  // Kubernetes version: v1beta4 needs 1.31+.
  const minor = Number(c.kubernetes.version.split(".")[1]);
  if (minor < MIN_KUBERNETES_MINOR)
    add(
      ["kubernetes", "version"],
      `${show(c.kubernetes.version)} is older than 1.${MIN_KUBERNETES_MINOR}, the first release whose kubeadm reads v1beta4 configs`,
      "use 1.31 or newer, e.g. 1.34.2",
    );

  checkPackagesAndCni(c, rules, add);
  checkLifetimes(c, add);
  const backupDestination = checkBackups(c, rules, add);
  checkRestore(c, clusterName, backupDestination, add);
  const netsOk = checkNetworks(c, rules, add);
  const pools = resolvePools(c, rules, clusterName, placement, add);
  if (netsOk) checkPodRoom(c, placement, pools, add);
  if (problems.length) throw new ConfigError(problems);

  const defaults = rules.defaults;
  const cniVersion = c.kubernetes.cni.version ?? (c.kubernetes.cni.name === "flannel" ? DEFAULT_FLANNEL_VERSION : DEFAULT_CALICO_VERSION);
  const common: ClusterConfigCommon = {
    ...c,
    region: placement.region,
    zones: placement.zones,
    adminCidrs: c.adminCidrs ?? [],
    controlPlane: { ...c.controlPlane, count: placement.count, machineType: c.controlPlane.machineType ?? defaults.masterMachineType },
    bastion: { machineType: c.bastion.machineType ?? defaults.bastionMachineType },
    etcd: {
      topology: c.etcd.topology,
      count: etcd.count,
      machineType: etcd.count && rules.makesMachines ? (c.etcd.machineType ?? defaults.etcdMachineType) : "",
      diskSizeGb: etcd.count && rules.makesMachines ? (c.etcd.diskSizeGb ?? DEFAULT_ETCD_DISK_SIZE_GB) : 0,
    },
    network: { ...c.network, natGateways: c.network.natGateways ?? "one-per-zone" },
    clusterName,
    nodePools: pools,
    endpoint: { mode: endpointMode, name: c.endpoint.name ?? `api.${clusterName}.internal`, vip: c.endpoint.vip, interface: c.endpoint.interface },
    kubernetes: { ...c.kubernetes, cni: { name: c.kubernetes.cni.name, version: cniVersion } },
    backups: { ...c.backups, destination: backupDestination, path: backupDestination === "directory" ? (c.backups.path ?? DEFAULT_BACKUP_DIRECTORY) : undefined },
  };
  return { ...common, ...rules.ownKeys(c) };
}

/** The config as the schema parses it (types, defaults, one-field checks), or every problem of the schema, each naming its key. */
function parseClusterConfig(raw: Record<string, unknown>): ParsedClusterConfig {
  const parsed = clusterConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems: ConfigProblem[] = [];
  // hosts on a cloud stack: that it does not apply is the problem, not what its list lacks.
  const platform = rulesNamed(raw.platform ?? clusterConfigSchema.shape.platform.parse(undefined));
  const cloudHosts = raw.hosts !== undefined && platform?.makesMachines === true;
  if (cloudHosts) problems.push(...problemsOfHostsOnCloud(platform.name));
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

/** Hosts you own name their own steps; a name the program gives its own would run into them. */
function checkHostNames(c: ParsedClusterConfig, clusterName: string, add: Add) {
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
}

/** The networks: valid, aligned, sized, disjoint (and the platform's limits); the admin CIDRs. Whether the three networks are valid CIDRs. */
function checkNetworks(c: ParsedClusterConfig, rules: PlatformRules, add: Add): boolean {
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
    else rules.checkNodeCidr(c.network.nodeCidr, add);
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

  return netsOk;
}

/** The pools, checked and resolved (zones, bounds, machine type). Hosts you own have none: nodePools is refused there, once, not item by item. */
function resolvePools(c: ParsedClusterConfig, rules: PlatformRules, clusterName: string, placement: Placement, add: Add): ResolvedNodePool[] {
  const poolNames = new Set<string>();
  return (rules.makesMachines ? c.nodePools : []).map((p, i) => {
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
    rules.checkPoolName(clusterName, p.name, i, add);
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
    return { ...p, zones, minPerZone, maxPerZone, machineType: p.machineType ?? rules.defaults.workerMachineType };
  });
}

/** The pod network has a /24 for every node the cluster can grow to. */
function checkPodRoom(c: ParsedClusterConfig, placement: Placement, pools: ResolvedNodePool[], add: Add) {
  const maxNodes = placement.count + (c.hosts?.workers.length ?? 0) + pools.reduce((n, p) => n + p.maxPerZone * p.zones.length, 0);
  const podSlots = sizeOf(c.network.podCidr) / 2 ** (32 - POD_CIDR_PER_NODE_PREFIX);
  if (maxNodes > podSlots)
    add(["network", "podCidr"], `${show(c.network.podCidr)} has room for ${podSlots} nodes but the pools can grow to ${maxNodes}`, "use a larger podCidr or lower maxPerZone");
}
