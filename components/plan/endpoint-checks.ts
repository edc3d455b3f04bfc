// How the endpoint in front of the apiservers checks them, on each platform, and how long it
// takes to stop sending new connections to one whose /readyz fails. Pure; imports only the
// platforms' part of the plan (a cloud's load balancer checks as its module says), so every
// part of the plan can read these.
import type { ClusterConfig } from "../config/validate";
import { PLATFORM_PLANS } from "./platforms";

/**
 * haproxy (hosts you own: on the masters behind the VIP, or on every node) checks every
 * apiserver's /readyz over HTTPS every second and takes it out after 2 failures: a dead or
 * hung apiserver leaves rotation within ~2 s (Kubespray: inter 15s fall 2 = 30 s).
 */
export const PROXY_CHECK = { interMs: 1000, fall: 2, rise: 2, timeoutMs: 1000 };

export { APISERVER_HEALTH_CHECK } from "./platforms/gcp";
export { APISERVER_TARGET_HEALTH_CHECK } from "./platforms/aws";

/**
 * The longest the endpoint takes to stop sending new connections to an apiserver whose
 * /readyz fails: its check interval times the failures it counts, plus the last check's
 * timeout.
 */
export function endpointMarkDownSeconds(c: ClusterConfig): number {
  const lb = PLATFORM_PLANS[c.platform].loadBalancer;
  if (c.endpoint.mode !== "cloud-lb" || !lb) return (PROXY_CHECK.interMs * PROXY_CHECK.fall + PROXY_CHECK.timeoutMs) / 1000;
  return lb.markDownSeconds;
}
