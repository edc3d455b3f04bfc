// The pure plan of one cluster: every name and address, decided before any
// resource exists. Components only turn this into resources. No Pulumi imports.
import { ClusterConfig, ResolvedNodePool } from "../config/validate";
import { hostAt } from "./cidr";

/** kube-apiserver's secure port, on every master and on the endpoint. */
export const APISERVER_PORT = 6443;
/** Address numbers inside the node subnet (GCP keeps .0 and .1 for itself). */
export const LB_HOST_NUMBER = 5;
export const BASTION_HOST_NUMBER = 6;
export const FIRST_MASTER_HOST_NUMBER = 10;

export interface MasterPlan {
  /** 0-based; master-0 runs `kubeadm init`. */
  index: number;
  /** VM name and Kubernetes node name, e.g. prod-master-0. */
  name: string;
  zone: string;
  /** Fixed internal address, reserved so certificates and etcd peer URLs never change. */
  ip: string;
}

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

export interface ClusterPlan {
  config: ClusterConfig;
  name: string;
  region: string;
  zones: string[];
  endpoint: {
    /** Stable DNS name in controlPlaneEndpoint and every certificate. */
    name: string;
    port: number;
    /** Internal address of the load balancer. */
    address: string;
    /** `name:port`, as in kubeadm's controlPlaneEndpoint. */
    hostPort: string;
  };
  masters: MasterPlan[];
  bastion: { name: string; zone: string; ip: string };
  pools: PoolPlan[];
  /** SANs of the apiserver certificate: the endpoint name, the LB address and every master address. */
  apiServerSans: string[];
}

/** The last letter(s) of a zone: europe-west1-b -> b. Unique within a region. */
export function zoneSuffix(zone: string): string {
  return zone.slice(zone.lastIndexOf("-") + 1);
}

export function planCluster(config: ClusterConfig): ClusterPlan {
  const name = config.clusterName;
  const zones = [...config.zones];
  const cidr = config.network.nodeCidr;
  const masters: MasterPlan[] = Array.from({ length: config.controlPlane.count }, (_, i) => ({
    index: i,
    name: `${name}-master-${i}`,
    zone: zones[i % zones.length],
    ip: hostAt(cidr, FIRST_MASTER_HOST_NUMBER + i),
  }));
  const lb = hostAt(cidr, LB_HOST_NUMBER);
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
    endpoint: { name: config.endpoint.name, port: APISERVER_PORT, address: lb, hostPort: `${config.endpoint.name}:${APISERVER_PORT}` },
    masters,
    bastion: { name: `${name}-bastion`, zone: zones[0], ip: hostAt(cidr, BASTION_HOST_NUMBER) },
    pools,
    apiServerSans: [config.endpoint.name, lb, ...masters.map((m) => m.ip)],
  };
}
