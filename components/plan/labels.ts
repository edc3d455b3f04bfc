// Labels (GCP) and tags (AWS) that say what a machine is to the people and tools
// that read the cloud: the policy pack (policy/) finds masters and etcd members by
// them. Pure: no Pulumi imports.
import { ClusterPlan } from "./cluster-plan";

/** Label keys on GCP machines; AWS tags are the same words with '/' ("kubeadm-ha/role"). */
export const LABEL = {
  cluster: "kubeadm-ha-cluster",
  role: "kubeadm-ha-role",
  /** "member" on machines that run an etcd member (stacked etcd: every master). */
  etcd: "kubeadm-ha-etcd",
  /** "ha" or "not-ha": what the stack declared in controlPlane.highAvailability. */
  controlPlane: "kubeadm-ha-control-plane",
} as const;

/** The AWS tag key for a label key: `kubeadm-ha-role` -> `kubeadm-ha/role`. */
export const awsTagKey = (label: string) => label.replace(/^kubeadm-ha-/, "kubeadm-ha/");

/** Labels of a master: role, stacked etcd member, and the declared HA intent. */
export function masterLabels(plan: ClusterPlan): Record<string, string> {
  return {
    [LABEL.cluster]: plan.name,
    [LABEL.role]: "master",
    [LABEL.etcd]: "member",
    [LABEL.controlPlane]: plan.config.controlPlane.highAvailability ? "ha" : "not-ha",
  };
}

/** The same labels as AWS tags (`kubeadm-ha/...` keys). */
export function asAwsTags(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [awsTagKey(k), v]));
}

/**
 * What the control plane is, as the Cluster component's outputs: the policy pack reads
 * it where no cloud machine carries labels (hosts you own).
 */
export interface ControlPlaneFacts {
  highAvailability: boolean;
  etcd: "stacked";
  masters: Array<{ name: string; zone: string; address: string; etcdMember: boolean }>;
}

export function controlPlaneFacts(plan: ClusterPlan): ControlPlaneFacts {
  return {
    highAvailability: plan.config.controlPlane.highAvailability,
    etcd: "stacked",
    masters: plan.masters.map((m) => ({ name: m.name, zone: m.zone, address: m.ip, etcdMember: true })),
  };
}
