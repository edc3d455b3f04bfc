// kubeadm v1beta4 configuration files. Pure: values in, YAML out.
// The bootstrap token never appears here: files carry TOKEN_PLACEHOLDER and the
// machine substitutes the secret from a root-only file at the last moment, so
// the configs stay reviewable in `pulumi preview` and in the render.
import { stringify } from "yaml";
import { APISERVER_PORT, ClusterPlan, MasterPlan, ZONE_LABEL } from "./cluster-plan";
import { ClusterConfig, ResolvedNodePool } from "../config/validate";
import { apiserverArgs, apiserverMounts } from "./apiserver-flags";
import { clientUrl, EtcdMemberPlan, ETCD_CLIENT_PORT, externalEtcd, INITIAL_CLUSTER_PLACEHOLDER, INITIAL_CLUSTER_STATE_PLACEHOLDER, peerUrl } from "./etcd-cluster";
import { POOL_LABEL } from "./labels";

export const TOKEN_PLACEHOLDER = "@@KUBEADM_HA_BOOTSTRAP_TOKEN@@";
export const KUBEADM_API = "kubeadm.k8s.io/v1beta4";
export const CRI_SOCKET = "unix:///run/containerd/containerd.sock";
/** Leader election of scheduler and controller-manager (upstream defaults, set explicitly). */
export const LEADER_ELECTION = { leaseDuration: "15s", renewDeadline: "10s", retryPeriod: "2s" };
/** etcd timing (upstream defaults, set explicitly so a review sees them). */
export const ETCD_TIMING = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 };
/** Where the machine keeps the files the bootstrap writes. */
export const KUBEADM_HA_DIR = "/etc/kubeadm-ha";
export const TOKEN_FILE = `${KUBEADM_HA_DIR}/secrets/bootstrap-token`;
/** Every bootstrap token this program makes carries this description; only such tokens are ever deleted (bootstrap-token.ts). */
export const TOKEN_DESCRIPTION = "kubeadm-ha: nodes join with this token; pulumi up rotates it";
export const TOKEN_GROUPS = ["system:bootstrappers:kubeadm:default-node-token"];
export const TOKEN_USAGES = ["signing", "authentication"];

type Arg = { name: string; value: string };
/** kubeadm's extraArgs list from a map. */
export const args = (o: Record<string, string>): Arg[] => Object.entries(o).map(([name, value]) => ({ name, value }));

export function yamlDocs(docs: object[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}

function leaderElectionArgs(): Arg[] {
  return args({
    "leader-elect": "true",
    "leader-elect-lease-duration": LEADER_ELECTION.leaseDuration,
    "leader-elect-renew-deadline": LEADER_ELECTION.renewDeadline,
    "leader-elect-retry-period": LEADER_ELECTION.retryPeriod,
  });
}

/** kube-controller-manager's node monitor, where the stack sets it. */
function nodeMonitorArgs(plan: ClusterPlan): Record<string, string> {
  const grace = plan.config.kubernetes.controllerManager.nodeMonitorGracePeriodSeconds;
  return grace === undefined ? {} : { "node-monitor-grace-period": `${grace}s` };
}

/**
 * The cluster's kubelet settings, in the init config only: kubeadm uploads them as the
 * `kubelet-config` ConfigMap that every joining kubelet takes, and ignores a
 * KubeletConfiguration in a join config (kubeadm 1.34 says so and decodes nothing of it).
 */
export function kubeletConfiguration(plan: ClusterPlan) {
  const k = plan.config.kubernetes.kubelet;
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    cgroupDriver: "systemd",
    serverTLSBootstrap: false,
    ...(k.allowCgroupV1 ? { failCgroupV1: false } : {}),
    ...(k.evictionHard ? { evictionHard: k.evictionHard } : {}),
    ...(k.imageGCHighThresholdPercent !== undefined
      ? { imageGCHighThresholdPercent: k.imageGCHighThresholdPercent, imageGCLowThresholdPercent: Math.min(80, k.imageGCHighThresholdPercent - 1) }
      : {}),
  };
}

/** kube-proxy's settings, when the stack changes any (kubeadm uploads them as the kube-proxy ConfigMap). */
function kubeProxyConfiguration(plan: ClusterPlan): object[] {
  const p = plan.config.kubernetes.kubeProxy;
  if (p.conntrackMaxPerCore === undefined) return [];
  return [{ apiVersion: "kubeproxy.config.k8s.io/v1alpha1", kind: "KubeProxyConfiguration", conntrack: { maxPerCore: p.conntrackMaxPerCore } }];
}

/**
 * Labels a kubelet registers with: its zone only. Labels a user may change later (hosts'
 * own labels) are set by the labels step, so changing one changes that step alone.
 */
