// What GCP's components need of the plan: network tags, firewall rules, service-account scopes,
// the token's secret and how a worker learns its name, address and token. No Pulumi imports.
// (Not in gcp.ts, which the cluster plan loads: these read the network policy, which reads the plan.)
import { ClusterConfig } from "../../config/validate";
import { ClusterPlan } from "../cluster-plan";
import { IngressRule, ingressRules, Role } from "../network-policy";

/**
 * The types of GCP's resources that the render and the policy pack read: machines, their
 * templates, firewall rules, health checks, and the component of the apiserver's load balancer
 * (test/gcp.test.ts holds them to the provider's classes).
 */
export const GCP_TYPES = {
  instance: "gcp:compute/instance:Instance",
  template: "gcp:compute/instanceTemplate:InstanceTemplate",
  firewall: "gcp:compute/firewall:Firewall",
  healthChecks: ["gcp:compute/regionHealthCheck:RegionHealthCheck", "gcp:compute/healthCheck:HealthCheck"],
  apiserverLb: "kubeadm-ha:gcp:ApiServerLoadBalancer",
} as const;

/** Google's health-check probers; the apiserver firewall must admit them. */
export const GCP_HEALTH_CHECK_RANGES = ["35.191.0.0/16", "130.211.0.0/22"];

/** Scopes of the VMs' service accounts: write logs and metrics, nothing else. */
export const NODE_SCOPES = ["https://www.googleapis.com/auth/logging.write", "https://www.googleapis.com/auth/monitoring.write"];
/** Scopes of the workers' service account: also Secret Manager (IAM grants it one secret only: the bootstrap token). */
/** Scopes of the masters' service account: also Cloud Storage, when they write etcd snapshots to the bucket (IAM grants object creation on it alone). */
export function masterScopes(c: ClusterConfig): string[] {
  return c.backups.enabled && c.backups.destination === "bucket" ? [...NODE_SCOPES, "https://www.googleapis.com/auth/devstorage.read_write"] : NODE_SCOPES;
}
export const WORKER_SCOPES = [...NODE_SCOPES, "https://www.googleapis.com/auth/cloud-platform"];

/** The Secret Manager secret holding the bootstrap token; the workers' service account may read it, nothing else may. */
export function tokenSecretId(plan: ClusterPlan): string {
  return `${plan.name}-bootstrap-token`;
}

/** The systemd unit on GCP workers that keeps pods away from the metadata server. */
export const CONCEAL_METADATA_UNIT = "kubeadm-ha-conceal-metadata.service";
const METADATA_ADDRESS = "169.254.169.254";

/**
 * How a GCP worker learns its name, address and the token: the metadata server for the
 * first two, Secret Manager (read with the worker's own service account) for the token,
 * which is never in instance metadata. Pods never reach the metadata server: it hands out
 * the node's service-account token, with which they could read the secret too (as AWS's
 * hop limit of 1 keeps pods from IMDS). Before the token is read, a unit on the worker
 * drops pod traffic to it (raw table, ahead of any CNI's rules), at every boot.
 */
export function gcpInstanceIdentity(plan: ClusterPlan) {
  const drop = `-s ${plan.config.network.podCidr} -d ${METADATA_ADDRESS}/32 -j DROP`;
  return {
    prelude: `metadata() {
  curl -fsS -H 'Metadata-Flavor: Google' "http://metadata.google.internal/computeMetadata/v1/$1"
}
conceal_metadata() {
  cat > "\${KUBEADM_HA_SYSTEMD_DIR:-/etc/systemd/system}/${CONCEAL_METADATA_UNIT}" <<'UNIT'
[Unit]
Description=kubeadm-ha: pods never reach the GCP metadata server (it hands out the node's credentials)
Before=kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'iptables -t raw -C PREROUTING ${drop} 2>/dev/null || iptables -t raw -I PREROUTING ${drop}'

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now ${CONCEAL_METADATA_UNIT}
}
secret_token() {
  local project access
  conceal_metadata
  project="$(metadata project/project-id)"
  access="$(metadata instance/service-accounts/default/token | jq -r .access_token)"
  # The access token goes to curl on standard input, never on its command line.
  curl -fsS -H @- "https://secretmanager.googleapis.com/v1/projects/\${project}/secrets/${tokenSecretId(plan)}/versions/latest:access" <<<"Authorization: Bearer \${access}" |
    jq -r .payload.data | base64 -d
}
`,
    name: "metadata instance/name",
    ip: "metadata instance/network-interfaces/0/ip",
    token: "secret_token",
  };
}

/** The GCP network tag of a role, e.g. prod-master. */
export function networkTag(plan: ClusterPlan, role: Role): string {
  return `${plan.name}-${role}`;
}

/** GCP firewall rules: the shared ingress policy on network tags, plus Google's health-check probers. */
export function firewallRules(plan: ClusterPlan): IngressRule[] {
  const [fromNodes, ...rest] = ingressRules(plan);
  return [
    fromNodes,
    {
      suffix: "apiserver-health-checks",
      description: "Google health-check probers to kube-apiserver /readyz",
      allow: [{ protocol: "tcp", ports: ["6443"] }],
      from: { cidrs: GCP_HEALTH_CHECK_RANGES },
      to: ["master"],
    },
    ...rest,
  ];
}
