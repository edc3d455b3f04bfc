// How the endpoint in front of the apiservers checks them, on each platform, and how long it
// takes to stop sending new connections to one whose /readyz fails. Pure; imports nothing of
// the plan, so every part of it can read these.
import type { ClusterConfig } from "../config/validate";

/**
 * haproxy (hosts you own: on the masters behind the VIP, or on every node) checks every
 * apiserver's /readyz over HTTPS every second and takes it out after 2 failures: a dead or
 * hung apiserver leaves rotation within ~2 s (Kubespray: inter 15s fall 2 = 30 s).
 */
export const PROXY_CHECK = { interMs: 1000, fall: 2, rise: 2, timeoutMs: 1000 };

/**
 * GCP: the internal LB's health check, HTTPS GET /readyz on 6443 every 2 s, 2 s timeout,
 * down after 3 failures: a dead master leaves rotation within ~6 s.
 */
export const APISERVER_HEALTH_CHECK = { path: "/readyz", checkIntervalSec: 2, timeoutSec: 2, unhealthyThreshold: 3, healthyThreshold: 2 };

/**
 * AWS: the NLB target group's health check, HTTPS GET /readyz on 6443 every 10 s, down after
 * 2 failures: a dead master leaves rotation within ~20 s (the NLB's floor is 5 s intervals
 * but AWS recommends 10 s; the default 30 s would take a minute).
 */
export const APISERVER_TARGET_HEALTH_CHECK = { protocol: "HTTPS", path: "/readyz", interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 2 };

/**
 * The longest the endpoint takes to stop sending new connections to an apiserver whose
 * /readyz fails: its check interval times the failures it counts, plus the last check's
 * timeout.
 */
export function endpointMarkDownSeconds(c: ClusterConfig): number {
  if (c.endpoint.mode !== "cloud-lb") return (PROXY_CHECK.interMs * PROXY_CHECK.fall + PROXY_CHECK.timeoutMs) / 1000;
  if (c.platform === "aws") return APISERVER_TARGET_HEALTH_CHECK.interval * APISERVER_TARGET_HEALTH_CHECK.unhealthyThreshold + APISERVER_TARGET_HEALTH_CHECK.timeout;
  return APISERVER_HEALTH_CHECK.checkIntervalSec * APISERVER_HEALTH_CHECK.unhealthyThreshold + APISERVER_HEALTH_CHECK.timeoutSec;
}
