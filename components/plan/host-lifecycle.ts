// The life of a host you own after its join: the node labels its stack declares, kept
// in step with the stack on every `pulumi up`, and the reset that gives the machine back
// when it leaves the stack or the stack is destroyed. Pure: the scripts and commands only.
import { AUDIT_LOG_DIR } from "./audit";
import { ClusterConfig } from "../config/validate";
import { MasterPlan } from "./cluster-plan";
import { KUBEADM_HA_DIR } from "./kubeadm";
import { CERTIFICATES_UNIT } from "./certificates";
import { BACKUP_UNIT } from "./backups";
import { BUNDLE_DIR, BUNDLE_STAGING, ETCD_PEER_PORT, header, kubectlRetryFunction, NODE_NAME_FILE, paths, SBIN } from "./scripts";

export const LIFECYCLE_PATHS = {
  nodeLabels: `${SBIN}/kubeadm-ha-node-labels`,
  reset: `${SBIN}/kubeadm-ha-reset`,
  /** The node this machine is in the stack: a reset for another name leaves it alone. */
  nodeName: NODE_NAME_FILE,
};

/** Annotation on a Node listing the label keys the stack manages, so a label removed from the stack is removed from the node. */
export const MANAGED_LABELS_ANNOTATION = "kubeadm-ha.io/labels";

/**
 * Sets a node's labels to the stack's, with the kubelet's own credentials (the
 * NodeRestriction admission lets a kubelet label its own Node outside the
 * kubernetes.io and k8s.io namespaces, plus the well-known topology labels, which is
 * what validation allows). Labels it set before and the stack no longer has are removed;
 * labels set by others are left alone. A no-op when the node already has them.
 */
export function nodeLabelsScript(): string {
  const annotationPath = MANAGED_LABELS_ANNOTATION.replace(/\./g, "\\.");
  return `${header("Sets this node's labels to the stack's KEY=VALUE arguments and removes the ones the stack dropped.")}
node="\${1:?usage: kubeadm-ha-node-labels NODE KEY=VALUE...}"
shift
export KUBECONFIG=/etc/kubernetes/kubelet.conf
${kubectlRetryFunction()}
keys=()
for kv in "$@"; do
  keys+=("\${kv%%=*}")
done
previous="$(kubectl_retry get node "$node" -o jsonpath='{.metadata.annotations.${annotationPath}}')"
changes=("$@")
IFS=, read -r -a before <<< "$previous"
for k in "\${before[@]}"; do
  case " \${keys[*]} " in
    *" $k "*) ;;
    *) changes+=("$k-") ;;
  esac
done
if [ "\${#changes[@]}" -gt 0 ]; then
  kubectl_retry label node "$node" --overwrite "\${changes[@]}"
fi
kubectl_retry annotate node "$node" --overwrite "${MANAGED_LABELS_ANNOTATION}=$(IFS=,; echo "\${keys[*]}")"
`;
}

/** The labels step's command: sets exactly these labels (the stack's) on the node. */
export function nodeLabelsCommand(node: string, labels: Record<string, string>): string {
  const args = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `'${k}=${v}'`)
    .join(" ");
  return `${header(`Sets ${node}'s labels to the stack's.`)}
sudo ${LIFECYCLE_PATHS.nodeLabels} ${node} ${args}
`;
}

/**
 * Gives a host back: \`kubeadm reset\` (on a master it also removes the host's own etcd
 * member while the others still form a quorum), the services the program enabled
 * stopped, Kubernetes' binaries, the bundle, the images and the CNI's iptables rules and
 * bridge removed, and every file the program wrote (\`files\`) deleted. Distribution
 * packages (containerd, haproxy, keepalived, ...) stay installed, and so do etcd snapshots in
 * a backups directory (they are the way back). Only when the host is
 * still the node NAME: a host renamed in the stack is not reset by its old name.
 */
