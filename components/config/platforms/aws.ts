// AWS's rules: its names, defaults and limits. Pure: no Pulumi imports.
import { show } from "../problems";
import { prefixOf } from "../cidr";
import { cloudRules } from "./cloud";

/** nodeCidr is cut into a private and a public subnet per zone; this is the smallest that leaves /28 public subnets. */
export const AWS_MAX_NODE_CIDR_PREFIX = 22;
/** Zones the subnet layout has room for. */
export const AWS_MAX_ZONES = 6;

export const aws = cloudRules(
  {
    name: "aws",
    title: "AWS",
    // Masters get 4 vCPU / 16 GiB (etcd and the apiserver are comfortable up to a few hundred nodes); the bastion only forwards SSH.
    defaults: { masterMachineType: "m6i.xlarge", workerMachineType: "m6i.xlarge", etcdMachineType: "m6i.large", bastionMachineType: "t3.small" },
    region: /^[a-z]{2}(-[a-z]+)+-\d$/,
    zone: /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/,
    machineType: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
    example: { region: "us-east-1", zone: "us-east-1a", machineType: "m6i.xlarge" },
    zoneOf: (region, l) => `${region}${l}`,
    inRegion: (z, region) => z.length === region.length + 1 && z.startsWith(region),
    imageProblem: (image) =>
      /^ami-[0-9a-f]{8,17}$/.test(image)
        ? undefined
        : [`${show(image)} is not an AMI id`, "use an AMI id such as ami-0123456789abcdef0, or leave image out to use the newest Ubuntu 24.04 AMI"],
    providerRegionRequired: true,
    maxZones: AWS_MAX_ZONES,
  },
  {
    // No image: the newest Canonical Ubuntu 24.04 AMI is looked up when deploying.
    ownKeys: (c) => ({ platform: "aws", image: c.image }),
    refuseKeys(c, _mode, refuse) {
      c.nodePools.forEach((_, i) =>
        refuse(
          ["nodePools", i, "autoscalingMode"],
          "is the GCE autoscaler's mode; an AWS Auto Scaling group has none (minPerZone and maxPerZone bound a scaler you attach)",
          "remove autoscalingMode",
        ),
      );
    },
    checkNodeCidr(nodeCidr, add) {
      if (prefixOf(nodeCidr) > AWS_MAX_NODE_CIDR_PREFIX)
        add(
          ["network", "nodeCidr"],
          `${show(nodeCidr)} is too small to cut into a private and a public subnet per zone on AWS`,
          `use /${AWS_MAX_NODE_CIDR_PREFIX} or larger, e.g. 10.10.0.0/20`,
        );
    },
    checkPoolName: () => {},
  },
);
