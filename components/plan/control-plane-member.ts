// How a master becomes, and stays, a control-plane member: the script that decides on the
// machine whether to `kubeadm init` or `kubeadm join` (from the cluster's state, never from
// the master's index), resumes a kubeadm run that was interrupted, and the init and join
// steps' commands around it. Pure: each function returns the exact text that lands on a
// machine (shellcheck runs on every one of them).
import { APISERVER_PORT, ClusterPlan, MasterPlan } from "./cluster-plan";
import { SHARED_PKI_DIR, sharedPkiNames } from "./pki";
import { applyCni, ETCD_PEER_PORT, header, MEMBER_DONE, MEMBER_READY_TIMEOUT_S, noClusterFunctions, ownAddressLookup, paths, waitUntilDeadline } from "./scripts";
import { CERTIFICATES_CONFIG } from "./certificates";
import { joinTokenFunctions } from "./bootstrap-token";

/** Written just before kubeadm runs, removed when it succeeded: its presence means a run was interrupted. */
export const MEMBER_STARTED = "/var/lib/kubeadm-ha/member.started";
/** The kubelet's health endpoint on the node itself (KubeletConfiguration's defaults, which the program keeps). */
export const KUBELET_HEALTHZ = "http://127.0.0.1:10248/healthz";
/** Where the kubelet keeps each container's log, a file per start. */
export const POD_LOGS = "/var/log/pods";
/** etcd's static pod's logs on a master, one per start (`ls -t` puts the newest first). */
export const ETCD_POD_LOGS = `${POD_LOGS}/kube-system_etcd-*/etcd/*.log`;
/** etcd's which: "the apiserver's and etcd's ports", ports: a master answering on neither (nor on the apiserver's) holds no cluster. */
export const ETCD_PORTS = [2379, ETCD_PEER_PORT];

/**
 * `kubeadm-ha-member NODE [JOIN_ADDRESS]`, the same on every master. In order:
 *
 * - kubeadm ran to completion here before: nothing to do (a re-run of the step is a no-op);
 * - an earlier run was interrupted (the started marker, or kubeadm's files without the done
 *   marker): `kubeadm reset` (which also removes this node's etcd member while it can reach
 *   the cluster), keeping the shared PKI the secrets step wrote, then as below;
 * - another master's apiserver answers /readyz: `kubeadm join --control-plane` through it
 *   (the endpoint name points at that master while joining; JOIN_ADDRESS, when given, is
 *   used instead: the local proxy, which already sends to whichever apiserver answers);
 * - no other master answers, and every other master refuses connections on the apiserver's
 *   and etcd's ports (so none holds a cluster), and this is the stack's first master:
 *   `kubeadm init`. A master that does not answer at all proves nothing: the script waits,
 *   and gives up with the reason rather than start a second cluster beside a hidden one;
 * - otherwise it waits for a control plane to join, up to its timeout.
 */
