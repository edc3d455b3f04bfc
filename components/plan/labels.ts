// Labels (GCP) and tags (AWS) that say what a machine is to the people and tools
// that read the cloud: the policy pack (policy/) finds masters and etcd members by
// them. Pure: no Pulumi imports.
import type { ClusterPlan } from "./cluster-plan";

/** Label keys on GCP machines; AWS tags are the same words with '/' ("kubeadm-ha/role", platforms/aws-resources.ts). */
export const LABEL = {
  cluster: "kubeadm-ha-cluster",
  role: "kubeadm-ha-role",
  /** "member" on machines that run an etcd member (stacked etcd: every master; external: its machines), "client" on masters of an external etcd. */
  etcd: "kubeadm-ha-etcd",
  /** "ha" or "not-ha": what the stack declared in controlPlane.highAvailability. */
  controlPlane: "kubeadm-ha-control-plane",
  /** The Kubernetes release a machine (or a worker group's template) is configured for: `v1-34-2`. */
  kubernetes: "kubeadm-ha-kubernetes",
  /** The node pool of a worker group's machines. */
  pool: "kubeadm-ha-pool",
} as const;

/** The Kubernetes node label naming a worker's pool (kubeadm's join config sets it; the pool's roll reads it). */
export const POOL_LABEL = "kubeadm-ha/pool";

/** A release as a label value (GCP label values allow no dots): `1.34.2` -> `v1-34-2`. */
export const versionLabel = (version: string) => `v${version.replace(/^v/, "").replace(/\./g, "-")}`;

/** The release a label value names: `v1-34-2` -> `1.34.2`; undefined for anything else. */
export function versionOfLabel(label: string | undefined): string | undefined {
  const m = label === undefined ? null : /^v(\d+)-(\d+)-(\d+)$/.exec(label);
  return m ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

/** Labels of a master: role, etcd member (stacked) or client (external), and the declared HA intent. */
export function masterLabels(plan: ClusterPlan): Record<string, string> {
  return {
    [LABEL.cluster]: plan.name,
    [LABEL.role]: "master",
    [LABEL.etcd]: plan.etcd.topology === "stacked" ? "member" : "client",
    [LABEL.controlPlane]: plan.config.controlPlane.highAvailability ? "ha" : "not-ha",
    [LABEL.kubernetes]: versionLabel(plan.config.kubernetes.version),
  };
}

/** Labels of an external etcd's machine: role etcd, an etcd member, the release its kubelet and etcd are on. */
export function etcdMachineLabels(plan: ClusterPlan): Record<string, string> {
  return { [LABEL.cluster]: plan.name, [LABEL.role]: "etcd", [LABEL.etcd]: "member", [LABEL.kubernetes]: versionLabel(plan.config.kubernetes.version) };
}

/** Labels of a worker group's template (GCP) or tags of its launch template (AWS, through `asAwsTags` in platforms/aws-resources.ts). */
export function workerLabels(plan: ClusterPlan, pool: string): Record<string, string> {
  return { [LABEL.cluster]: plan.name, [LABEL.role]: "worker", [LABEL.pool]: pool, [LABEL.kubernetes]: versionLabel(plan.config.kubernetes.version) };
}

/** The Cluster component's type: the policy pack reads its outputs (ControlPlaneFacts). */
export const CLUSTER_TYPE = "kubeadm-ha:index:Cluster";

/**
 * What the control plane is, as the Cluster component's outputs: the policy pack reads
 * it where no cloud machine carries labels (hosts you own).
 */
export interface ControlPlaneFacts {
  highAvailability: boolean;
  /** Where etcd runs: on the masters, or on machines of its own (then listed in etcdMachines). */
  etcd: "stacked" | "external";
  /** The release the masters are configured for. */
  kubernetesVersion: string;
  masters: Array<{ name: string; zone: string; address: string; etcdMember: boolean }>;
  /** An external etcd's machines, each a member (only with etcd: external). */
  etcdMachines?: Array<{ name: string; zone: string; address: string }>;
  /** Workers you own and the release each is configured for. */
  workers: Array<{ name: string; kubernetesVersion: string }>;
  /** etcd snapshots: on (how often, kept how long, to which kind of destination), or off and why. */
  backups: { enabled: true; every: string; keepDays: number; destination: string } | { enabled: false; offReason?: string };
  /** Secrets encrypted at rest (the provider the apiservers write with), and the audit log. */
  encryption: { enabled: boolean; provider: string };
  audit: { enabled: boolean };
}

export function controlPlaneFacts(plan: ClusterPlan): ControlPlaneFacts {
  const b = plan.config.backups;
  return {
    highAvailability: plan.config.controlPlane.highAvailability,
    etcd: plan.etcd.topology,
    kubernetesVersion: plan.config.kubernetes.version,
    masters: plan.masters.map((m) => ({ name: m.name, zone: m.zone, address: m.ip, etcdMember: plan.etcd.topology === "stacked" })),
    ...(plan.etcd.topology === "external" ? { etcdMachines: plan.etcd.members.map((e) => ({ name: e.name, zone: e.zone, address: e.ip })) } : {}),
    workers: plan.staticWorkers.map((w) => ({ name: w.name, kubernetesVersion: plan.config.kubernetes.version })),
    backups: b.enabled
      ? { enabled: true, every: b.every, keepDays: b.keepDays, destination: b.destination }
      : { enabled: false, ...(b.offReason ? { offReason: b.offReason } : {}) },
    encryption: { enabled: plan.config.kubernetes.encryption.enabled, provider: plan.config.kubernetes.encryption.provider },
    audit: { enabled: plan.config.kubernetes.audit.enabled },
  };
}