export function registrationLabels(zone: string): Record<string, string> {
  return { [ZONE_LABEL]: zone };
}

/** The first minor whose kubelet refuses cgroup v1 unless told (KEP-5573), and whose kubeadm's preflight fails on it. */
export const CGROUP_V1_REFUSED_MINOR = 35;

/**
 * kubeadm preflight checks a stack skips, by name: on hosts that have cgroup v1 only
 * (kubelet.allowCgroupV1, so the kubelet runs with failCgroupV1: false), SystemVerification
 * from 1.35 on, whose cgroup check fails there and which kubeadm says to skip explicitly.
 * kubeadm upgrade checks the kubelet of the release it goes to, so the same holds for the
 * upgrade to such a release.
 */
export function skippedPreflightChecks(c: ClusterConfig): string[] {
  const minor = Number(c.kubernetes.version.split(".")[1]);
  return c.kubernetes.kubelet.allowCgroupV1 && minor >= CGROUP_V1_REFUSED_MINOR ? ["SystemVerification"] : [];
}

function nodeRegistration(c: ClusterConfig, name: string, ip: string, extra: { labels?: Record<string, string>; taints?: ResolvedNodePool["taints"] } = {}) {
  const kubeletArgs: Record<string, string> = { "node-ip": ip };
  const labels = Object.entries(extra.labels ?? {});
  if (labels.length) kubeletArgs["node-labels"] = labels.map(([k, v]) => `${k}=${v}`).join(",");
  return {
    name,
    criSocket: CRI_SOCKET,
    kubeletExtraArgs: args(kubeletArgs),
    ...(skippedPreflightChecks(c).length ? { ignorePreflightErrors: skippedPreflightChecks(c) } : {}),
    ...(extra.taints ? { taints: extra.taints.map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect })) } : {}),
  };
}

/** ClusterConfiguration shared by init and the in-cluster kubeadm-config ConfigMap. */
export function clusterConfiguration(plan: ClusterPlan) {
  const c = plan.config;
  return {
    apiVersion: KUBEADM_API,
    kind: "ClusterConfiguration",
    clusterName: plan.name,
    kubernetesVersion: `v${c.kubernetes.version}`,
    // Leaf certificates kubeadm issues (init, joins, renewals, upgrades); the CAs are the program's.
    certificateValidityPeriod: c.kubernetes.certificates.validity,
    controlPlaneEndpoint: plan.endpoint.hostPort,
    certificatesDir: "/etc/kubernetes/pki",
    encryptionAlgorithm: "ECDSA-P256",
    networking: { podSubnet: c.network.podCidr, serviceSubnet: c.network.serviceCidr, dnsDomain: "cluster.local" },
    apiServer: {
      certSANs: plan.apiServerSans,
      extraArgs: args(apiserverArgs(c)),
      extraVolumes: apiserverMounts(c),
    },
    controllerManager: { extraArgs: [...leaderElectionArgs(), ...args({ profiling: "false", ...nodeMonitorArgs(plan) })] },
    scheduler: { extraArgs: [...leaderElectionArgs(), ...args({ profiling: "false" })] },
    // Stacked: kubeadm runs a member on every master. External: every apiserver is given every
    // member's client URL, with the etcd CA and its own client certificate (etcd-cluster.ts).
    etcd:
      plan.etcd.topology === "external"
        ? { external: externalEtcd(plan.etcd.members) }
        : {
            local: {
              dataDir: "/var/lib/etcd",
              extraArgs: args({
                "heartbeat-interval": String(ETCD_TIMING.heartbeatIntervalMs),
                "election-timeout": String(ETCD_TIMING.electionTimeoutMs),
              }),
            },
          },
  };
}

/** `kubeadm init --config` for master-0. */
export function initConfig(plan: ClusterPlan, master: MasterPlan): string {
  return yamlDocs([
    {
      apiVersion: KUBEADM_API,
      kind: "InitConfiguration",
      bootstrapTokens: [
        {
          token: TOKEN_PLACEHOLDER,
          description: TOKEN_DESCRIPTION,
          // Finite: `pulumi up` rotates it once half of its lifetime has passed (bootstrap-token.ts).
          ttl: plan.config.kubernetes.bootstrapToken.ttl,
          usages: TOKEN_USAGES,
          groups: TOKEN_GROUPS,
        },
      ],
      localAPIEndpoint: { advertiseAddress: master.ip, bindPort: APISERVER_PORT },
      nodeRegistration: nodeRegistration(plan.config, master.name, master.ip, { labels: registrationLabels(master.zone) }),
    },
    clusterConfiguration(plan),
    kubeletConfiguration(plan),
    ...kubeProxyConfiguration(plan),
  ]);
}