export function memberScript(plan: ClusterPlan): string {
  const masters = plan.masters.map((m) => `${m.name}=${m.ip}`).join(" ");
  const first = plan.masters[0].name;
  const sharedPki = sharedPkiNames(plan.etcd.topology).join(" ");
  // With an external etcd no master holds a member: none to clear before a join.
  const stacked = plan.etcd.topology === "stacked";
  return `${header("Makes this machine a control-plane member: joins through a master that answers, or inits when no master of the stack holds a cluster; resumes an interrupted kubeadm run.")}
usage="usage: kubeadm-ha-member NODE [JOIN_ADDRESS]"
node="\${1:?$usage}"
through="\${2:-}"
# name=address of every master of the stack, the first one first; the overrides are for tests.
read -r -a masters <<< "\${KUBEADM_HA_MASTERS:-${masters}}"
apiserver_port="\${KUBEADM_HA_APISERVER_PORT:-${APISERVER_PORT}}"
etcd_ports="\${KUBEADM_HA_ETCD_PORTS:-${ETCD_PORTS.join(" ")}}"
etcd_scheme="\${KUBEADM_HA_ETCD_SCHEME:-https}"
timeout="\${KUBEADM_HA_MEMBER_TIMEOUT_S:-${MEMBER_READY_TIMEOUT_S}}"
done_marker="${MEMBER_DONE}"
started_marker="${MEMBER_STARTED}"
first="${first}"

${ownAddressLookup("masters", "node", "a master")}

if [ -f "$done_marker" ]; then
  echo "$node: kubeadm ran to completion here before; nothing to do"
  exit 0
fi
if [ ! -f "$started_marker" ] && [ -f /etc/kubernetes/kubelet.conf ] && [ -f /etc/kubernetes/admin.conf ] && [ -f /etc/kubernetes/manifests/etcd.yaml ]; then
  # Set up by a version of this program that wrote no markers (it guarded on admin.conf).
  echo "$node: a control plane set up before this step kept markers; recording it"
  mkdir -p "$(dirname "$done_marker")"
  touch "$done_marker"
  exit 0
fi

# The address of the first other master whose apiserver answers /readyz.
ready_peer() {
  local m
  for m in "\${masters[@]}"; do
    [ "\${m%%=*}" = "$node" ] && continue
    if [ "$(curl -sk --max-time 3 "https://\${m#*=}:\${apiserver_port}/readyz" 2>/dev/null || true)" = "ok" ]; then
      echo "\${m#*=}"
      return 0
    fi
  done
  return 1
}

${noClusterFunctions({ machines: "masters", self: "node", which: "the apiserver's and etcd's ports", ports: '"$apiserver_port" $etcd_ports', holds: "its apiserver is not ready", instead: "init a second one" })}
# etcd's JSON gateway on a peer, with this node's etcd client certificate.
etcd_api() {
  curl -sS --max-time 5 --cacert ${SHARED_PKI_DIR}/etcd/ca.crt \\
    --cert ${SHARED_PKI_DIR}/etcd/healthcheck-client.crt --key ${SHARED_PKI_DIR}/etcd/healthcheck-client.key \\
    -X POST "\${etcd_scheme}://$1:\${etcd_ports%% *}/v3/cluster/member/$2" -d "$3"
}

# A member under this node's name or peer URL is the machine this one replaces (or a learner
# an interrupted join left): this machine has none of its data, so it joins as a new member
# and the old one goes first, as etcd's own replacement procedure says. A learner at no
# address of the stack's masters (an interrupted join of a master the stack dropped) goes
# too: it holds no data and no vote, and etcd takes one learner at a time.
remove_stale_members() {
  local members id listed=" " m
  if ! members="$(etcd_api "$1" list '{}')"; then
    echo "kubeadm-ha: warning: cannot list etcd members through $1; kubeadm join goes on without clearing a stale member" >&2
    return 0
  fi
  for id in $(printf '%s' "$members" | jq -r --arg n "$node" --arg u "https://$own_address:${ETCD_PEER_PORT}" '.members[]? | select(.name == $n or any(.peerURLs[]?; . == $u)) | .ID'); do
    echo "$node: removing etcd member $id, left under this node's name or address by an earlier machine"
    etcd_api "$1" remove "$(jq -cn --arg id "$id" '{ID: $id}')" >/dev/null
  done
  for m in "\${masters[@]}"; do
    listed="\${listed}https://\${m#*=}:${ETCD_PEER_PORT} "
  done
  for id in $(printf '%s' "$members" | jq -r --arg n "$node" --arg l "$listed" '.members[]? | select(.isLearner == true and .name != $n and (any(.peerURLs[]?; . as $p | $l | contains(" " + $p + " ")) | not)) | .ID'); do
    echo "$node: removing etcd learner $id, left by an interrupted join of a master this stack does not list"
    etcd_api "$1" remove "$(jq -cn --arg id "$id" '{ID: $id}')" >/dev/null
  done
}

leftovers() {
  [ -f "$started_marker" ] || [ -f /etc/kubernetes/kubelet.conf ] || [ -f /etc/kubernetes/admin.conf ] ||
    [ -n "$(ls -A /etc/kubernetes/manifests 2>/dev/null)" ] || [ -d /var/lib/etcd/member ]
}

# kubeadm reset empties ${SHARED_PKI_DIR}: keep the shared CAs and keys the secrets step wrote.
reset_keeping_shared_pki() {
  local keep
  keep="$(mktemp -d)"
  (cd ${SHARED_PKI_DIR} && cp -a --parents ${sharedPki} "$keep"/)
  kubeadm reset --force --cleanup-tmp-dir
  mkdir -p ${SHARED_PKI_DIR}
  cp -a "$keep"/. ${SHARED_PKI_DIR}/
  rm -rf "$keep"
}

# After a failed join: what this node's kubelet and etcd did. kubeadm says only that its
# learner never caught up ("can only promote a learner member which is in sync with leader",
# for kubeadm's 2 minutes), which is what it says too when the kubelet never started etcd.
explain_failed_join() {
  local logs journal
  echo "kubeadm-ha: kubeadm join failed on $node; what its kubelet and etcd did:" >&2
  if [ "$(curl -s --max-time 3 ${KUBELET_HEALTHZ} 2>/dev/null || true)" != "ok" ]; then
    journal="$(journalctl -u kubelet --no-pager -n 10 -o cat 2>/dev/null | cut -c1-300 | sed 's/^/    /' || true)"
    echo "  the kubelet does not answer ${KUBELET_HEALTHZ}; its last lines (journalctl -u kubelet):" >&2
    echo "\${journal:-    (none)}" >&2
  fi
  logs="$(ls -t ${ETCD_POD_LOGS} 2>/dev/null || true)"
  if [ -z "$logs" ]; then
    echo "  etcd never started here: the kubelet did not run /etc/kubernetes/manifests/etcd.yaml" >&2
  else
    echo "  etcd started $(printf '%s\n' "$logs" | wc -l) time(s) here; its last lines:" >&2
    tail -n 10 "$(printf '%s\n' "$logs" | head -1)" | cut -c1-300 | sed 's/^/    /' >&2
  fi
  echo "  the next pulumi up resets $node and joins it again (removing a learner this join left)" >&2
}

${joinTokenFunctions(plan)}

# Marks a kubeadm run as started, so that one cut short is found on the next run.
begin() {
  mkdir -p "$(dirname "$started_marker")"
  touch "$started_marker"
}

if leftovers; then
  echo "$node: an earlier kubeadm run here did not finish; kubeadm reset, then again"
  reset_keeping_shared_pki
  rm -f "$started_marker"
fi

deadline=$((SECONDS + timeout))
reason="nothing checked yet"
while :; do
  if peer="$(ready_peer)"; then
    echo "$node: the apiserver at $peer answers; kubeadm join --control-plane through \${through:-$peer}"
    ${paths.setEndpoint} "\${through:-$peer}"
    begin
    ${paths.renderConfig} ${paths.joinConfig} ${paths.renderedConfig}
    # This node's certificates first (kubeadm's own phase; the join reuses them): its etcd
    # client certificate lets it clear a member left under its name before it joins.
    # The token it joins with exists in the cluster (a rotation may make it in this same up).
    ensure_join_token ${CERTIFICATES_CONFIG}
    kubeadm join phase control-plane-prepare certs --config ${paths.renderedConfig}
${
  stacked
    ? `    remove_stale_members "$peer"
`
    : ""
}    if ! kubeadm join --config ${paths.renderedConfig}; then
      explain_failed_join
      exit 1
    fi
    break
  fi
  if [ "$node" = "$first" ] && no_cluster_anywhere; then
    echo "$node: no master of this stack holds a cluster (each refuses ports $apiserver_port $etcd_ports); kubeadm init"
    ${paths.setEndpoint} "\${through:-$own_address}"
    begin
    ${paths.renderConfig} ${paths.initConfig} ${paths.renderedConfig}
    # --skip-token-print: the join command kubeadm prints would put the token in the logs and state.
    kubeadm init --config ${paths.renderedConfig} --skip-token-print
    break
  fi
  if [ "$node" != "$first" ]; then
    reason="no other master's apiserver answers /readyz on port $apiserver_port"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "kubeadm-ha: $node gave up after \${timeout}s: $reason" >&2
    exit 1
  fi
  sleep 5
done
rm -f ${paths.renderedConfig}
touch "$done_marker"
rm -f "$started_marker"
echo "$node: kubeadm ran to completion"
`;
}

