// The pure plan of one cluster: every name and address, decided before any
// resource exists. Components only turn this into resources. No Pulumi imports.
import { createHash } from "crypto";
import { ClusterConfig, ResolvedNodePool } from "../config/validate";
import type { PlatformName } from "../config/platforms";
import { PLATFORM_PLANS } from "./platforms";
import { BastionPlan, FIRST_MASTER_HOST_NUMBER, SubnetPlan } from "./platforms/layout";
import { awsSubnets } from "./platforms/aws";
import { zoneSuffix } from "./platforms/zones";

export { BASTION_HOST_NUMBER, FIRST_MASTER_HOST_NUMBER, LB_HOST_NUMBER } from "./platforms/layout";
export type { SubnetPlan } from "./platforms/layout";
export { awsSubnets, zoneSuffix };
import { LOCAL_PROXY_PORT, VIP_PROXY_PORT } from "./onprem-endpoint";
import { EtcdMemberPlan, FIRST_ETCD_HOST_NUMBER } from "./etcd-cluster";

/** kube-apiserver's secure port, on every master and on the endpoint. */
export const APISERVER_PORT = 6443;
/** Boot disk of the bastion, GB: it only forwards SSH. */
export const BASTION_DISK_GB = 20;

export interface MasterPlan {
  /** 0-based; master-0 runs `kubeadm init` when no master of the stack holds a cluster yet. */
  index: number;
  /** VM name and Kubernetes node name, e.g. prod-master-0. */
  name: string;
  zone: string;
  /** Fixed internal address, reserved so certificates and etcd peer URLs never change. */
  ip: string;
  /** Name of the subnet the master sits in. */
  subnet: string;
  /**
   * Where this master points the endpoint name when it boots (master-0's apiserver or proxy,
   * or its own local proxy). While it joins, the member script points the name at a master
   * whose apiserver answers, chosen on the machine (local-proxy: its own proxy, as here).
   */
  endpointWhileJoining: string;
  /** Where it points the name once it is a member (itself, the VIP, or its local proxy). */
  endpointAfterJoin: string;
  /** Node labels the stack gives it: its zone, and the host's own labels on hosts you own (set by its labels step). */
  labels: Record<string, string>;
  /** Hosts you own: what identifies the machine at this address; its steps run again when it changes. */
  machine?: string;
}

/** A machine you own that joins as a worker (platform static). */
export interface StaticWorkerPlan {
  name: string;
  address: string;
  zone: string;
  /** Node labels the stack gives it: its zone and the host's own labels (set by its labels step). */
  labels: Record<string, string>;
  /** What identifies the machine at this address; its steps run again when it changes. */
  machine?: string;
}

/**
 * What a host you own is known by: its address, and the `machine` the stack gives it when
 * set (so a machine replaced at the same address is a new one). Unset, the address alone,
 * as before the key existed, so existing stacks see no change.
 */
export function hostIdentity(h: { address: string; machine?: string }): string {
  return h.machine === undefined ? h.address : `${h.address}/${h.machine}`;
}

/**
 * What, when it changes, restarts or replaces a master's VM: its machine type, the image
 * the stack names, its disk size and its boot config (sha256, hex). The master's `healthy`
 * step runs again when it changes, and the next master waits for it.
 */
export function machineRevision(config: ClusterConfig, userData: string): string {
  const cp = config.controlPlane;
  return createHash("sha256")
    .update(JSON.stringify([cp.machineType, config.image ?? "", cp.diskSizeGb, userData]))
    .digest("hex");
}

/** The well-known label of a node's failure domain; kubelets may set it on their own Node. */
export const ZONE_LABEL = "topology.kubernetes.io/zone";

export interface PoolZonePlan {
  zone: string;
  /** Name of the zonal group of this pool in this zone, e.g. prod-general-b. */
  name: string;
  nodesPerZone: number;
  minPerZone: number;
  maxPerZone: number;
}

export interface PoolPlan {
  pool: ResolvedNodePool;
  /** Base name of the pool's resources, e.g. prod-general. */
  name: string;
  zones: PoolZonePlan[];
}

/**
 * `endpoint`: this address (undefined on AWS: the load balancer's DNS name, known once it
 * exists). `first-answering`: the first of these addresses whose SSH port answers.
 */
export type ControlPlaneSsh = { kind: "endpoint"; address?: string } | { kind: "first-answering"; candidates: string[] };

export interface ClusterPlan {
  config: ClusterConfig;
  name: string;
  region: string;
  zones: string[];
  endpoint: {
    /** Stable DNS name in controlPlaneEndpoint and every certificate. */
    name: string;
    port: number;
    /** Internal address(es) of the load balancer: one on GCP, one per zone on AWS. */
    addresses: string[];
    /**
     * Where workers point the endpoint name in /etc/hosts: the LB address on GCP;
     * undefined on AWS, where a private Route 53 zone answers for the name.
     */
    workerAddress?: string;
    /** `name:port`, as in kubeadm's controlPlaneEndpoint. */
    hostPort: string;
  };
  masters: MasterPlan[];
  /**
   * Where the steps that need any one healthy master (validation, the admin kubeconfig,
   * etcd membership, removing a worker you own) connect over SSH, so that losing one master
   * or its zone never stops them: the endpoint, which sends the connection to a healthy
   * master (the load balancer forwards SSH too, keepalived moves the VIP), or, with no shared
   * address (local-proxy), the first master that answers SSH when `pulumi up` runs.
   */
  controlPlaneSsh: ControlPlaneSsh;
  bastion: BastionPlan;
  /** static: the workers you own. */
  staticWorkers: StaticWorkerPlan[];
  subnets: SubnetPlan[];
  pools: PoolPlan[];
  /** SANs of the apiserver certificate: the endpoint name, the LB address and every master address. */
  apiServerSans: string[];
  /** Where etcd runs: on the masters (stacked, no members here), or on the external members, in join order. */
  etcd: { topology: "stacked" | "external"; members: EtcdMemberPlan[] };
}

