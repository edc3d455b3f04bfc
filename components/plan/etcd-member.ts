// How a machine becomes, and stays, a member of the external etcd cluster: the script that
// decides on the machine whether it starts the cluster or joins it (from what the other
// members answer, never from its index alone), clears the member a replaced machine left,
// joins as a learner and is promoted once caught up; a re-run on a member is a no-op. Pure:
// the exact text that lands on the machine (shellcheck runs on it).
import { stringify } from "yaml";
import { ClusterPlan } from "./cluster-plan";
import { MachineFile } from "./bundle";
import { CRI_SOCKET, etcdMemberConfig, KUBEADM_HA_DIR, kubeletConfiguration } from "./kubeadm";
import { SHARED_PKI_DIR } from "./pki";
import { EtcdMemberPlan, ETCD_CLIENT_PORT, INITIAL_CLUSTER_PLACEHOLDER, INITIAL_CLUSTER_STATE_PLACEHOLDER } from "./etcd-cluster";
import { ETCD_PEER_PORT, header, noClusterFunctions, ownAddressLookup, SBIN } from "./scripts";

/** The member's kubeadm config (etcd-cluster.ts etcdMemberConfig), with the placeholders below. */
export const ETCD_MEMBER_CONFIG = `${KUBEADM_HA_DIR}/etcd-member.yaml`;
/** The config with the placeholders filled in, as kubeadm last read it. */
export const ETCD_MEMBER_RENDERED = `${KUBEADM_HA_DIR}/etcd-member.rendered.yaml`;
export const ETCD_MEMBER_SCRIPT = `${SBIN}/kubeadm-ha-etcd-join`;
/** How long a member may take to start, catch up and be promoted, seconds. */
export const ETCD_MEMBER_TIMEOUT_S = 600;
/** kubeadm's etcd phases a member runs, in order: its three certificates, then its static pod. */
export const ETCD_MEMBER_CERTS = ["etcd-server", "etcd-peer", "etcd-healthcheck-client"];

/**
 * `kubeadm-ha-etcd-join NAME`, the same on every etcd machine. In order:
 *
 * - this machine holds etcd data and its static pod: it is a member already; it is promoted if
 *   an interrupted join left it a learner, and the script waits until it is healthy;
 * - another member of the stack answers: members left under this machine's name or peer URL
 *   (the machine it replaces, or a learner an interrupted join added) are removed, as etcd's
 *   replacement procedure says, and so is a learner at no address of the stack; the machine is
 *   added as a learner (retried while etcd's strict reconfiguration check calls the cluster
 *   unhealthy), starts with the members the cluster has, and is promoted once caught up;
 * - no member answers, every other member refuses the client and peer ports (so none holds a
 *   cluster), and this is the stack's first member: it starts a new cluster alone. A member
 *   that does not answer at all proves nothing: the script waits, and gives up with the
 *   reason rather than start a second cluster beside a hidden one;
 * - otherwise it waits for a member to answer, up to its timeout.
 *
 * Certificates come from kubeadm's own phases (reused when present), signed by the etcd CA the
 * secrets step wrote; the static pod from `kubeadm init phase etcd local`, which this machine's
 * kubelet runs.
 */
