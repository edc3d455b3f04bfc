// GCP-specific pure plan: tags, firewall rules and health-check tuning. No Pulumi imports.
import { ClusterPlan } from "./cluster-plan";

/** Google's health-check probers; the apiserver firewall must admit them. */
export const GCP_HEALTH_CHECK_RANGES = ["35.191.0.0/16", "130.211.0.0/22"];

/**
 * apiserver health check of the internal LB: HTTPS GET /readyz on 6443 every 2 s,
 * 2 s timeout, down after 3 failures: a dead master leaves rotation within ~6 s.
 */
export const APISERVER_HEALTH_CHECK = { path: "/readyz", checkIntervalSec: 2, timeoutSec: 2, unhealthyThreshold: 3, healthyThreshold: 2 };
/** Worst-case seconds before a dead master is marked down. */
export const APISERVER_MARK_DOWN_SECONDS = APISERVER_HEALTH_CHECK.checkIntervalSec * APISERVER_HEALTH_CHECK.unhealthyThreshold;

/** Scopes of the VMs' service accounts: write logs and metrics, nothing else. */
export const NODE_SCOPES = ["https://www.googleapis.com/auth/logging.write", "https://www.googleapis.com/auth/monitoring.write"];

export interface NetworkTags {
  master: string;
  worker: string;
  bastion: string;
}

export function networkTags(plan: ClusterPlan): NetworkTags {
  return { master: `${plan.name}-master`, worker: `${plan.name}-worker`, bastion: `${plan.name}-bastion` };
}

export interface FirewallRulePlan {
  /** Suffix of the rule's name (`<cluster>-<suffix>`). */
  suffix: string;
  description: string;
  allow: Array<{ protocol: string; ports?: string[] }>;
  sourceRanges?: string[];
  sourceTags?: string[];
  targetTags: string[];
}

/** Least-privilege ingress: everything not listed here is denied by the VPC's implied rule. */
export function firewallRules(plan: ClusterPlan): FirewallRulePlan[] {
  const t = networkTags(plan);
  const nodes = [t.master, t.worker];
  const cni = plan.config.kubernetes.cni.name;
  const rules: FirewallRulePlan[] = [
    { suffix: "apiserver-from-nodes", description: "kube-apiserver from nodes and the bastion (through the internal LB or directly)", allow: [{ protocol: "tcp", ports: ["6443"] }], sourceTags: [t.master, t.worker, t.bastion], targetTags: [t.master] },
    { suffix: "apiserver-health-checks", description: "Google health-check probers to kube-apiserver /readyz", allow: [{ protocol: "tcp", ports: ["6443"] }], sourceRanges: GCP_HEALTH_CHECK_RANGES, targetTags: [t.master] },
    { suffix: "etcd", description: "etcd client and peer traffic between masters only", allow: [{ protocol: "tcp", ports: ["2379-2380"] }], sourceTags: [t.master], targetTags: [t.master] },
    { suffix: "kubelet", description: "kubelet API from masters (logs, exec, port-forward)", allow: [{ protocol: "tcp", ports: ["10250"] }], sourceTags: [t.master], targetTags: nodes },
    { suffix: "ssh-from-bastion", description: "SSH to nodes only from the bastion", allow: [{ protocol: "tcp", ports: ["22"] }], sourceTags: [t.bastion], targetTags: nodes },
    { suffix: "ssh-to-bastion", description: "SSH to the bastion only from the admin CIDRs", allow: [{ protocol: "tcp", ports: ["22"] }], sourceRanges: [...plan.config.adminCidrs], targetTags: [t.bastion] },
  ];
  if (cni === "calico") rules.push({ suffix: "cni", description: "Calico between nodes: IP-in-IP pod traffic and BGP", allow: [{ protocol: "ipip" }, { protocol: "tcp", ports: ["179"] }], sourceTags: nodes, targetTags: nodes });
  if (cni === "flannel") rules.push({ suffix: "cni", description: "flannel VXLAN pod traffic between nodes", allow: [{ protocol: "udp", ports: ["8472"] }], sourceTags: nodes, targetTags: nodes });
  return rules;
}
