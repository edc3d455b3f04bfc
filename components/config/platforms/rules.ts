// What the validation asks of a platform: GCP and AWS make the machines, hosts you own are
// the stack's. Each platform is one module of this folder (gcp.ts, aws.ts, static.ts) behind
// this interface, so the checks common to every cluster (validate.ts) never compare platform
// names, and a new platform is a new module. Pure: no Pulumi imports.
import type { ParsedClusterConfig } from "../schema";
import type { PlatformKeys } from "../cluster-config";
import type { Add, Refuse } from "../problems";

export type PlatformName = ParsedClusterConfig["platform"];
export type EndpointMode = "cloud-lb" | "vip" | "local-proxy";

/** Machine types when the stack leaves them out ("" where the machines are the stack's own). */
export interface MachineDefaults {
  masterMachineType: string;
  workerMachineType: string;
  bastionMachineType: string;
  etcdMachineType: string;
}

/** Where the masters are: the region, the zones (failure domains) and how many masters. */
export interface Placement {
  region: string;
  zones: string[];
  count: number;
}

export interface PlatformRules {
  /** As the stack names it (kubeadm-ha:platform). */
  name: PlatformName;
  /** Whether the program makes the machines (and the network, the load balancer, a bucket), or they are the stack's hosts. */
  makesMachines: boolean;
  /** endpoint.mode when the stack leaves it out. */
  defaultEndpointMode: EndpointMode;
  defaults: MachineDefaults;
  /**
   * The keys whose shape is this platform's own (`platform`, and its image or its hosts),
   * defaulted; called once the config has no problems.
   */
  ownKeys(c: ParsedClusterConfig): PlatformKeys;
  /** Refuses, through `refuse`, the keys that mean nothing on this platform (`add` for those it quotes itself). */
  refuseKeys(c: ParsedClusterConfig, endpointMode: EndpointMode, refuse: Refuse, add: Add): void;
  /** Checks and resolves where the masters are. */
  placement(c: ParsedClusterConfig, endpointMode: EndpointMode, providerConfig: Record<string, string>, add: Add): Placement;
  /** The key that sets the number of masters, and how to fix a count that cannot keep a quorum. */
  mastersCount: { path: PropertyKey[]; fix: string };
  /**
   * External etcd: the members, where the platform lists them itself (hosts you own: hosts.etcd),
   * checked; undefined where etcd.count says how many machines to make. With a stacked etcd,
   * refuses what lists members.
   */
  etcdMembers(c: ParsedClusterConfig, refuse: Refuse, add: Add): { count: number } | undefined;
  /** Problems of a nodeCidr the platform cannot lay its subnets out in (it is a valid CIDR of /26 or larger). */
  checkNodeCidr(nodeCidr: string, add: Add): void;
  /** Problems of a pool name the platform's resource names cannot hold. */
  checkPoolName(clusterName: string, pool: string, index: number, add: Add): void;
}
