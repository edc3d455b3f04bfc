// AWS in the plan: a private and a public subnet per zone (subnets are zonal there), the
// internal NLB and its target group's health check. (Names, instance metadata options, the
// AMI lookup and the workers' identity: aws-resources.ts.) No Pulumi imports.
import { hostAt, prefixOf, subnetAt } from "../../config/cidr";
import { LB_HOST_NUMBER, NetworkLayout, privateSubnetOf, SubnetPlan, zonalPlace } from "./layout";
import { zoneSuffix } from "./zones";
import { cloudPlan, PlatformPlan } from "./platform";

/**
 * The NLB target group's health check, HTTPS GET /readyz on 6443 every 10 s, down after 2
 * failures: a dead master leaves rotation within ~20 s (the NLB's floor is 5 s intervals but
 * AWS recommends 10 s; the default 30 s would take a minute).
 */
export const APISERVER_TARGET_HEALTH_CHECK = { protocol: "HTTPS", path: "/readyz", interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 2 };

/**
 * nodeCidr (/p) is cut into eight /(p+3): the first ones are the zones' private subnets; the
 * last is cut again into /(p+6) public subnets, one per zone (bastion, NAT).
 */
export function awsSubnets(cluster: string, nodeCidr: string, zones: string[]): SubnetPlan[] {
  const p = prefixOf(nodeCidr);
  const publicBlock = subnetAt(nodeCidr, p + 3, 7);
  return [
    ...zones.map((zone, i) => ({ name: `${cluster}-private-${zoneSuffix(zone)}`, cidr: subnetAt(nodeCidr, p + 3, i), zone, public: false })),
    ...zones.map((zone, i) => ({ name: `${cluster}-public-${zoneSuffix(zone)}`, cidr: subnetAt(publicBlock, p + 6, i), zone, public: true })),
  ];
}

const awsNetwork: NetworkLayout = {
  subnets: awsSubnets,
  // In its zone's private subnet: at first of each zone, then first+1.
  place: (zones, subnets, index, firstHostNumber) => zonalPlace(zones, subnets, index, firstHostNumber + Math.floor(index / zones.length)),
  // The NLB has an address in each zone's private subnet.
  loadBalancerAddresses: (_nodeCidr, zones, subnets) => zones.map((z) => hostAt(privateSubnetOf(subnets, z).cidr, LB_HOST_NUMBER)),
  // Workers leave the endpoint name to a private Route 53 zone, which answers with the NLB.
  workersUseLoadBalancerAddress: false,
  // In the first zone's public subnet, at an address AWS assigns.
  bastion: (cluster, _nodeCidr, zones, subnets) => ({ name: `${cluster}-bastion`, zone: zones[0], subnet: subnets.find((s) => s.public && s.zone === zones[0])!.name }),
};

export const awsPlan: PlatformPlan = cloudPlan({
  title: "AWS",
  network: awsNetwork,
  lbTitle: "internal NLB",
  check: { intervalS: APISERVER_TARGET_HEALTH_CHECK.interval, failures: APISERVER_TARGET_HEALTH_CHECK.unhealthyThreshold, timeoutS: APISERVER_TARGET_HEALTH_CHECK.timeout },
});
