// The external etcd cluster (kubeadm's "external etcd" topology): members on machines of
// their own, one per failure domain, each set up with kubeadm's etcd phases (its kubelet runs
// the member as a static pod, as kubeadm's "Set up a High Availability etcd Cluster" guide
// does), and every apiserver pointed at all of them with a client certificate. Members join
// one at a time: the first starts the cluster alone, each next one is added as a learner by a
// member already in it and starts with the members before it, and is promoted once it has
// caught up. Pure: names, addresses, URLs, the order of joins and the kubeadm configs.
import { SubnetPlan, zonalPlace } from "./cluster-plan";
import { args, ETCD_TIMING, KUBEADM_API, yamlDocs } from "./kubeadm";
import { ETCD_PEER_PORT } from "./scripts";

export { zonesHoldingQuorum } from "../config/quorum";

/** Member n of a cloud cluster sits at this host number of its subnet (+n on GCP, +n/zones on AWS). */
export const FIRST_ETCD_HOST_NUMBER = 20;
export const ETCD_CLIENT_PORT = 2379;

/** What the apiservers are given to reach the external cluster (kubeadm's etcd.external). */
export const EXTERNAL_ETCD_CLIENT = {
  caFile: "/etc/kubernetes/pki/etcd/ca.crt",
  certFile: "/etc/kubernetes/pki/apiserver-etcd-client.crt",
  keyFile: "/etc/kubernetes/pki/apiserver-etcd-client.key",
};

export interface EtcdMemberPlan {
  /** 0-based; member 0 starts the cluster when no member of the stack holds one yet. */
  index: number;
  /** Machine name and etcd member name, e.g. prod-etcd-0. */
  name: string;
  zone: string;
  /** Fixed internal address: peer and client URLs and the member's certificates carry it. */
  ip: string;
  subnet: string;
  /** Hosts you own: what identifies the machine at this address. */
  machine?: string;
}

export interface EtcdPlacement {
  cluster: string;
  platform: "gcp" | "aws" | "static";
  zones: string[];
  subnets: SubnetPlan[];
  /** Cloud members (hosts you own list theirs). */
  count: number;
  hosts?: ReadonlyArray<{ name: string; address: string; zone: string; machine?: string }>;
}

/** Where each member runs: hosts you own as listed; cloud members round-robin over the zones. */
export function placeEtcdMembers(p: EtcdPlacement): EtcdMemberPlan[] {
  if (p.hosts) return p.hosts.map((h, index) => ({ index, name: h.name, zone: h.zone, ip: h.address, subnet: p.subnets[0].name, ...(h.machine ? { machine: h.machine } : {}) }));
  return Array.from({ length: p.count }, (_, index) => ({ index, name: `${p.cluster}-etcd-${index}`, ...zonalPlace({ aws: p.platform === "aws", zones: p.zones, subnets: p.subnets }, index, FIRST_ETCD_HOST_NUMBER) }));
}

export const peerUrl = (m: EtcdMemberPlan) => `https://${m.ip}:${ETCD_PEER_PORT}`;
export const clientUrl = (m: EtcdMemberPlan) => `https://${m.ip}:${ETCD_CLIENT_PORT}`;

/** etcd's --initial-cluster: `name=peer-url,...`. */
export function initialCluster(members: EtcdMemberPlan[]): string {
  return members.map((m) => `${m.name}=${peerUrl(m)}`).join(",");
}

/** The members a member starts with (those before it and itself) and whether it starts the cluster or joins it. */
export function joinOf(members: EtcdMemberPlan[], member: EtcdMemberPlan): { with: EtcdMemberPlan[]; state: "new" | "existing" } {
  const upTo = members.filter((m) => m.index <= member.index);
  return { with: upTo, state: member.index === 0 ? "new" : "existing" };
}

/** The apiservers' view of the external cluster: every member's client URL and the client files. */
export function externalEtcd(members: EtcdMemberPlan[]) {
  return { endpoints: members.map(clientUrl), ...EXTERNAL_ETCD_CLIENT };
}

export interface EtcdMemberConfigInput {
  clusterName: string;
  kubernetesVersion: string;
  certificateValidity: string;
  members: EtcdMemberPlan[];
  member: EtcdMemberPlan;
}

/**
 * The kubeadm config a member's certificates (`kubeadm init phase certs etcd-server`,
 * `etcd-peer`, `etcd-healthcheck-client`) and static pod (`kubeadm init phase etcd local`)
 * are made from: its name and address in the certificates' SANs, and the members it starts
 * with. The member listens on its address and on loopback (its own health checks).
 */
export function etcdMemberConfig(i: EtcdMemberConfigInput): string {
  const m = i.member;
  const join = joinOf(i.members, m);
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
            "initial-cluster": initialCluster(join.with),
            "initial-cluster-state": join.state,
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