export function etcdJoinScript(members: EtcdMemberPlan[]): string {
  const listed = members.map((m) => `${m.name}=${m.ip}`).join(" ");
  const pki = `${SHARED_PKI_DIR}/etcd`;
  return `${header("Makes this machine a member of the external etcd cluster: joins as a learner through a member that answers, or starts the cluster when no member of the stack holds one; promoted once caught up.")}
usage="usage: kubeadm-ha-etcd-join NAME [leave]"
name="\${1:?$usage}"
action="\${2:-join}"
# name=address of every member of the stack, the first one first; the overrides are for tests.
read -r -a members <<< "\${KUBEADM_HA_ETCD_MEMBERS:-${listed}}"
timeout="\${KUBEADM_HA_ETCD_TIMEOUT_S:-${ETCD_MEMBER_TIMEOUT_S}}"
config="${ETCD_MEMBER_CONFIG}"
manifest=/etc/kubernetes/manifests/etcd.yaml
first="\${members[0]%%=*}"

${ownAddressLookup("members", "name", "an etcd member")}
own_peer_url="https://$own_address:${ETCD_PEER_PORT}"

# etcd's JSON gateway on member ADDRESS: POST /v3/cluster/member/ACTION with BODY.
etcd_api() {
  curl -sS --max-time 5 --cacert ${pki}/ca.crt \\
    --cert ${pki}/healthcheck-client.crt --key ${pki}/healthcheck-client.key \\
    -X POST "https://$1:${ETCD_CLIENT_PORT}/v3/cluster/member/$2" -d "$3"
}
# A gateway answer that is not an error (errors carry no header; jq 1.6 calls no input true).
answered() {
  [ -n "$1" ] && jq -e 'has("header")' >/dev/null 2>&1 <<< "$1"
}

# ADDRESS and member list of the first other member that answers.
answering_peer() {
  local m list
  for m in "\${members[@]}"; do
    [ "\${m%%=*}" = "$name" ] && continue
    if list="$(etcd_api "\${m#*=}" list '{}' 2>/dev/null)" && answered "$list"; then
      peer="\${m#*=}"
      peer_members="$list"
      return 0
    fi
  done
  return 1
}

${noClusterFunctions({ machines: "members", self: "name", which: "etcd's client and peer ports", ports: `${ETCD_CLIENT_PORT} ${ETCD_PEER_PORT}`, holds: "serves no member list", instead: "start a second one" })}
# The certificates of this member, from the etcd CA (kubeadm keeps valid ones it finds).
certificates() {
  local c
  for c in ${ETCD_MEMBER_CERTS.join(" ")}; do
    kubeadm init phase certs "$c" --config "$config" >/dev/null
  done
}

${staticPodFunction()}
# The IDs of members under this machine's name or peer URL in $peer_members: the machine it
# replaces, or a learner an interrupted join left (this machine has none of their data); and
# of learners at no address of the stack (they hold no data and no vote, and etcd takes one
# learner at a time).
stale_members() {
  local stack_urls=" " m
  for m in "\${members[@]}"; do
    stack_urls="\${stack_urls}https://\${m#*=}:${ETCD_PEER_PORT} "
  done
  # shellcheck disable=SC2016 # a jq filter: $n, $u, $l and $p are jq's
  jq -r --arg n "$name" --arg u "$own_peer_url" --arg l "$stack_urls" '.members[]? | select(.name == $n or any(.peerURLs[]?; . == $u) or (.isLearner == true and (any(.peerURLs[]?; . as $p | $l | contains(" " + $p + " ")) | not))) | .ID' <<< "$peer_members"
}

# --initial-cluster of the members in a gateway answer (this machine's, still nameless there, under its name).
initial_cluster_of() {
  # shellcheck disable=SC2016 # a jq filter
  jq -r --arg n "$name" --arg u "$own_peer_url" '[.members[] | (if any(.peerURLs[]; . == $u) then $n else .name end) as $m | .peerURLs[] | "\\($m)=\\(.)"] | join(",")' <<< "$1"
}

# Waits 2 s, or ends the script with $reason once the deadline has passed.
retry_or_give_up() {
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "kubeadm-ha: $name gave up after \${timeout}s: $reason" >&2
    exit 1
  fi
  sleep 2
}

# Clears the stale members, then adds this machine as a learner; sets $initial to the members
# the cluster then has. Each change is asked again until it holds: etcd drops proposals during
# an election (a lost leader), and refuses a member until every voter has been connected a
# while (its strict reconfiguration check). An add that took but whose answer was lost is
# found on the next list.
join_as_learner() {
  local id stale out
  while :; do
    if ! answering_peer; then
      reason="no other member of the stack answers on port ${ETCD_CLIENT_PORT}"
    else
      stale="$(stale_members)"
      [ -z "$stale" ] && break
      for id in $stale; do
        echo "$name: removing etcd member $id, left under this machine's name or address by an earlier one, or a learner of no member of the stack"
        out="$(etcd_api "$peer" remove "$(jq -cn --arg id "$id" '{ID: $id}')" 2>&1 || true)"
        answered "$out" || reason="etcd did not remove member $id through $peer: \${out:-no answer}"
      done
    fi
    retry_or_give_up
  done
  while :; do
    if ! answering_peer; then
      reason="no other member of the stack answers on port ${ETCD_CLIENT_PORT}"
    elif [ -n "$(own_member "$peer_members")" ]; then
      initial="$(initial_cluster_of "$peer_members")"
      return 0
    else
      out="$(etcd_api "$peer" add "$(jq -cn --arg u "$own_peer_url" '{peerURLs: [$u], isLearner: true}')" 2>&1 || true)"
      if answered "$out"; then
        initial="$(initial_cluster_of "$out")"
        return 0
      fi
      reason="etcd did not add $name as a learner through $peer: \${out:-no answer}"
    fi
    retry_or_give_up
  done
}

# This member's ID and whether it is a learner, from MEMBERS (a gateway member list).
own_member() {
  # shellcheck disable=SC2016 # a jq filter
  jq -r --arg u "$own_peer_url" '[.members[]? | select(any(.peerURLs[]?; . == $u))][0] // empty | "\\(.ID) \\(.isLearner == true)"' <<< "$1"
}

# Promoted once caught up: etcd refuses a learner behind the leader, so it is asked again.
promote_when_caught_up() {
  local out own
  while :; do
    if answering_peer; then
      own="$(own_member "$peer_members")"
      if [ -z "$own" ]; then
        reason="no member of the cluster has $name's peer URL $own_peer_url"
      elif [ "\${own#* }" = "false" ]; then
        return 0
      else
        out="$(etcd_api "$peer" promote "$(jq -cn --arg id "\${own%% *}" '{ID: $id}')" 2>&1 || true)"
        if answered "$out"; then
          echo "$name: promoted from learner to voting member"
          return 0
        fi
        reason="etcd does not promote $name yet: $out"
      fi
    else
      reason="no other member of the stack answers"
    fi
    retry_or_give_up
  done
}

deadline=$((SECONDS + timeout))
reason="nothing checked yet"
if [ "$action" = leave ]; then
  # Taken out of the stack: its member removed through another member that answers, so the
  # others keep a quorum of their own. The cluster's last member (every other one refuses
  # etcd's ports: reset) has nothing to leave; its reset takes it.
  while :; do
    if answering_peer; then
      own="$(own_member "$peer_members")"
      if [ -z "$own" ]; then
        echo "$name: not a member of the etcd cluster: nothing to leave"
        exit 0
      fi
      out="$(etcd_api "$peer" remove "$(jq -cn --arg id "\${own%% *}" '{ID: $id}')" 2>&1 || true)"
      if answered "$out"; then
        echo "$name: removed from the etcd cluster through the member at $peer"
        exit 0
      fi
      reason="etcd did not remove $name through $peer: \${out:-no answer}"
    elif no_cluster_anywhere; then
      echo "$name: the etcd cluster's last member (every other one refuses ports ${ETCD_CLIENT_PORT} ${ETCD_PEER_PORT}): nothing to leave"
      exit 0
    fi
    retry_or_give_up
  done
fi
certificates
if [ -d /var/lib/etcd/member ] && [ -f "$manifest" ]; then
  echo "$name: holds etcd data and its static pod: a member already"
elif [ -d /var/lib/etcd/member ]; then
  echo "kubeadm-ha: $name holds etcd data in /var/lib/etcd but no static pod: not starting it on a guess (the member it was may have been replaced); move /var/lib/etcd away to join as a new member" >&2
  exit 1
else
  while :; do
    if answering_peer; then
      echo "$name: the member at $peer answers; joining the cluster as a learner"
      join_as_learner
      static_pod "$initial" existing
      break
    fi
    if [ "$name" = "$first" ] && no_cluster_anywhere; then
      echo "$name: no member of this stack holds a cluster (each refuses ports ${ETCD_CLIENT_PORT} ${ETCD_PEER_PORT}); starting it"
      static_pod "$name=$own_peer_url" new
      break
    fi
    if [ "$name" != "$first" ]; then
      reason="no other member of the stack answers on port ${ETCD_CLIENT_PORT}"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: $name gave up after \${timeout}s: $reason" >&2
      exit 1
    fi
    sleep 5
  done
fi
if [ "\${#members[@]}" -gt 1 ] && { [ "$name" != "$first" ] || answering_peer; }; then
  promote_when_caught_up
fi
until [ "$(curl -s --max-time 3 --cacert ${pki}/ca.crt --cert ${pki}/healthcheck-client.crt --key ${pki}/healthcheck-client.key "https://$own_address:${ETCD_CLIENT_PORT}/health" 2>/dev/null | jq -r '.health' 2>/dev/null || true)" = "true" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "kubeadm-ha: $name's etcd is not healthy after \${timeout}s (https://$own_address:${ETCD_CLIENT_PORT}/health); see crictl ps -a and its logs on it" >&2
    exit 1
  fi
  sleep 2
done
echo "$name: a healthy voting member of the etcd cluster"
`;
}

