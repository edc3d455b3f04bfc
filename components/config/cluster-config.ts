// The validated cluster configuration's types: what validate.ts returns and the plan reads.
// One shape per platform, keyed by `platform`. Pure: no Pulumi imports.
import type { CNI_NAMES, NodePoolConfig, ParsedClusterConfig } from "./schema";

/**
 * A fully defaulted, cross-checked cluster configuration: one shape per platform, keyed by
 * `platform`, so the compiler checks every case (`switch (config.platform)` with a `never`
 * default) and knows which keys a platform has (hosts only on static, the image only on clouds).
 */
export type ClusterConfig = GcpClusterConfig | AwsClusterConfig | StaticClusterConfig;

/** GCP: zonal VMs the program creates from `image` (a family or image link; defaulted). */
export interface GcpClusterConfig extends ClusterConfigCommon {
  platform: "gcp";
  image: string;
  hosts?: undefined;
}

/** AWS: EC2 instances from `image`, an AMI id; undefined means "look up the newest Canonical Ubuntu 24.04 AMI". */
export interface AwsClusterConfig extends ClusterConfigCommon {
  platform: "aws";
  image?: string;
  hosts?: undefined;
}

/** Hosts you own: the machines are `hosts`, reached over SSH; nothing is created. */
export interface StaticClusterConfig extends ClusterConfigCommon {
  platform: "static";
  hosts: NonNullable<ParsedClusterConfig["hosts"]>;
  image?: undefined;
}

/** What every platform's config has. */
export interface ClusterConfigCommon extends Omit<
  ParsedClusterConfig,
  | "platform"
  | "hosts"
  | "clusterName"
  | "nodePools"
  | "endpoint"
  | "kubernetes"
  | "controlPlane"
  | "bastion"
  | "network"
  | "image"
  | "region"
  | "zones"
  | "adminCidrs"
  | "backups"
  | "etcd"
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

/** The keys whose shape is the platform's own, as each platform's rules resolve them (config/platforms/). */
export type PlatformKeys = Pick<GcpClusterConfig, "platform" | "image"> | Pick<AwsClusterConfig, "platform" | "image"> | Pick<StaticClusterConfig, "platform" | "hosts">;

/**
 * The default of an exhaustive `switch (config.platform)`: it compiles only when every
 * platform has its case (the config is `never` there), and says which one had none if a
 * config the types did not foresee gets here.
 */
export function unknownPlatform(config: never): Error {
  return new Error(`unknown platform ${JSON.stringify((config as { platform?: unknown }).platform)}`);
}
