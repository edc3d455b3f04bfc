// Where a platform puts the cluster's machines in its network: the subnets, the fixed
// addresses of the masters and etcd members, the internal load balancer's and the bastion's.
// One module per platform (gcp.ts, aws.ts, static.ts) behind NetworkLayout; the cluster's
// plan (cluster-plan.ts) asks it and never compares platform names. No Pulumi imports.
import { hostAt } from "../../config/cidr";

/** Address numbers inside the node subnet (GCP keeps .0 and .1 for itself). */
export const LB_HOST_NUMBER = 5;
export const BASTION_HOST_NUMBER = 6;
export const FIRST_MASTER_HOST_NUMBER = 10;

export interface SubnetPlan {
  /** Resource name, e.g. prod-nodes (GCP) or prod-private-a (AWS). */
  name: string;
  cidr: string;
  /** AWS subnets are zonal; the GCP subnet is regional (undefined). */
  zone?: string;
  /** Public subnets hold the bastion and NAT gateways only (AWS). */
  public: boolean;
}

/** A machine with a fixed address: its zone, address and subnet. */
export interface Place {
  zone: string;
  ip: string;
  subnet: string;
}

/** The bastion; its address is fixed on GCP and assigned by AWS; static hosts use an existing one, if any. */
export interface BastionPlan {
  name: string;
  zone: string;
  ip?: string;
  subnet: string;
}

export interface NetworkLayout {
  /** The subnets nodeCidr is cut into. */
  subnets(cluster: string, nodeCidr: string, zones: string[]): SubnetPlan[];
  /**
   * Machine `index` of a set with fixed addresses (masters, etcd members), round-robin over the
   * zones, from host number `firstHostNumber` of its subnet.
   */
  place(zones: string[], subnets: SubnetPlan[], index: number, firstHostNumber: number): Place;
  /** The internal load balancer's addresses (endpoint mode cloud-lb). */
  loadBalancerAddresses(nodeCidr: string, zones: string[], subnets: SubnetPlan[]): string[];
  /** Whether the workers reach the load balancer at its first address; else by the name the cloud gives it. */
  workersUseLoadBalancerAddress: boolean;
  bastion(cluster: string, nodeCidr: string, zones: string[], subnets: SubnetPlan[]): BastionPlan;
}

/** The private subnet machines of `zone` sit in: the regional one, or the zone's own. */
export function privateSubnetOf(subnets: SubnetPlan[], zone: string): SubnetPlan {
  return subnets.find((s) => !s.public && (s.zone === undefined || s.zone === zone))!;
}

/** Machine `index` of a set, round-robin over the zones, at host number `hostNumber` of its zone's private subnet. */
export function zonalPlace(zones: string[], subnets: SubnetPlan[], index: number, hostNumber: number): Place {
  const zone = zones[index % zones.length];
  const subnet = privateSubnetOf(subnets, zone);
  return { zone, ip: hostAt(subnet.cidr, hostNumber), subnet: subnet.name };
}

/** A network of one regional subnet, `<cluster>-nodes`: machine i at first+i, the LB at .5, the bastion at .6. */
export const oneSubnet: NetworkLayout = {
  subnets: (cluster, nodeCidr) => [{ name: `${cluster}-nodes`, cidr: nodeCidr, public: false }],
  place: (zones, subnets, index, firstHostNumber) => zonalPlace(zones, subnets, index, firstHostNumber + index),
  loadBalancerAddresses: (nodeCidr) => [hostAt(nodeCidr, LB_HOST_NUMBER)],
  workersUseLoadBalancerAddress: true,
  bastion: (cluster, nodeCidr, zones, subnets) => ({ name: `${cluster}-bastion`, zone: zones[0], ip: hostAt(nodeCidr, BASTION_HOST_NUMBER), subnet: subnets[0].name }),
};