export function resetScript(c: ClusterConfig, files: string[]): string {
  const bundle = c.kubernetes.packages.source === "bundle";
  const removeFiles = [...new Set(files)].sort();
  return `${header("Resets this host: kubeadm reset, services stopped, Kubernetes and every file kubeadm-ha wrote removed.")}
node="\${1:?usage: kubeadm-ha-reset NODE}"
here="$(cat ${LIFECYCLE_PATHS.nodeName} 2>/dev/null || true)"
if [ "$here" != "$node" ]; then
  echo "kubeadm-ha: this host is \${here:-no node of this stack} now, not $node: leaving it as it is"
  exit 0
fi

if command -v kubeadm >/dev/null; then
  echo "kubeadm reset on $node"
  kubeadm reset --force --cleanup-tmp-dir
fi
for unit in ${CERTIFICATES_UNIT}.timer ${BACKUP_UNIT}.timer kubelet.service kubeadm-ha-pod-routes.service keepalived.service haproxy.service; do
  if systemctl cat "$unit" >/dev/null 2>&1; then
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
done

# What the kubelet's pods left in containerd and the kernel.
if command -v ctr >/dev/null; then
  ctr -n k8s.io images ls -q | xargs -r ctr -n k8s.io images rm >/dev/null
fi
# (A host whose join failed before kube-proxy ran has no rules at all: nothing to do.)
for tool in iptables ip6tables; do
  if command -v "$tool-save" >/dev/null; then
    rules="$("$tool-save")"
    if [ -n "$rules" ]; then
      { grep -v -e 'KUBE-' -e 'CNI-' <<< "$rules" || true; } | "$tool-restore"
    fi
  fi
done
ip link delete cni0 2>/dev/null || true
hosts_tmp="$(mktemp)"
grep -v ' # kubeadm-ha endpoint$' /etc/hosts > "$hosts_tmp" || true
cat "$hosts_tmp" > /etc/hosts
rm -f "$hosts_tmp"

${
  bundle
    ? `# Kubernetes as the bundle installed it.
if [ -d ${BUNDLE_DIR}/cni/bin ]; then
  for plugin in ${BUNDLE_DIR}/cni/bin/*; do
    rm -f "/opt/cni/bin/$(basename "$plugin")"
  done
fi
rm -f /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl
rm -rf /etc/systemd/system/kubelet.service /etc/systemd/system/kubelet.service.d ${BUNDLE_DIR} ${BUNDLE_STAGING}`
    : `# Kubernetes as pkgs.k8s.io installed it.
export DEBIAN_FRONTEND=noninteractive
apt-mark unhold kubelet kubeadm kubectl >/dev/null 2>&1 || true
apt-get purge -y -q kubelet kubeadm kubectl || true
rm -f /etc/apt/sources.list.d/kubernetes.list /etc/apt/keyrings/kubernetes-apt-keyring.gpg`
}
rm -rf /var/lib/kubelet /etc/kubernetes /var/lib/kubeadm-ha /run/kubeadm-ha ${AUDIT_LOG_DIR} /run/systemd/system/${CERTIFICATES_UNIT}.service.d
${removeFiles.map((f) => `rm -f ${f}`).join("\n")}
rm -rf ${KUBEADM_HA_DIR}
systemctl daemon-reload
echo "$node reset: kubeadm, Kubernetes and kubeadm-ha's files removed"
`;
}

/**
 * The reset step's delete command. It runs when the host leaves the stack or the stack
 * is destroyed, never on a replacement (the step has no triggers), and does nothing on
 * a host that was reset already.
 */
export function resetCommand(node: string): string {
  return `${header(`Resets ${node} when it leaves the stack (or the stack is destroyed).`)}
if sudo test -x ${LIFECYCLE_PATHS.reset}; then
  sudo ${LIFECYCLE_PATHS.reset} ${node}
else
  echo "${node}: nothing to reset"
fi
`;
}

/** Drains a worker and deletes its Node, from a healthy master, before the worker is reset; best effort, so a destroy never stops on it. */
export function removeWorkerCommand(worker: string): string {
  const kubectl = "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf";
  return `${header(`Drains ${worker} and deletes its Node (runs on a healthy master) before ${worker} is reset.`)}
if ! sudo test -f /etc/kubernetes/admin.conf; then
  echo "kubeadm-ha: warning: $(hostname) has no admin kubeconfig; delete node ${worker} yourself" >&2
  exit 0
fi
${kubectl} drain ${worker} --ignore-daemonsets --delete-emptydir-data --force --timeout=120s || echo "kubeadm-ha: warning: ${worker} did not drain in 120 s" >&2
${kubectl} delete node ${worker} --ignore-not-found || echo "kubeadm-ha: warning: could not delete node ${worker}" >&2
`;
}

/**
 * A master leaving the stack (fewer masters, a grow that failed and was reverted, a
 * destroy): from another master, its Node drained and deleted and its etcd member removed,
 * learner or voter, before its host is reset. Fails while the cluster cannot remove it, so
 * the next \`pulumi up\` tries again; says so and passes where no master is left to ask.
 */
export function removeMasterCommand(master: MasterPlan): string {
  return `${header(`Drains ${master.name} and removes its Node and etcd member (runs on another master) when it leaves the stack.`)}
if ! sudo test -x ${paths.etcdMember} || ! sudo test -f /etc/kubernetes/admin.conf; then
  echo "kubeadm-ha: warning: $(hostname) is no master of this cluster now; if ${master.name} is still a Node or etcd member, run: sudo ${paths.etcdMember} leave ${master.name} https://${master.ip}:${ETCD_PEER_PORT} on a master" >&2
  exit 0
fi
sudo ${paths.etcdMember} leave ${master.name} https://${master.ip}:${ETCD_PEER_PORT}
`;
}
