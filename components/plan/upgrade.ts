// Kubernetes upgrades of a running cluster, the way kubeadm's upgrade guide takes them, as
// ordered per-node steps: an external etcd's machines one at a time (each member on the etcd
// kubeadm names for the release, its kubeadm and kubelet too), then the masters one at a time (`kubeadm upgrade apply` on the first
// whose turn finds the cluster on the old release, `kubeadm upgrade node` on the others;
// each drained, its kubelet and kubectl upgraded, uncordoned, healthy again before the next),
// then the workers you own one at a time (drained from a master, upgraded on the worker,
// uncordoned once Ready on the new release). Every step decides from what the machine and
// the cluster run, never from the stack's history: a step whose node runs the release
// already does nothing, so the steps of a new cluster, a re-run and an interrupted upgrade
// resumed are all safe. Pure: each function returns the exact text that lands on a machine.
import { BACKUP_SCRIPT, BACKUP_UNIT } from "./backups";
import { APISERVER_PORT, ClusterPlan } from "./cluster-plan";
import { KUBELET_HEALTHZ } from "./control-plane-member";
import { skippedPreflightChecks } from "./kubeadm";
import { ETCD_CLIENT_PORT } from "./etcd-cluster";
import { membersHealthyFunctions, staticPodFunction } from "./etcd-member";
import {
  controllersLiveFunction,
  waitForFunctions,
  header,
  kubectlRetryFunction,
  kubeProxySettledFunction,
  kubernetesPackageFunctions,
  MEMBER_READY_TIMEOUT_S,
  paths,
} from "./scripts";

/** The upgrade script on every node (its release and package source written in). */
export const UPGRADE_SCRIPT = paths.upgrade;
/** On a Node this program cordoned for an upgrade: the release it was upgraded to. Only such a node is uncordoned again. */
export const UPGRADE_ANNOTATION = "kubeadm-ha.io/upgrading-to";
/** How long a drain may take before the step fails (PodDisruptionBudgets that never allow an eviction), seconds. */
export const DRAIN_TIMEOUT_S = 600;
/** How long a node may take to come back Ready on the new release, seconds. */
export const UPGRADED_READY_TIMEOUT_S = MEMBER_READY_TIMEOUT_S;

/** One step of an upgrade, in the order `pulumi up` takes them. */
export interface UpgradeStep {
  /** The step's resource name (a child of the machine's, or of `<cluster>-control-plane`). */
  resource: string;
  node: string;
  /** Where it runs: on the node itself, or on whichever master answers. */
  on: "node" | "control-plane";
  /** What it does there, for the render and the docs. */
  what: string;
}

/**
 * The order of an upgrade: every node fetches the release (at once), then every master in
 * plan order, then every worker you own in plan order, each worker drained, upgraded and
 * uncordoned before the next. (Cloud worker groups are rolled by their groups, after every
 * master.)
 */
export function upgradeOrder(plan: ClusterPlan): UpgradeStep[] {
  // First every node at once: the release within reach, its images imported. kubeadm rolls
  // kube-proxy and CoreDNS to the new release's images with the last master, before the
  // workers' turn: a node without them (air-gapped) would lose its kube-proxy until then.
  const fetched = [...plan.etcd.members.map((m) => m.name), ...plan.masters.map((m) => m.name), ...plan.staticWorkers.map((w) => w.name)].map((node): UpgradeStep => ({
    resource: `${node}-fetch-release`,
    node,
    on: "node",
    what: "the release's packages and images onto the node, every node at once, before any master moves",
  }));
  const members = plan.etcd.members.map((m): UpgradeStep => ({
    resource: `${m.name}-upgrade`,
    node: m.name,
    on: "node",
    what: "every member healthy; kubeadm, its member on the etcd kubeadm names for the release (kubeadm init phase etcd local), its kubelet; a healthy member on it, every member healthy",
  }));
  const masters = plan.masters.map((m, i): UpgradeStep => ({
    resource: `${m.name}-upgrade`,
    node: m.name,
    on: "node",
    what:
      i === 0
        ? "kubeadm upgrade apply if the cluster is on the old release (else kubeadm upgrade node), drain, kubelet and kubectl, uncordon, healthy"
        : "kubeadm upgrade node (apply if no master before it did), drain, kubelet and kubectl, uncordon, healthy",
  }));
  const cp = `${plan.name}-control-plane`;
  const workers = plan.staticWorkers.flatMap((w): UpgradeStep[] => [
    { resource: `${cp}-drain-${w.name}`, node: w.name, on: "control-plane", what: "refuse unless every master runs the release; cordon and drain" },
    { resource: `${w.name}-upgrade`, node: w.name, on: "node", what: "kubeadm upgrade node, kubelet and kubectl" },
    { resource: `${cp}-uncordon-${w.name}`, node: w.name, on: "control-plane", what: "Ready on the release, uncordon" },
  ]);
  return [...fetched, ...members, ...masters, ...workers];
}

