// What the cluster's plan, the render's picture and the endpoint's timings need of a
// platform: one object per platform (gcp.ts, aws.ts, static.ts) behind this interface. No
// Pulumi imports.
import type { ClusterPlan } from "../cluster-plan";
import type { NetworkLayout } from "./layout";

export interface PlatformPlan {
  network: NetworkLayout;
  /** The cloud's internal load balancer in front of the apiservers (endpoint mode cloud-lb); none on hosts you own. */
  loadBalancer?: {
    /** As the picture names it. */
    title: string;
    /** The longest it takes to stop sending new connections to an apiserver whose /readyz fails: interval x failures + the last check's timeout. */
    markDownSeconds: number;
  };
  /** How the render's picture names the cluster's place and its failure domains. */
  picture: {
    /** e.g. "GCP europe-west1", "hosts you own". */
    where(region: string): string;
    /** What a zone is called: "zone", "failure domain". */
    failureDomain: string;
    /** The bastion's label, if there is one. */
    bastion(plan: ClusterPlan): string | undefined;
  };
}

/**
 * A cloud's plan: its network, its internal load balancer (named `lbTitle`, whose health check
 * probes every `intervalS`, waits `timeoutS` and counts `failures` before marking an apiserver
 * down), and a picture that names the cloud (`title`) and its region, zones, and the bastion
 * the program makes.
 */
export function cloudPlan(a: { title: string; network: NetworkLayout; lbTitle: string; check: { intervalS: number; failures: number; timeoutS: number } }): PlatformPlan {
  return {
    network: a.network,
    loadBalancer: { title: a.lbTitle, markDownSeconds: a.check.intervalS * a.check.failures + a.check.timeoutS },
    picture: {
      where: (region) => `${a.title} ${region}`,
      failureDomain: "zone",
      bastion: (plan) => `${plan.bastion.name}${plan.bastion.ip ? ` ${plan.bastion.ip}` : ""}\nSSH from admin CIDRs`,
    },
  };
}