/**
 * bash: \`static_pod INITIAL_CLUSTER STATE\`: kubeadm writes the member's static pod from its
 * config (ETCD_MEMBER_CONFIG: its release and settings), starting with the members
 * INITIAL_CLUSTER as a STATE (new or existing) cluster.
 */
export function staticPodFunction(): string {
  return `static_pod() {
  sed -e "s|${INITIAL_CLUSTER_PLACEHOLDER}|$1|" -e "s|${INITIAL_CLUSTER_STATE_PLACEHOLDER}|$2|" "${ETCD_MEMBER_CONFIG}" > "${ETCD_MEMBER_RENDERED}.tmp"
  mv "${ETCD_MEMBER_RENDERED}.tmp" "${ETCD_MEMBER_RENDERED}"
  kubeadm init phase etcd local --config "${ETCD_MEMBER_RENDERED}"
}
`;
}

/**
 * bash: \`members\` (name=address of every member of the external etcd) and
 * \`members_healthy\`: every member answers /health healthy, asked with this machine's
 * health-check client certificate.
 */
export function membersHealthyFunctions(members: EtcdMemberPlan[]): string {
  const pki = `${SHARED_PKI_DIR}/etcd`;
  return `# name=address of every member of the cluster.
members=(${members.map((m) => `${m.name}=${m.ip}`).join(" ")})

# member_get URL: GET from a member's client URL, with this machine's health-check certificate.
member_get() {
  curl -s --max-time 3 --cacert ${pki}/ca.crt --cert ${pki}/healthcheck-client.crt --key ${pki}/healthcheck-client.key "$1" 2>/dev/null
}

# members_healthy: every member of the cluster answers healthy.
members_healthy() {
  local m
  for m in "\${members[@]}"; do
    member_get "https://\${m#*=}:${ETCD_CLIENT_PORT}/health" | jq -e '.health == "true"' >/dev/null 2>&1 || return 1
  done
}
`;
}