/**
 * `kubeadm-ha-upgrade master|drain|node|uncordon NODE`, the same on every node of the
 * cluster, with the stack's release (`want`) and package source written in:
 *
 * - `master NODE` (on that master): nothing when its control plane and kubelet run the
 *   release; else waits until the cluster is healthy, installs kubeadm of the release,
 *   `kubeadm upgrade apply` when the cluster (kubeadm-config) is still on the old release,
 *   else `kubeadm upgrade node`; drains the node, upgrades kubelet and kubectl, restarts the
 *   kubelet, uncordons, and waits until it is healthy again (Ready on the release, a healthy
 *   etcd voter, its apiserver ready);
 * - `drain NODE` (on a master, for a worker): refuses unless every master runs the release
 *   (workers are never newer than the apiserver), then cordons and drains it;
 * - `node NODE` (on a worker): kubeadm of the release, `kubeadm upgrade node`, kubelet and kubectl;
 * - `uncordon NODE` (on a master, for a worker): waits until it is Ready on the release, uncordons it.
 *
 * A node that runs a newer release than the stack's stops the step: kubeadm cannot go back.
 * Only a node this script cordoned (UPGRADE_ANNOTATION) is uncordoned: one an operator
 * cordoned stays so.
 */
export function upgradeScript(plan: ClusterPlan): string {
  const c = plan.config;
  const want = `v${c.kubernetes.version}`;
  const skip = skippedPreflightChecks(c)
    .map((check) => ` --ignore-preflight-errors=${check}`)
    .join("");
  return `${header(`Upgrades this node, or a worker from a master, to Kubernetes ${want}: kubeadm upgrade, drain, kubelet and kubectl, uncordon.`)}
usage="usage: kubeadm-ha-upgrade fetch|${plan.etcd.topology === "external" ? "etcd|" : ""}master|drain|node|uncordon NODE"
action="\${1:?$usage}"
node="\${2:?$usage}"
want="${want}"
timeout="\${KUBEADM_HA_UPGRADE_TIMEOUT_S:-${UPGRADED_READY_TIMEOUT_S}}"
export DEBIAN_FRONTEND=noninteractive

${kubernetesPackageFunctions(c.kubernetes.version, c.kubernetes.packages)}
${kubectlRetryFunction()}
# newer A B: release A comes after release B.
newer() {
  [ "$1" != "$2" ] && [ "$(printf '%s\\n%s\\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]
}

# refuse_newer WHAT VERSION: kubeadm cannot take a node back to an older release.
refuse_newer() {
  if [ -n "$2" ] && newer "$2" "$want"; then
    echo "kubeadm-ha: $1 runs $2, newer than the stack's $want: kubeadm cannot downgrade; set kubernetes.version to \${2#v} (or later) to finish that upgrade" >&2
    exit 1
  fi
}

node_field() {
  kubectl_retry get node "$node" -o jsonpath="$1"
}

${controllersLiveFunction()}
${kubeProxySettledFunction()}
# cordon_and_drain: cordons and drains $node, marked as this script's (an operator's cordon
# stays theirs), once the controllers that move its pods run and no node's kube-proxy is
# being replaced (the last master's upgrade rolls it).
cordon_and_drain() {
  controllers_live
  kube_proxy_settled
  if [ "$(node_field '{.spec.unschedulable}')" != "true" ]; then
    kubectl_retry annotate node "$node" --overwrite "${UPGRADE_ANNOTATION}=$want" >/dev/null
  fi
  kubectl drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="\${KUBEADM_HA_DRAIN_TIMEOUT_S:-${DRAIN_TIMEOUT_S}}s"
}

# uncordon_ours: uncordons $node if this script cordoned it.
uncordon_ours() {
  if [ -n "$(node_field '{.metadata.annotations.${UPGRADE_ANNOTATION.replace(/\./g, "\\.")}}')" ]; then
    kubectl_retry uncordon "$node"
    kubectl_retry annotate node "$node" "${UPGRADE_ANNOTATION}-" >/dev/null
  fi
}

# wait_upgraded: waits until $node is Ready with its kubelet on the release.
wait_upgraded() {
  local deadline=$((SECONDS + timeout)) seen
  until seen="$(node_field '{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}')" && [ "$seen" = "$want True" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: $node is not Ready on $want after \${timeout}s (kubelet version and Ready: \${seen:-unknown}); see journalctl -u kubelet on it" >&2
      exit 1
    fi
    sleep 2
  done
}

# new_kubelet: kubelet and kubectl of the release in place, the kubelet restarted on it.
new_kubelet() {
  install_kubernetes kubelet kubectl
  systemctl daemon-reload
  systemctl restart kubelet
  local deadline=$((SECONDS + timeout))
  until [ "$(curl -s --max-time 3 ${KUBELET_HEALTHZ} 2>/dev/null || true)" = "ok" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: the kubelet of $want on $node does not answer ${KUBELET_HEALTHZ} after \${timeout}s; see journalctl -u kubelet" >&2
      exit 1
    fi
    sleep 2
  done
}

kubelet_version() {
  kubelet --version 2>/dev/null | awk '{print $2}'
}
${plan.etcd.topology === "external" ? etcdMemberFunctions(plan) : ""}
case "$action" in
fetch)
  kubelet="$(kubelet_version)"
  refuse_newer "the kubelet of $node" "$kubelet"
  if [ "$kubelet" = "$want" ]; then
    echo "$node runs $want already: nothing to fetch"
    exit 0
  fi
  echo "$node: fetching $want (packages and images) before the control plane moves"
  fetch_kubernetes
  import_images
  ;;
${plan.etcd.topology === "external" ? etcdAction() : ""}master)
  export KUBECONFIG=/etc/kubernetes/admin.conf
  cluster="$(kubectl_retry -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' | sed -n 's/^kubernetesVersion: *//p')"
  apiserver="$(sed -n 's#^[ -]*image: .*/kube-apiserver:##p' /etc/kubernetes/manifests/kube-apiserver.yaml)"
  kubelet="$(kubelet_version)"
  refuse_newer "the cluster (kubeadm-config)" "$cluster"
  refuse_newer "the apiserver of $node" "$apiserver"
  refuse_newer "the kubelet of $node" "$kubelet"
  if [ "$cluster" = "$want" ] && [ "$apiserver" = "$want" ] && [ "$kubelet" = "$want" ]; then
    uncordon_ours
    echo "$node runs $want already: nothing to upgrade"
    exit 0
  fi
  echo "$node: from $apiserver (kubelet $kubelet, cluster $cluster) to $want; waiting until the control plane is healthy"
  ${paths.waitMember} "$node" "$timeout"
  fetch_kubernetes
  import_images
  install_kubernetes kubeadm
  if [ "$cluster" != "$want" ]; then
    # The way back if the upgrade goes wrong: a snapshot first, when the cluster has backups.
    if systemctl is-enabled --quiet ${BACKUP_UNIT}.timer 2>/dev/null; then
      ${BACKUP_SCRIPT} snapshot "before the upgrade from $cluster to $want"
    fi
    echo "$node: kubeadm upgrade apply $want"
    kubeadm upgrade apply "$want" --yes${skip}
  elif [ "$apiserver" != "$want" ]; then
    echo "$node: kubeadm upgrade node"
    kubeadm upgrade node${skip}
  fi
  cordon_and_drain
  new_kubelet
  wait_upgraded
  uncordon_ours
  ${paths.waitMember} "$node" "$timeout"
  # kubeadm upgrade apply rewrites CoreDNS' Deployment, dropping its spread over the zones.
  ${paths.spreadDns}
  deadline=$((SECONDS + timeout))
  until [ "$(kubectl --server "https://$(sed -n 's/^ *- --advertise-address=//p' /etc/kubernetes/manifests/kube-apiserver.yaml):${APISERVER_PORT}" get --raw=/readyz 2>/dev/null || true)" = "ok" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: the apiserver of $node is not ready on $want after \${timeout}s" >&2
      exit 1
    fi
    sleep 2
  done
  echo "$node runs $want: control plane, kubelet and kubectl; healthy again"
  ;;
drain)
  export KUBECONFIG=/etc/kubernetes/admin.conf
  kubelet="$(node_field '{.status.nodeInfo.kubeletVersion}')"
  refuse_newer "the kubelet of $node" "$kubelet"
  if [ "$kubelet" = "$want" ]; then
    echo "$node runs $want already: no drain"
    exit 0
  fi
  # Workers are never newer than the apiserver: every master first.
  # A master list that cannot be read stops the step: no drain without knowing.
  masters="$(kubectl_retry get nodes -l node-role.kubernetes.io/control-plane -o jsonpath='{range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion}{"\\n"}{end}')"
  if [ -z "$masters" ]; then
    echo "kubeadm-ha: the cluster lists no control-plane node" >&2
    exit 1
  fi
  behind="$(printf '%s\\n' "$masters" | grep -v "=$want\\$" || true)"
  if [ -n "$behind" ]; then
    echo "kubeadm-ha: not every master runs $want yet ($(echo "$behind" | tr '\\n' ' ')): workers are upgraded after every master; run pulumi up again once the masters' upgrades passed" >&2
    exit 1
  fi
  echo "$node: from $kubelet to $want; cordon and drain"
  cordon_and_drain
  ;;
node)
  kubelet="$(kubelet_version)"
  refuse_newer "the kubelet of $node" "$kubelet"
  if [ "$kubelet" = "$want" ]; then
    echo "$node runs $want already: nothing to upgrade"
    exit 0
  fi
  echo "$node: from $kubelet to $want"
  fetch_kubernetes
  import_images
  install_kubernetes kubeadm
  kubeadm upgrade node${skip}
  new_kubelet
  echo "$node: kubelet and kubectl $want running"
  ;;
uncordon)
  export KUBECONFIG=/etc/kubernetes/admin.conf
  wait_upgraded
  uncordon_ours
  echo "$node is Ready on $want and schedulable"
  ;;
*)
  echo "$usage" >&2
  exit 2
  ;;
esac
`;
}

