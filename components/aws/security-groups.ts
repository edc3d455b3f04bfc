import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ClusterPlan } from "../plan/cluster-plan";
import { IngressRule, ingressRules, portRange, Role, rolesOf } from "../plan/network-policy";
import { tags } from "./vm";

/** AWS ingress: the shared policy, plus the apiserver's NLB (which has its own group). */
export function awsIngressRules(plan: ClusterPlan): IngressRule[] {
  const [fromNodes, ...rest] = ingressRules(plan);
  return [
    { ...fromNodes, suffix: "apiserver-from-nodes" },
    {
      suffix: "apiserver-from-lb",
      description: "kube-apiserver from the internal NLB (client IP preservation off) and its health checks",
      allow: [{ protocol: "tcp", ports: ["6443"] }],
      from: { roles: ["apiserver-lb"] },
      to: ["master"],
    },
    {
      suffix: "lb-from-nodes",
      description: "the internal NLB's listener from nodes and the bastion",
      allow: [{ protocol: "tcp", ports: ["6443"] }],
      from: { roles: ["master", "worker", "bastion"] },
      to: ["apiserver-lb"],
    },
    {
      suffix: "ssh-from-lb",
      description: "SSH from the internal NLB's SSH listener (the control-plane steps)",
      allow: [{ protocol: "tcp", ports: ["22"] }],
      from: { roles: ["apiserver-lb"] },
      to: ["master"],
    },
    {
      suffix: "lb-ssh-from-bastion",
      description: "the internal NLB's SSH listener from the bastion",
      allow: [{ protocol: "tcp", ports: ["22"] }],
      from: { roles: ["bastion"] },
      to: ["apiserver-lb"],
    },
    ...rest,
  ];
}

export interface AwsSecurityGroupsArgs {
  plan: ClusterPlan;
  vpcId: pulumi.Input<string>;
}

/** One security group per role; ingress only as the shared policy says, egress open. */
export class AwsSecurityGroups extends pulumi.ComponentResource {
  /** Each role's group; the etcd machines' only with an external etcd. */
  public readonly ids: Record<Exclude<Role, "etcd">, pulumi.Output<string>> & { etcd?: pulumi.Output<string> };
  public readonly rules: pulumi.Resource[] = [];

  constructor(name: string, args: AwsSecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:SecurityGroups", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    const roles = rolesOf(plan);
    const groups = Object.fromEntries(
      roles.map((role) => {
        const n = `${name}-${role}`;
        const sg = new aws.ec2.SecurityGroup(n, { name: n, description: `${plan.name} ${role}`, vpcId: args.vpcId, tags: tags(plan.name, n) }, parent);
        this.rules.push(
          new aws.vpc.SecurityGroupEgressRule(
            `${n}-egress`,
            { securityGroupId: sg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "all egress", tags: tags(plan.name, `${n}-egress`) },
            parent,
          ),
        );
        return [role, sg];
      }),
    ) as Record<Role, aws.ec2.SecurityGroup>;
    this.ids = Object.fromEntries(roles.map((r) => [r, groups[r].id])) as AwsSecurityGroups["ids"];

    for (const rule of awsIngressRules(plan)) {
      for (const to of rule.to) {
        const sources: Array<{ key: string; ref?: pulumi.Input<string>; cidr?: string }> = [
          ...(rule.from.roles ?? []).map((r) => ({ key: r, ref: groups[r].id })),
          ...(rule.from.cidrs ?? []).map((c) => ({ key: c.replace(/[./]/g, "-"), cidr: c })),
        ];
        for (const src of sources) {
          for (const allow of rule.allow) {
            const proto = allow.protocol === "ipip" ? "4" : allow.protocol;
            for (const ports of allow.ports ?? [undefined]) {
              const [fromPort, toPort] = ports ? portRange(ports) : [undefined, undefined];
              const n = `${name}-${rule.suffix}-${to}-from-${src.key}-${allow.protocol}${ports ? "-" + ports : ""}`;
              this.rules.push(
                new aws.vpc.SecurityGroupIngressRule(
                  n,
                  {
                    securityGroupId: groups[to].id,
                    ipProtocol: proto,
                    fromPort,
                    toPort,
                    referencedSecurityGroupId: src.ref,
                    cidrIpv4: src.cidr,
                    description: rule.description,
                    tags: tags(plan.name, n),
                  },
                  parent,
                ),
              );
            }
          }
        }
      }
    }
    this.registerOutputs({});
  }
}
