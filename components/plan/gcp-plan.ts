// GCP-specific pure plan: tags, firewall rules and health-check tuning. No Pulumi imports.
import { ClusterPlan } from "./cluster-plan";
import { IngressRule, ingressRules, Role } from "./network-policy";

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

/** The GCP network tag of a role, e.g. prod-master. */
export function networkTag(plan: ClusterPlan, role: Role): string {
  return `${plan.name}-${role}`;
}

/** GCP firewall rules: the shared ingress policy on network tags, plus Google's health-check probers. */
export function firewallRules(plan: ClusterPlan): IngressRule[] {
  const [fromNodes, ...rest] = ingressRules(plan);
  return [
    fromNodes,
    { suffix: "apiserver-health-checks", description: "Google health-check probers to kube-apiserver /readyz", allow: [{ protocol: "tcp", ports: ["6443"] }], from: { cidrs: GCP_HEALTH_CHECK_RANGES }, to: ["master"] },
    ...rest,
  ];
}