/** The address the member script joins through, when it is not a ready peer chosen at run time. */
function joinAddress(plan: ClusterPlan, master: MasterPlan): string {
  return plan.config.endpoint.mode === "local-proxy" ? ` ${master.endpointWhileJoining}` : "";
}

/**
 * A master's init or join step: becomes a member (see memberScript), points the endpoint
 * name where it stays, then waits until the node is Ready and a healthy etcd voter. The
 * first master's step (named init: on a new cluster it runs `kubeadm init`) applies the
 * CNI too (idempotent). Each step waits for the previous master's, so joins never overlap.
 */
function memberCommand(plan: ClusterPlan, master: MasterPlan, what: string): string {
  return `${header(`${what}; succeeds once the node is Ready and a healthy etcd voter.`)}
sudo ${paths.member} ${master.name}${joinAddress(plan, master)}
${master.index === 0 ? applyCni(plan) : ""}sudo ${paths.setEndpoint} ${master.endpointAfterJoin}
sudo ${paths.waitMember} ${master.name}
sudo ${paths.refreshEndpointPods} ${master.name}
`;
}

export function initCommand(plan: ClusterPlan, master: MasterPlan): string {
  return memberCommand(plan, master, `Makes ${master.name} a control-plane member (kubeadm init on a new cluster, join on an existing one), then the CNI`);
}