/** `kubeadm join --config` for master-1.. : the shared PKI is already in place, so no certificate key. */
export function controlPlaneJoinConfig(plan: ClusterPlan, master: MasterPlan, caCertHash: string): string {
  return yamlDocs([
    {
      apiVersion: KUBEADM_API,
      kind: "JoinConfiguration",
      discovery: { bootstrapToken: { apiServerEndpoint: plan.endpoint.hostPort, token: TOKEN_PLACEHOLDER, caCertHashes: [caCertHash] } },
      nodeRegistration: nodeRegistration(plan.config, master.name, master.ip, { labels: registrationLabels(master.zone) }),
      controlPlane: { localAPIEndpoint: { advertiseAddress: master.ip, bindPort: APISERVER_PORT } },
    },
  ]);
}

/**
 * The config `kubeadm certs renew` and `check-expiration` read on a master (certificates.ts):
 * the cluster's own, so renewals issue certificates of the stack's validity, and readable
 * without the apiserver, so certificates that already expired can still be renewed.
 */
export function certificatesConfig(plan: ClusterPlan, master: MasterPlan): string {
  return yamlDocs([
    {
      apiVersion: KUBEADM_API,
      kind: "InitConfiguration",
      localAPIEndpoint: { advertiseAddress: master.ip, bindPort: APISERVER_PORT },
      nodeRegistration: { name: master.name, criSocket: CRI_SOCKET },
    },
    clusterConfiguration(plan),
  ]);
}

/** Marker in the worker join config that the boot script replaces with the VM's own name and address. */
export const NODE_NAME_PLACEHOLDER = "@@KUBEADM_HA_NODE_NAME@@";
export const NODE_IP_PLACEHOLDER = "@@KUBEADM_HA_NODE_IP@@";

/** `kubeadm join --config` for the workers of one pool (name and address filled in on the VM). */
export function workerJoinConfig(plan: ClusterPlan, pool: Pick<ResolvedNodePool, "name" | "labels" | "taints">, caCertHash: string): string {
  return yamlDocs([
    {
      apiVersion: KUBEADM_API,
      kind: "JoinConfiguration",
      discovery: { bootstrapToken: { apiServerEndpoint: plan.endpoint.hostPort, token: TOKEN_PLACEHOLDER, caCertHashes: [caCertHash] } },
      nodeRegistration: nodeRegistration(plan.config, NODE_NAME_PLACEHOLDER, NODE_IP_PLACEHOLDER, {
        labels: { [POOL_LABEL]: pool.name, ...pool.labels },
        taints: pool.taints,
      }),
    },
  ]);
}

export interface EtcdMemberConfigInput {
  clusterName: string;
  kubernetesVersion: string;
  certificateValidity: string;
  member: EtcdMemberPlan;
}

/**
 * The kubeadm config a member's certificates (`kubeadm init phase certs etcd-server`,
 * `etcd-peer`, `etcd-healthcheck-client`) and static pod (`kubeadm init phase etcd local`)
 * are made from: its name and address in the certificates' SANs; the members it starts with
 * and the cluster's state as placeholders its member script fills in. The member listens on
 * its address and on loopback (its own health checks).
 */
export function etcdMemberConfig(i: EtcdMemberConfigInput): string {
  const m = i.member;
  return yamlDocs([
    {
      apiVersion: KUBEADM_API,
      kind: "InitConfiguration",
      localAPIEndpoint: { advertiseAddress: m.ip },
      nodeRegistration: { name: m.name },
    },
    {
      apiVersion: KUBEADM_API,
      kind: "ClusterConfiguration",
      clusterName: i.clusterName,
      kubernetesVersion: `v${i.kubernetesVersion}`,
      certificateValidityPeriod: i.certificateValidity,
      certificatesDir: "/etc/kubernetes/pki",
      encryptionAlgorithm: "ECDSA-P256",
      etcd: {
        local: {
          dataDir: "/var/lib/etcd",
          serverCertSANs: [m.ip, m.name],
          peerCertSANs: [m.ip, m.name],
          extraArgs: args({
            name: m.name,
            "initial-cluster": INITIAL_CLUSTER_PLACEHOLDER,
            "initial-cluster-state": INITIAL_CLUSTER_STATE_PLACEHOLDER,
            "initial-advertise-peer-urls": peerUrl(m),
            "listen-peer-urls": peerUrl(m),
            "advertise-client-urls": clientUrl(m),
            "listen-client-urls": `${clientUrl(m)},https://127.0.0.1:${ETCD_CLIENT_PORT}`,
            "heartbeat-interval": String(ETCD_TIMING.heartbeatIntervalMs),
            "election-timeout": String(ETCD_TIMING.electionTimeoutMs),
          }),
        },
      },
    },
  ]);
}
