// cloud-init boot configs. They only prepare machines: no private key, CA key or
// token ever goes into a master's boot config (secrets travel over SSH).
// Pure: values in, `#cloud-config` YAML out.
import { parse, stringify } from "yaml";
import { MachineFile } from "./bundle";
import { ClusterConfig } from "../config/validate";
import { bridgeFiles } from "./cni-bridge";
import { paths, prepareScript, setEndpointScript } from "./scripts";

/** Kernel modules for containerd and bridge CNIs. */
export const MODULES = ["overlay", "br_netfilter"];
/** sysctls kubeadm's preflight checks want. */
export const SYSCTLS: Record<string, string> = {
  "net.bridge.bridge-nf-call-iptables": "1",
  "net.bridge.bridge-nf-call-ip6tables": "1",
  "net.ipv4.ip_forward": "1",
};

export interface BootConfigInput {
  sshUser: string;
  sshPublicKey: string;
  /** The cluster's validated config: what the prepare step installs, and how. */
  cluster: ClusterConfig;
  endpointName: string;
  /** Where the endpoint name points at first boot (master-0 for masters, the LB for workers); undefined on the bastion. */
  endpointAddress?: string;
  /** Extra files (e.g. the worker's join template and script). */
  files?: MachineFile[];
  /** Extra commands after preparation. */
  runcmd?: string[][];
  /** false on the bastion: it gets the SSH user and nothing else. */
  kubernetesNode: boolean;
}

/** Files every Kubernetes node gets from its boot config (or, on hosts you own, its prepare step). */
export function nodeBaseFiles(c: ClusterConfig, endpointName: string): MachineFile[] {
  return [
    { path: "/etc/modules-load.d/kubeadm-ha.conf", mode: "0644", content: MODULES.join("\n") + "\n" },
    {
      path: "/etc/sysctl.d/90-kubeadm-ha.conf",
      mode: "0644",
      content:
        Object.entries(SYSCTLS)
          .map(([k, v]) => `${k} = ${v}`)
          .join("\n") + "\n",
    },
    { path: paths.prepare, mode: "0755", content: prepareScript(c) },
    { path: paths.setEndpoint, mode: "0755", content: setEndpointScript(endpointName) },
    ...(c.kubernetes.cni.name === "bridge" ? bridgeFiles(c.network.podCidr) : []),
  ];
}

export function bootConfig(input: BootConfigInput): string {
  const files = input.kubernetesNode ? [...nodeBaseFiles(input.cluster, input.endpointName), ...(input.files ?? [])] : [...(input.files ?? [])];
  const runcmd: string[][] = [];
  if (input.kubernetesNode) {
    if (input.endpointAddress) runcmd.push([paths.setEndpoint, input.endpointAddress]);
    runcmd.push([paths.prepare]);
  }
  runcmd.push(...(input.runcmd ?? []));
  const doc: Record<string, unknown> = {
    manage_etc_hosts: false,
    users: [
      {
        name: input.sshUser,
        shell: "/bin/bash",
        lock_passwd: true,
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        ssh_authorized_keys: [input.sshPublicKey.trim()],
      },
    ],
    ssh_pwauth: false,
    disable_root: true,
  };
  if (files.length) doc.write_files = files.map((f) => ({ path: f.path, permissions: f.mode, owner: "root:root", content: f.content }));
  if (runcmd.length) doc.runcmd = runcmd;
  return "#cloud-config\n" + stringify(doc, { lineWidth: 0 });
}

/** Reads the files back out of a boot config (for the offline render). */
export function filesOfBootConfig(userData: string): MachineFile[] {
  const doc = parse(userData) as { write_files?: Array<{ path: string; permissions?: string; content?: string }> } | null;
  return (doc?.write_files ?? []).map((f) => ({ path: f.path, mode: f.permissions ?? "0644", content: f.content ?? "" }));
}