/** bash, on an external etcd's machine: its member's etcd, the one the release wants, and waiting for it. */
function etcdMemberFunctions(plan: ClusterPlan): string {
  return `
${membersHealthyFunctions(plan.etcd.members)}
${staticPodFunction()}
# etcd_running: the etcd image of this machine's member (its static pod's manifest).
etcd_running() {
  sed -n 's/^[ -]*image: *//p' /etc/kubernetes/manifests/etcd.yaml | head -1
}

# etcd_wanted: the etcd image kubeadm (of the release) names for the release.
etcd_wanted() {
  kubeadm config images list --kubernetes-version "$want" 2>/dev/null | grep '/etcd:' || true
}

# member_serves VERSION: this machine's member answers on its client URL as etcd VERSION.
member_serves() {
  [ "$(member_get https://127.0.0.1:${ETCD_CLIENT_PORT}/version | jq -r '.etcdserver // ""' 2>/dev/null || true)" = "$1" ]
}

${waitForFunctions()}`;
}

/** The upgrade script's `etcd NODE` action: an external etcd's machine on the release, one at a time. */
function etcdAction(): string {
  return `etcd)
  # An external etcd's machine: kubeadm of the release, its member on the etcd that release
  # names (kubeadm writes the static pod again from the member's config, with the members it
  # started with: etcd ignores them once it has data), its kubelet; once every member is
  # healthy, and until it is again: one member at a time leaves the others a quorum.
  kubelet="$(kubelet_version)"
  refuse_newer "the kubelet of $node" "$kubelet"
  if [ "$kubelet" = "$want" ] && [ "$(kubeadm version -o short 2>/dev/null || true)" = "$want" ] && [ "$(etcd_running)" = "$(etcd_wanted)" ]; then
    echo "$node runs $want and its etcd ($(etcd_running)) already: nothing to upgrade"
    exit 0
  fi
  echo "$node: from kubelet $kubelet and etcd $(etcd_running) to $want; waiting until every etcd member is healthy"
  wait_for "every etcd member healthy" members_healthy
  fetch_kubernetes
  import_images
  install_kubernetes kubeadm
  image="$(etcd_wanted)"
  [ -n "$image" ] || { echo "kubeadm-ha: kubeadm $want names no etcd image" >&2; exit 1; }
  if [ "$(etcd_running)" != "$image" ]; then
    echo "$node: etcd from $(etcd_running) to $image"
    manifest=/etc/kubernetes/manifests/etcd.yaml
    static_pod "$(sed -n 's/^ *- --initial-cluster=//p' "$manifest")" "$(sed -n 's/^ *- --initial-cluster-state=//p' "$manifest")" >/dev/null
  fi
  version="\${image##*:}"
  wait_for "etcd \${version%-*} serving on $node" member_serves "\${version%-*}"
  if [ "$kubelet" != "$want" ]; then
    new_kubelet
  fi
  wait_for "every etcd member healthy" members_healthy
  echo "$node runs $want and etcd \${version%-*}; every member healthy"
  ;;
`;
}

/** A step's command: the upgrade script's action for one node, run as root. */
export function upgradeCommand(plan: ClusterPlan, action: "fetch" | "etcd" | "master" | "drain" | "node" | "uncordon", node: string): string {
  const what = {
    fetch: "Fetches, for its upgrade,",
    etcd: "Upgrades",
    master: "Upgrades",
    node: "Upgrades",
    drain: "Drains, for its upgrade,",
    uncordon: "Uncordons, once upgraded,",
  }[action];
  return `${header(`${what} ${node} to Kubernetes v${plan.config.kubernetes.version} (see ${UPGRADE_SCRIPT}).`)}
sudo ${UPGRADE_SCRIPT} ${action} ${node}
`;
}
