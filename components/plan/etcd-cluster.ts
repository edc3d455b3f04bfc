// The external etcd cluster (kubeadm's "external etcd" topology): members on machines of
// their own, one per failure domain, each set up with kubeadm's etcd phases (its kubelet runs
// the member as a static pod, as kubeadm's "Set up a High Availability etcd Cluster" guide
// does), and every apiserver pointed at all of them with a client certificate. Members join
// one at a time: the first starts the cluster alone, each next one is added as a learner by a
// member already in it and starts with the members the cluster then has, and is promoted once it has
// caught up. Pure, and a leaf: its ports, URLs and files, for the plan (cluster-plan.ts places
// the members, kubeadm.ts writes their configs, etcd-member.ts their script).

export { zonesHoldingQuorum } from "../config/quorum";

/** Member n of a cloud cluster sits at this host number of its subnet (+n on GCP, +n/zones on AWS). */
export const FIRST_ETCD_HOST_NUMBER = 20;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

/** What the apiservers are given to reach the external cluster (kubeadm's etcd.external). */
export const EXTERNAL_ETCD_CLIENT = {
  caFile: "/etc/kubernetes/pki/etcd/ca.crt",
  certFile: "/etc/kubernetes/pki/apiserver-etcd-client.crt",
  keyFile: "/etc/kubernetes/pki/apiserver-etcd-client.key",
};

/**
 * Whom a member starts with, and whether it starts the cluster, are known on the machine only,
 * when it joins: the members the cluster has then (etcd refuses an --initial-cluster that
 * differs from them). The member script (etcd-member.ts) fills these in.
 */
export const INITIAL_CLUSTER_PLACEHOLDER = "@@ETCD_INITIAL_CLUSTER@@";
export const INITIAL_CLUSTER_STATE_PLACEHOLDER = "@@ETCD_INITIAL_CLUSTER_STATE@@";

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

export const peerUrl = (m: EtcdMemberPlan) => `https://${m.ip}:${ETCD_PEER_PORT}`;
export const clientUrl = (m: EtcdMemberPlan) => `https://${m.ip}:${ETCD_CLIENT_PORT}`;

/** The apiservers' view of the external cluster: every member's client URL and the client files. */
export function externalEtcd(members: EtcdMemberPlan[]) {
  return { endpoints: members.map(clientUrl), ...EXTERNAL_ETCD_CLIENT };
}
