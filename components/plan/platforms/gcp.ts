// GCP in the plan: one regional subnet, the internal passthrough load balancer and its
// health check. (Tags, firewall rules, scopes and the workers' identity: gcp-resources.ts.) No Pulumi imports.
import { oneSubnet } from "./layout";
import { cloudPlan, PlatformPlan } from "./platform";

/**
 * The internal LB's health check, HTTPS GET /readyz on 6443 every 2 s, 2 s timeout, down
 * after 3 failures: a dead master leaves rotation within ~6 s.
 */
export const APISERVER_HEALTH_CHECK = { path: "/readyz", checkIntervalSec: 2, timeoutSec: 2, unhealthyThreshold: 3, healthyThreshold: 2 };

export const gcpPlan: PlatformPlan = cloudPlan({
  title: "GCP",
  network: oneSubnet,
  lbTitle: "internal passthrough LB",
  check: { intervalS: APISERVER_HEALTH_CHECK.checkIntervalSec, failures: APISERVER_HEALTH_CHECK.unhealthyThreshold, timeoutS: APISERVER_HEALTH_CHECK.timeoutSec },
});
