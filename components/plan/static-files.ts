// Files a machine you own gets over SSH in its prepare step: what cloud-init writes on
// GCP and AWS, plus the endpoint's haproxy (and keepalived) configs. Pure.
import { MachineFile } from "./bundle";
import { nodeBaseFiles } from "./cloud-init";
import { APISERVER_PORT, ClusterPlan } from "./cluster-plan";
import { prefixOf } from "../config/cidr";
import { LIFECYCLE_PATHS, nodeLabelsScript, resetScript } from "./host-lifecycle";
import { TOKEN_FILE } from "./kubeadm";
import { CERTIFICATES_PATHS } from "./certificates";
import { BACKUP_PATHS } from "./backups";
import { ENCRYPTION_PATHS } from "./encryption";
import { BOOTSTRAP_TOKEN_SCRIPT } from "./bootstrap-token";
import { paths } from "./scripts";
import { ETCD_KUBELET_CONFIG, ETCD_KUBELET_DROPIN, ETCD_MEMBER_CONFIG, ETCD_MEMBER_RENDERED, ETCD_MEMBER_SCRIPT } from "./etcd-member";
import { ENDPOINT_PATHS, endpointSetupScript, haproxyConfig, keepalivedConfig, LOCAL_PROXY_PORT, VIP_PROXY_PORT, vipCheckScript } from "./onprem-endpoint";

export interface StaticMachine {
  name: string;
  address: string;
  /** Index among the masters; undefined for workers. */
  masterIndex?: number;
  /** A machine of the external etcd cluster: no node, no endpoint of its own. */
  etcd?: boolean;
}

/** The endpoint's files on one machine: haproxy (+ keepalived on masters) for vip, haproxy on every node for local-proxy. */
export function endpointFiles(plan: ClusterPlan, m: StaticMachine): MachineFile[] {
  const mode = plan.config.endpoint.mode;
  if (m.etcd) return [];
  const backends = plan.masters.map((x) => ({ name: x.name, address: x.ip, port: APISERVER_PORT }));
  if (mode === "local-proxy") {
    return [
      { path: ENDPOINT_PATHS.haproxy, mode: "0644", content: haproxyConfig({ bind: "127.0.0.1", port: LOCAL_PROXY_PORT, backends }) },
      { path: ENDPOINT_PATHS.setup, mode: "0755", content: endpointSetupScript(["haproxy"]) },
    ];
  }
  if (mode !== "vip" || m.masterIndex === undefined) return [];
  return [
    { path: ENDPOINT_PATHS.haproxy, mode: "0644", content: haproxyConfig({ bind: "*", port: VIP_PROXY_PORT, backends }) },
    { path: ENDPOINT_PATHS.check, mode: "0755", content: vipCheckScript(VIP_PROXY_PORT) },
    {
      path: ENDPOINT_PATHS.keepalived,
      mode: "0644",
      content: keepalivedConfig({
        self: { name: m.name, address: m.address, index: m.masterIndex },
        peers: plan.masters.filter((x) => x.ip !== m.address).map((x) => x.ip),
        vip: plan.config.endpoint.vip!,
        prefix: prefixOf(plan.config.network.nodeCidr),
        interface: plan.config.endpoint.interface,
        checkScript: ENDPOINT_PATHS.check,
      }),
    },
    { path: ENDPOINT_PATHS.setup, mode: "0755", content: endpointSetupScript(["haproxy", "keepalived"]) },
  ];
}

/**
 * Everything the prepare step writes on a machine you own: the node's base files and
 * endpoint, its name in the stack, and the scripts its labels and reset steps run. The
 * reset removes every file here and every file the later steps write.
 */
export function staticPrepareFiles(plan: ClusterPlan, m: StaticMachine): MachineFile[] {
  const files: MachineFile[] = [
    ...nodeBaseFiles(plan.config, plan.endpoint.name),
    ...endpointFiles(plan, m),
    { path: LIFECYCLE_PATHS.nodeName, mode: "0644", content: m.name + "\n" },
    { path: LIFECYCLE_PATHS.nodeLabels, mode: "0755", content: nodeLabelsScript() },
  ];
  const written = [
    ...files.map((f) => f.path),
    ...Object.values(paths),
    TOKEN_FILE,
    LIFECYCLE_PATHS.reset,
    ...CERTIFICATES_PATHS,
    BOOTSTRAP_TOKEN_SCRIPT,
    ...BACKUP_PATHS,
    ...ENCRYPTION_PATHS,
    ETCD_MEMBER_CONFIG,
    ETCD_MEMBER_RENDERED,
    ETCD_MEMBER_SCRIPT,
    ETCD_KUBELET_CONFIG,
    ETCD_KUBELET_DROPIN,
  ];
  return [...files, { path: LIFECYCLE_PATHS.reset, mode: "0755", content: resetScript(plan.config, written) }];
}
