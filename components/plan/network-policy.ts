// Least-privilege ingress between the machine roles of a cluster, once for every
// platform: GCP maps roles to network tags, AWS to security groups. Pure.
import { ClusterPlan } from "./cluster-plan";
import { ETCD_CLIENT_PORT } from "./etcd-cluster";
import { ETCD_PEER_PORT } from "./scripts";

export type Role = "master" | "worker" | "bastion" | "apiserver-lb" | "etcd";

/** The roles a cluster's machines take: the etcd machines' only with an external etcd. */
export function rolesOf(plan: ClusterPlan): Role[] {
  return ["master", "worker", "bastion", "apiserver-lb", ...(plan.etcd.topology === "external" ? (["etcd"] as const) : [])];
}

export interface Allow {
  protocol: "tcp" | "udp" | "ipip";
  /** "6443" or "2379-2380"; none for ipip. */
  ports?: string[];
}

export interface IngressRule {
  /** Suffix of the rule's resource name (`<cluster>-<suffix>`). */
  suffix: string;
  description: string;
  allow: Allow[];
  from: { roles?: Role[]; cidrs?: string[] };
  to: Role[];
}

/** Ingress every platform needs; everything not listed is denied. */
export function ingressRules(plan: ClusterPlan): IngressRule[] {
  const nodes: Role[] = ["master", "worker"];
  const cni = plan.config.kubernetes.cni.name;
  const external = plan.etcd.topology === "external";
  // Stacked: etcd's client and peer ports between masters. External: the client port from the
  // masters (their apiservers) to the members, the peer port between members, none on masters.
  const etcd: IngressRule[] = external
    ? [
        {
          suffix: "etcd-client",
          description: "etcd's client port on the etcd machines from the masters (apiservers) only",
          allow: [{ protocol: "tcp", ports: [String(ETCD_CLIENT_PORT)] }],
          from: { roles: ["master"] },
          to: ["etcd"],
        },
        {
          suffix: "etcd-peer",
          description: "etcd's peer port between the etcd machines only",
          allow: [{ protocol: "tcp", ports: [String(ETCD_PEER_PORT)] }],
          from: { roles: ["etcd"] },
          to: ["etcd"],
        },
      ]
    : [
        {
          suffix: "etcd",
          description: "etcd client and peer traffic between masters only",
          allow: [{ protocol: "tcp", ports: ["2379-2380"] }],
          from: { roles: ["master"] },
          to: ["master"],
        },
      ];
  const rules: IngressRule[] = [
    {
      suffix: "apiserver-from-nodes",
      description: "kube-apiserver from nodes and the bastion (through the internal LB or directly)",
      allow: [{ protocol: "tcp", ports: ["6443"] }],
      from: { roles: ["master", "worker", "bastion"] },
      to: ["master"],
    },
    ...etcd,
    {
      suffix: "kubelet",
      description: "kubelet API from masters (logs, exec, port-forward)",
      allow: [{ protocol: "tcp", ports: ["10250"] }],
      from: { roles: ["master"] },
      to: nodes,
    },
    {
      suffix: "ssh-from-bastion",
      description: external ? "SSH to nodes and etcd machines only from the bastion" : "SSH to nodes only from the bastion",
      allow: [{ protocol: "tcp", ports: ["22"] }],
      from: { roles: ["bastion"] },
      to: external ? [...nodes, "etcd"] : nodes,
    },
    {
      suffix: "ssh-to-bastion",
      description: "SSH to the bastion only from the admin CIDRs",
      allow: [{ protocol: "tcp", ports: ["22"] }],
      from: { cidrs: [...plan.config.adminCidrs] },
      to: ["bastion"],
    },
  ];
  if (cni === "calico")
    rules.push({
      suffix: "cni",
      description: "Calico between nodes: IP-in-IP pod traffic and BGP",
      allow: [{ protocol: "ipip" }, { protocol: "tcp", ports: ["179"] }],
      from: { roles: nodes },
      to: nodes,
    });
  if (cni === "flannel")
    rules.push({ suffix: "cni", description: "flannel VXLAN pod traffic between nodes", allow: [{ protocol: "udp", ports: ["8472"] }], from: { roles: nodes }, to: nodes });
  return rules;
}

/** "2379-2380" -> [2379, 2380]; "22" -> [22, 22]. */
export function portRange(ports: string): [number, number] {
  const [a, b] = ports.split("-").map(Number);
  return [a, b ?? a];
}
