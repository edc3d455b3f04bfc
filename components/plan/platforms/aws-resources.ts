// What AWS's components need of the plan: instance metadata options, the AMI lookup, load
// balancer, parameter and zone names, and how a worker learns its name, address and token.
// No Pulumi imports.
import { ClusterPlan } from "../cluster-plan";

/**
 * The types of AWS's resources that the render and the policy pack read: machines, their launch
 * templates, security groups and their rules, load balancers, target groups, volumes, and the
 * component of the apiserver's load balancer (test/aws.test.ts holds them to the provider's classes).
 */
export const AWS_TYPES = {
  instance: "aws:ec2/instance:Instance",
  template: "aws:ec2/launchTemplate:LaunchTemplate",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  volume: "aws:ebs/volume:Volume",
  apiserverLb: "kubeadm-ha:aws:ApiServerLoadBalancer",
} as const;

/** The AWS tag key for a label key (components/plan/labels.ts): `kubeadm-ha-role` -> `kubeadm-ha/role`. */
export const awsTagKey = (label: string) => label.replace(/^kubeadm-ha-/, "kubeadm-ha/");

/** A machine's labels as AWS tags (`kubeadm-ha/...` keys). */
export function asAwsTags(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [awsTagKey(k), v]));
}

/** IMDSv2 only, and one hop: containers (one hop further) cannot reach instance metadata or credentials. */
export const METADATA_OPTIONS = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" };

/** Canonical's account and the Ubuntu 24.04 LTS (noble) server image name pattern. */
export const UBUNTU_AMI_LOOKUP = {
  owners: ["099720109477"],
  mostRecent: true,
  filters: [
    { name: "name", values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] },
    { name: "virtualization-type", values: ["hvm"] },
    { name: "architecture", values: ["x86_64"] },
  ],
};

/** Root device of Ubuntu AMIs. */
export const ROOT_DEVICE = "/dev/sda1";

/** Load balancer and target group names: 32 characters at most (AWS). */
export const AWS_LB_NAME_MAX = 32;

export function apiserverLbName(plan: ClusterPlan): string {
  return `${plan.name}-apiserver`;
}

/** Target group of the NLB's SSH listener, which reaches a master whose apiserver is ready. */
export function controlPlaneSshTargetGroupName(plan: ClusterPlan): string {
  return `${plan.name}-cp-ssh`;
}

/** SSM parameter that holds the bootstrap token for workers (SecureString). */
export function tokenParameterName(plan: ClusterPlan): string {
  return `/kubeadm-ha/${plan.name}/bootstrap-token`;
}

/** Private hosted zone of the endpoint name: everything after its first label. */
export function endpointZone(plan: ClusterPlan): { zone: string; record: string } {
  const [record, ...rest] = plan.endpoint.name.split(".");
  return { zone: rest.join("."), record };
}

/**
 * How an AWS worker learns its name (instance id), address and the token: IMDSv2,
 * and SSM GetParameter signed with the instance role's credentials by curl's
 * --aws-sigv4 (curl >= 7.75; Ubuntu 24.04 ships 8.5). Credentials go to curl on
 * standard input, never on its command line.
 */
export function awsInstanceIdentity(plan: ClusterPlan) {
  return {
    prelude: `imds() {
  local token
  token="$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')"
  curl -fsS -H "X-aws-ec2-metadata-token: \${token}" "http://169.254.169.254/latest/$1"
}
ssm_parameter() {
  local region role creds
  region="$(imds meta-data/placement/region)"
  role="$(imds meta-data/iam/security-credentials/)"
  creds="$(imds "meta-data/iam/security-credentials/\${role}")"
  jq -r '"user = \\"" + .AccessKeyId + ":" + .SecretAccessKey + "\\"\\nheader = \\"x-amz-security-token: " + .Token + "\\""' <<<"$creds" |
    curl -fsS -K - "https://ssm.\${region}.amazonaws.com/" --aws-sigv4 "aws:amz:\${region}:ssm" \\
      -H 'X-Amz-Target: AmazonSSM.GetParameter' -H 'Content-Type: application/x-amz-json-1.1' \\
      -d "{\\"Name\\":\\"$1\\",\\"WithDecryption\\":true}" | jq -r .Parameter.Value
}
`,
    name: "imds meta-data/instance-id",
    ip: "imds meta-data/local-ipv4",
    token: `ssm_parameter ${tokenParameterName(plan)}`,
  };
}
