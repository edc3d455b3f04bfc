// AWS as the policy pack reads it: instances and launch templates tagged with the label words
// (boot data in their user data), security groups and their rules, the apiservers' target
// group, EBS encryption, and the IMDSv2 rule.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { APISERVER_PORT } from "../../components/plan/cluster-plan";
import { LABEL } from "../../components/plan/labels";
import { AWS_TYPES, awsTagKey } from "../../components/plan/platforms/aws-resources";
import { isWorld, num, PolicyPlatform, Props, strings } from "./platform";

const isMachine = (type: string) => type === AWS_TYPES.instance || type === AWS_TYPES.template;

/** TCP port range of one AWS rule: protocol -1 (or "all") means every port. */
function tcpRange(proto: unknown, from: unknown, to: unknown): Array<[number, number]> {
  const p = String(proto).toLowerCase();
  if (p === "-1" || p === "all") return [[0, 65535]];
  return p === "tcp" || p === "6" ? [[Number(from), Number(to)]] : [];
}

const truthy = (v: unknown) => v === true || v === "true";

export const awsImdsv2Required: ResourceValidationPolicy = {
  name: "aws-imdsv2-required",
  description: "EC2 machines require IMDSv2 session tokens (httpTokens: required): IMDSv1 lets any SSRF read the instance's credentials.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (!isMachine(args.type)) return;
    const tokens = args.props.metadataOptions?.httpTokens;
    if (tokens !== "required") report(`${args.name}: metadataOptions.httpTokens is ${JSON.stringify(tokens ?? "optional (default)")}; set it to "required" (IMDSv2).`);
  },
};

export const awsPolicy: PolicyPlatform = {
  machine({ type, props }) {
    if (!isMachine(type)) return undefined;
    const template = type === AWS_TYPES.template;
    const tags: Record<string, string> = props.tags ?? {};
    // A launch template's user data is base64; an instance's is plain text, or base64 in userDataBase64.
    const decoded = [props.userDataBase64, template ? props.userData : undefined].flatMap((b) => (typeof b === "string" ? [Buffer.from(b, "base64").toString("utf8")] : []));
    return {
      template,
      labels: Object.fromEntries(
        Object.values(LABEL)
          .map((k) => [k, tags[awsTagKey(k)]])
          .filter(([, v]) => v !== undefined),
      ),
      zone: template ? undefined : props.availabilityZone,
      bootDataName: "user data",
      bootTexts: [...strings([props.userData]), ...decoded],
    };
  },
  apiserverHealthCheck(r) {
    if (r.type !== AWS_TYPES.targetGroup || (r.parent?.type !== AWS_TYPES.apiserverLb && num(r.props.port) !== APISERVER_PORT)) return undefined;
    const hc = r.props.healthCheck ?? {};
    const port = hc.port === undefined || hc.port === "traffic-port" ? num(r.props.port) : num(hc.port);
    return { port, protocol: hc.protocol?.toUpperCase(), path: hc.path };
  },
  worldOpenRanges(type, props: Props) {
    switch (type) {
      case AWS_TYPES.ingressRule:
        return isWorld(props.cidrIpv4) || isWorld(props.cidrIpv6) ? tcpRange(props.ipProtocol, props.fromPort, props.toPort) : [];
      case AWS_TYPES.securityGroupRule:
        return props.type === "ingress" && (isWorld(props.cidrBlocks) || isWorld(props.ipv6CidrBlocks)) ? tcpRange(props.protocol, props.fromPort, props.toPort) : [];
      case AWS_TYPES.securityGroup:
        return (props.ingress ?? []).flatMap((i: Props) => (isWorld(i.cidrBlocks) || isWorld(i.ipv6CidrBlocks) ? tcpRange(i.protocol, i.fromPort, i.toPort) : []));
      default:
        return [];
    }
  },
  plainDisks(type, p: Props) {
    const plain: string[] = [];
    if (type === AWS_TYPES.instance) {
      if (!truthy(p.rootBlockDevice?.encrypted)) plain.push("rootBlockDevice");
      (p.ebsBlockDevices ?? []).forEach((d: Props, i: number) => !truthy(d.encrypted) && plain.push(`ebsBlockDevices[${i}]`));
    } else if (type === AWS_TYPES.template) {
      const mappings: Props[] = p.blockDeviceMappings ?? [];
      if (!mappings.length) plain.push("blockDeviceMappings (none: the AMI's unencrypted default)");
      mappings.forEach((m, i) => m.ebs && !truthy(m.ebs.encrypted) && plain.push(`blockDeviceMappings[${i}].ebs`));
    } else if (type === AWS_TYPES.volume && !truthy(p.encrypted)) plain.push("the volume");
    return plain;
  },
  policies: [awsImdsv2Required],
};