export function joinCommand(plan: ClusterPlan, master: MasterPlan): string {
  return memberCommand(plan, master, `kubeadm join --control-plane on ${master.name} through a master that answers`);
}

/**
 * A master's `healthy` step: after anything restarted or replaced the master (its VM's
 * machine type, image or boot config; its preparation on a host you own), waits until it
 * is healthy again: its kubelet answers, the node is Ready and a healthy etcd voter, every
 * other master's member healthy (the wait-member script), and its own apiserver answers /readyz. The
 * next master's VM and steps wait for this step: one master at a time.
 */
export function healthyCommand(master: MasterPlan): string {
  return `${header(`Waits until ${master.name} is healthy again (kubelet, Ready, etcd voter, its apiserver) before the next master's turn.`)}
deadline=$((SECONDS + ${MEMBER_READY_TIMEOUT_S}))
${waitUntilDeadline(`[ "$(curl -s --max-time 3 ${KUBELET_HEALTHZ} 2>/dev/null || true)" = "ok" ]`, `the kubelet on ${master.name} does not answer ${KUBELET_HEALTHZ} after ${MEMBER_READY_TIMEOUT_S}s; see journalctl -u kubelet on it`)}
sudo ${paths.waitMember} ${master.name} $((deadline - SECONDS))
${waitUntilDeadline(
  `[ "$(sudo kubectl --kubeconfig /etc/kubernetes/admin.conf --server https://${master.ip}:${APISERVER_PORT} get --raw=/readyz 2>/dev/null || true)" = "ok" ]`,
  `the apiserver of ${master.name} (https://${master.ip}:${APISERVER_PORT}) is not ready after ${MEMBER_READY_TIMEOUT_S}s; see crictl ps -a and its logs on it`,
)}
echo "${master.name} is healthy: kubelet, Ready, a healthy etcd voter, its apiserver ready"
`;
}