export function planCluster(config: ClusterConfig): ClusterPlan {
  const name = config.clusterName;
  const zones = [...config.zones];
  const cidr = config.network.nodeCidr;
  const layout = PLATFORM_PLANS[config.platform].network;
  const subnets = layout.subnets(name, cidr, zones);
  const mode = config.endpoint.mode;
  const port = mode === "vip" ? VIP_PROXY_PORT : mode === "local-proxy" ? LOCAL_PROXY_PORT : APISERVER_PORT;
  const placed: Array<Omit<MasterPlan, "endpointWhileJoining" | "endpointAfterJoin">> = config.hosts
    ? config.hosts.masters.map((h, i) => ({
        index: i,
        name: h.name,
        zone: h.zone,
        ip: h.address,
        subnet: subnets[0].name,
        labels: { [ZONE_LABEL]: h.zone, ...h.labels },
        machine: h.machine,
      }))
    : Array.from({ length: config.controlPlane.count }, (_, i) => {
        const at = layout.place(zones, subnets, i, FIRST_MASTER_HOST_NUMBER);
        return { index: i, name: `${name}-master-${i}`, ...at, labels: { [ZONE_LABEL]: at.zone } };
      });
  const lbAddresses = mode === "vip" ? [config.endpoint.vip!] : mode === "local-proxy" ? ["127.0.0.1"] : layout.loadBalancerAddresses(cidr, zones, subnets);
  const masters: MasterPlan[] = placed.map((m) => ({
    ...m,
    endpointWhileJoining: mode === "local-proxy" ? "127.0.0.1" : placed[0].ip,
    endpointAfterJoin: mode === "local-proxy" ? "127.0.0.1" : mode === "vip" ? config.endpoint.vip! : m.ip,
  }));
  const pools: PoolPlan[] = config.nodePools.map((pool) => ({
    pool,
    name: `${name}-${pool.name}`,
    zones: pool.zones.map((zone) => ({
      zone,
      name: `${name}-${pool.name}-${zoneSuffix(zone)}`,
      nodesPerZone: pool.nodesPerZone,
      minPerZone: pool.minPerZone,
      maxPerZone: pool.maxPerZone,
    })),
  }));
  return {
    config,
    name,
    region: config.region,
    zones,
    endpoint: {
      name: config.endpoint.name,
      port,
      addresses: lbAddresses,
      workerAddress: mode === "cloud-lb" && !layout.workersUseLoadBalancerAddress ? undefined : lbAddresses[0],
      hostPort: `${config.endpoint.name}:${port}`,
    },
    masters,
    controlPlaneSsh:
      mode === "local-proxy" ? { kind: "first-answering", candidates: masters.map((m) => m.ip) } : { kind: "endpoint", address: mode === "cloud-lb" ? undefined : lbAddresses[0] },
    staticWorkers: config.hosts?.workers.map((h) => ({ name: h.name, address: h.address, zone: h.zone, labels: { [ZONE_LABEL]: h.zone, ...h.labels }, machine: h.machine })) ?? [],
    bastion: layout.bastion(name, cidr, zones, subnets),
    subnets,
    pools,
    apiServerSans: [config.endpoint.name, ...lbAddresses, ...masters.map((m) => m.ip)],
    etcd: {
      topology: config.etcd.topology,
      members:
        config.etcd.topology === "external"
          ? placeEtcdMembers({ cluster: name, platform: config.platform, zones, subnets, count: config.etcd.count, hosts: config.hosts?.etcd })
          : [],
    },
  };
}

export interface EtcdPlacement {
  cluster: string;
  platform: PlatformName;
  zones: string[];
  subnets: SubnetPlan[];
  /** Cloud members (hosts you own list theirs). */
  count: number;
  hosts?: ReadonlyArray<{ name: string; address: string; zone: string; machine?: string }>;
}

/** Where each member runs: hosts you own as listed; cloud members round-robin over the zones. */
export function placeEtcdMembers(p: EtcdPlacement): EtcdMemberPlan[] {
  if (p.hosts) return p.hosts.map((h, index) => ({ index, name: h.name, zone: h.zone, ip: h.address, subnet: p.subnets[0].name, ...(h.machine ? { machine: h.machine } : {}) }));
  return Array.from({ length: p.count }, (_, index) => ({
    index,
    name: `${p.cluster}-etcd-${index}`,
    ...PLATFORM_PLANS[p.platform].network.place(p.zones, p.subnets, index, FIRST_ETCD_HOST_NUMBER),
  }));
}
