// AWS's resources in the render: load balancer and target group names, and boot configs in
// instances' user data and launch templates' (base64) user data.
import { AWS_LB_NAME_MAX } from "../../components/plan/platforms/aws-resources";
import { isSecret, plain, UNKNOWN_VALUE } from "../wire";
import type { RenderPlatform } from "./platform";

const LB_NAMED = ["aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"];
const INSTANCE = "aws:ec2/instance:Instance";
const TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

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
    if (r.type !== INSTANCE && r.type !== TEMPLATE) return undefined;
    const template = r.type === TEMPLATE;
    const machine = template ? String(plain(r.rawInputs.namePrefix)).replace(/-$/, "") : String((plain(r.rawInputs.tags) as Record<string, string> | undefined)?.Name ?? r.name);
    const userData = r.rawInputs.userData;
    if (userData === undefined || userData === UNKNOWN_VALUE) return undefined;
    const text = template ? Buffer.from(String(plain(userData)), "base64").toString("utf8") : String(plain(userData));
    return { machine, text, secret: isSecret(userData) };
  },
};
