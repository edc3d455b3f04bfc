// AWS's resources in the render: load balancer and target group names, boot configs in
// instances' user data and launch templates' (base64) user data, and what AWS answers the mock
// runtime (ids in AWS's formats, ARNs, computed fields, the zones, the zone and the AMI asked for).
import { AWS_LB_NAME_MAX, AWS_TYPES } from "../../components/plan/platforms/aws-resources";
import { hex, randomFromSeed } from "../seeded";
import { isSecret, plain, UNKNOWN_VALUE } from "../wire";
import type { MockResource, RenderPlatform } from "./platform";

const LB_NAMED: string[] = [AWS_TYPES.loadBalancer, AWS_TYPES.targetGroup];

export const awsRender: RenderPlatform = {
  nameProblems(r) {
    if (!LB_NAMED.includes(r.type)) return [];
    const name = plain(r.rawInputs.name);
    if (typeof name === "string" && (name.length > AWS_LB_NAME_MAX || !/^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$/.test(name))) {
      return [
        `${r.urn}: AWS ${r.type.endsWith("TargetGroup") ? "target group" : "load balancer"} name ${JSON.stringify(name)} must be at most ${AWS_LB_NAME_MAX} letters, digits and '-' (not at either end); shorten kubeadm-ha:clusterName`,
      ];
    }
    return [];
  },
  bootConfig(r) {
    if (r.type !== AWS_TYPES.instance && r.type !== AWS_TYPES.template) return undefined;
    const template = r.type === AWS_TYPES.template;
    const machine = template ? String(plain(r.rawInputs.namePrefix)).replace(/-$/, "") : String((plain(r.rawInputs.tags) as Record<string, string> | undefined)?.Name ?? r.name);
    const userData = r.rawInputs.userData;
    if (userData === undefined || userData === UNKNOWN_VALUE) return undefined;
    const text = template ? Buffer.from(String(plain(userData)), "base64").toString("utf8") : String(plain(userData));
    return { machine, text, secret: isSecret(userData) };
  },
  mockResource: (type, name, inputs) => (type.startsWith("aws:") ? mockAwsResource(type, name, inputs) : undefined),
  mockInvoke(token, inputs, config) {
    switch (token) {
      case "aws:index/getAvailabilityZones:getAvailabilityZones": {
        const region = config["aws:region"] ?? "us-east-1";
        const names = ["a", "b", "c", "d", "e", "f"].map((l) => region + l);
        return { id: region, names, zoneIds: names.map((_, i) => `use1-az${i + 1}`), state: "available" };
      }
      case "aws:route53/getZone:getZone":
        return { id: "Z0MOCKPUBLICZONE", zoneId: "Z0MOCKPUBLICZONE", name: String(inputs.name).replace(/\.$/, ""), privateZone: false };
      case "aws:ec2/getAmi:getAmi":
        // The name pattern asked for, with a fixed date: offline renders stay deterministic.
        return {
          id: "ami-0123456789abcdef0",
          name: String(inputs.filters?.[0]?.values?.[0] ?? "image").replace("*", "20261101"),
          ownerId: inputs.owners?.[0],
          architecture: "x86_64",
          rootDeviceName: "/dev/sda1",
        };
      default:
        return undefined;
    }
  },
};

const MOCK_ACCOUNT = "123456789012";

/** AWS resources: ids in AWS's formats, ARNs, and the computed fields the program reads. */
function mockAwsResource(type: string, name: string, inputs: Record<string, any>): MockResource {
  const service = type.split(":")[1].split("/")[0];
  const n: string = inputs.name ?? name;
  const arn = `arn:aws:${service}:us-east-1:${MOCK_ACCOUNT}:${type.split(":")[2].toLowerCase()}/${n}`;
  const prefixes: Record<string, string> = {
    [AWS_TYPES.instance]: "i-",
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    [AWS_TYPES.securityGroup]: "sg-",
    "aws:ec2/networkInterface:NetworkInterface": "eni-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    [AWS_TYPES.template]: "lt-",
    "aws:ec2/eip:Eip": "eipalloc-",
  };
  // A bucket's id is its name; its ARN has no region or account.
  if (type === "aws:s3/bucket:Bucket") return { id: inputs.bucket, state: { ...inputs, arn: `arn:aws:s3:::${inputs.bucket}` } };
  const id = prefixes[type] ? prefixes[type] + hex(name, 17) : `${n}-id`;
  const state: Record<string, unknown> = { ...inputs, arn };
  switch (type) {
    case AWS_TYPES.instance:
      state.privateIp = inputs.privateIp ?? `10.0.0.${(parseInt(hex(name, 2), 16) % 200) + 20}`;
      if (inputs.associatePublicIpAddress) state.publicIp = "203.0.113.20";
      break;
    case "aws:ec2/eip:Eip":
      state.allocationId = id;
      state.publicIp = "203.0.113.30";
      break;
    case AWS_TYPES.template:
      state.name = inputs.name ?? `${inputs.namePrefix ?? name}${randomFromSeed(name, 26, "0123456789")}`;
      state.latestVersion = 1;
      break;
    case AWS_TYPES.loadBalancer:
      state.dnsName = `${n}-${hex(name, 10)}.elb.us-east-1.amazonaws.com`;
      state.zoneId = "Z26RNL4JYFTOTI";
      break;
    case "aws:route53/zone:Zone":
      state.zoneId = "Z" + hex(name, 20).toUpperCase();
      break;
  }
  return { id, state };
}
