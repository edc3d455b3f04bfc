// What a cluster settles when it is made and cannot change while it runs, not even one
// master at a time: its name, platform and region, its networks, its apiserver endpoint,
// its CNI. The program records them as the stack output `settled`; on the next `pulumi up`
// or preview it reads them back (the stack's own last outputs) and refuses a change to any
// of them, naming the key, both values, why, and the safe way, before any resource is
// registered. Pure.
import { ClusterConfig, ConfigProblem } from "./validate";
import { NAMESPACE } from "./schema";

/** The stack output holding the settled values. */
export const SETTLED_OUTPUT = "settled";

interface Settled {
  /** Key under the namespace, as the stack file spells it. */
  key: string;
  value: (c: ClusterConfig) => string | undefined;
  /** Why it cannot change on a running cluster. */
  why: string;
}

const NEW_CLUSTER = "build a cluster with the new value in a new stack beside this one and move the workloads over (or `pulumi destroy` this stack first, losing its data)";

const SETTLED: Settled[] = [
  {
    key: "clusterName",
    value: (c) => c.clusterName,
    why: "every resource's name comes from it: a new name makes a second cluster and deletes this one, every master and etcd's data at once",
  },
  { key: "platform", value: (c) => c.platform, why: "every machine would be replaced at once, on another platform" },
  { key: "region", value: (c) => c.region, why: "every machine and network would be replaced at once, in another region" },
  {
    key: "network.nodeCidr",
    value: (c) => c.network.nodeCidr,
    why: "the masters' addresses (etcd's peer URLs, the certificates) and the subnets come from it: every master would be replaced at once",
  },
  {
    key: "network.podCidr",
    value: (c) => c.network.podCidr,
    why: "each node's pod range is cut from it when the node joins, and running pods keep their addresses: old and new ranges would overlap in routing",
  },
  {
    key: "network.serviceCidr",
    value: (c) => c.network.serviceCidr,
    why: "every Service's cluster IP, the apiserver certificate's service address and every kubelet's cluster DNS address come from it",
  },
  { key: "endpoint.mode", value: (c) => c.endpoint.mode, why: "every kubelet, kube-proxy and kubeconfig reaches the apiserver through the endpoint it was given at its join" },
  {
    key: "endpoint.name",
    value: (c) => c.endpoint.name,
    why: "every kubelet, kube-proxy and kubeconfig names the endpoint it was given at its join, and the apiserver certificate carries it",
  },
  {
    key: "endpoint.vip",
    value: (c) => c.endpoint.vip,
    why: "every node reaches the apiserver through the address it was given at its join, and the apiserver certificate carries it",
  },
  {
    key: "etcd.topology",
    value: (c) => c.etcd.topology,
    why: "the cluster's every object is in the etcd it was made with: moving it between the masters and machines of its own is a migration of the data, not a change of config",
  },
  {
    key: "kubernetes.cni.name",
    value: (c) => c.kubernetes.cni.name,
    why: "running pods are wired by the CNI they started with: a second CNI leaves them unreachable until each node is rebuilt",
  },
];

/** The values to record (the `settled` stack output): key → value, unset keys left out. */
export function settledOf(config: ClusterConfig): Record<string, string> {
  return Object.fromEntries(SETTLED.flatMap((s) => (s.value(config) === undefined ? [] : [[s.key, s.value(config)!]])));
}

/**
 * The problems of a config that changes what the last `pulumi up` settled (`previous`, its
 * `settled` output; none when the stack has not been up yet, or was up before the output
 * existed).
 */
export function settledChanges(previous: unknown, config: ClusterConfig): ConfigProblem[] {
  if (!previous || typeof previous !== "object") return [];
  const before = previous as Record<string, unknown>;
  const now = settledOf(config);
  return SETTLED.filter((s) => s.key in before && before[s.key] !== now[s.key]).map((s) => {
    const was = String(before[s.key]);
    const is = now[s.key] === undefined ? "unset" : JSON.stringify(now[s.key]);
    return {
      key: `${NAMESPACE}:${s.key}`,
      message: `is ${is}, but this cluster was made with ${JSON.stringify(was)} and cannot change it while it runs, not even one master at a time: ${s.why}`,
      fix: `set it back to ${JSON.stringify(was)}; to have ${is}, ${NEW_CLUSTER}`,
    };
  });
}

/**
 * A restore puts every member of a running cluster's etcd back from a snapshot: a stack that
 * was never up (no `settled` output) has no members to restore.
 */
export function restoreWithoutCluster(previous: unknown, config: ClusterConfig): ConfigProblem[] {
  if (!config.restore || (previous && typeof previous === "object")) return [];
  return [
    {
      key: `${NAMESPACE}:restore`,
      message: "restores the etcd members of this stack's masters, but the stack has no cluster yet (it was never up)",
      fix: "remove restore and run pulumi up to make the cluster first; restore into its masters afterwards",
    },
  ];
}