/** The etcd machine's kubelet: standalone (no apiserver), running the member's static pod only. */
export const ETCD_KUBELET_CONFIG = `${KUBEADM_HA_DIR}/etcd-kubelet.yaml`;
/** Sorts after the package's 10-kubeadm.conf: its ExecStart is the one systemd runs. */
export const ETCD_KUBELET_DROPIN = "/etc/systemd/system/kubelet.service.d/20-kubeadm-ha-etcd.conf";

/**
 * The kubelet of an etcd machine, as kubeadm's guide to an external etcd sets it up: no
 * apiserver, no credentials, its API on loopback only, the static pods of
 * /etc/kubernetes/manifests; with the stack's own kubelet settings (cgroup driver, cgroup v1,
 * eviction and image thresholds).
 */
export function etcdKubeletConfig(plan: ClusterPlan): string {
  return stringify(
    {
      ...kubeletConfiguration(plan),
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
      authorization: { mode: "AlwaysAllow" },
      address: "127.0.0.1",
      containerRuntimeEndpoint: CRI_SOCKET,
      staticPodPath: "/etc/kubernetes/manifests",
    },
    { lineWidth: 0 },
  );
}

export function etcdKubeletDropIn(): string {
  return `# Rendered by kubeadm-ha: this machine's kubelet runs its etcd member's static pod only.
[Service]
ExecStart=
ExecStart=/usr/bin/kubelet --config=${ETCD_KUBELET_CONFIG}
Restart=always
`;
}

/** The files an etcd machine gets that are not secret: its kubeadm config, its script, its kubelet's setup. */
export function etcdMachineFiles(plan: ClusterPlan, member: EtcdMemberPlan): MachineFile[] {
  const c = plan.config;
  return [
    {
      path: ETCD_MEMBER_CONFIG,
      mode: "0644",
      content: etcdMemberConfig({ clusterName: plan.name, kubernetesVersion: c.kubernetes.version, certificateValidity: c.kubernetes.certificates.validity, member }),
    },
    { path: ETCD_MEMBER_SCRIPT, mode: "0755", content: etcdJoinScript(plan.etcd.members) },
    { path: ETCD_KUBELET_CONFIG, mode: "0644", content: etcdKubeletConfig(plan) },
    { path: ETCD_KUBELET_DROPIN, mode: "0644", content: etcdKubeletDropIn() },
  ];
}

/**
 * An etcd machine's `leave` step, run when it is taken out of the stack (or destroyed), before
 * its reset: its member removed from the cluster through another member.
 */
export function etcdLeaveCommand(member: EtcdMemberPlan): string {
  return `${header(`Takes ${member.name}'s member out of the external etcd cluster (through another member), before the machine goes.`)}
if sudo test -x ${ETCD_MEMBER_SCRIPT}; then
  sudo ${ETCD_MEMBER_SCRIPT} ${member.name} leave
fi
`;
}

/**
 * An etcd machine's `member` step: its kubelet standalone, then the member script; succeeds
 * once the member is a healthy voter. Each member's step waits for the one before it.
 */
export function etcdMemberStepCommand(member: EtcdMemberPlan): string {
  return `${header(`Makes ${member.name} a voting member of the external etcd cluster.`)}
sudo systemctl daemon-reload
sudo systemctl enable kubelet
sudo systemctl restart kubelet
sudo ${ETCD_MEMBER_SCRIPT} ${member.name}
`;
}
