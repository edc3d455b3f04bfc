// Hosts you own in the plan: the machines are where they are, in their one subnet
// (network.nodeCidr); haproxy on the masters behind a VIP or on every node fronts the
// apiservers (../onprem-endpoint.ts). No Pulumi imports.
import { oneSubnet } from "./layout";
import { PlatformPlan } from "./platform";

export const staticPlan: PlatformPlan = {
  network: oneSubnet,
  picture: {
    where: () => "hosts you own",
    failureDomain: "failure domain",
    bastion: (plan) => plan.config.hosts?.bastion,
  },
};
