// Rolling GCP and AWS worker groups without dropping a node's pods: blue-green per
// generation, as GKE's blue-green node upgrades do. A pool's generation is a digest of
// everything that makes its workers (boot config, machine type, image, disk, release); each
// zone's group is named after it, so a change makes new groups beside the old ones. The
// new generation's nodes are awaited Ready; then, before Pulumi deletes an old group, the
// delete of its hook (a control-plane step that depends on it) cordons every node of the old
// generation and drains them one at a time, PodDisruptionBudgets honoured. Pure.
import { createHash } from "crypto";
import { controllersLiveFunction, header, kubectlRetryFunction, kubeProxySettledFunction } from "./scripts";
import { UPGRADED_READY_TIMEOUT_S, DRAIN_TIMEOUT_S } from "./upgrade";
import { POOL_LABEL } from "./labels";

/** The node label naming a worker's generation (set by its join config). */
export const GENERATION_LABEL = "kubeadm-ha/generation";
/** The node label naming a worker's pool (set by its join config). */

/** A pool's generation: 8 hex digits of what makes its workers (each part as the program renders it). */
export function workerGeneration(parts: string[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 8);
}

/** The physical name of a zone's group of one generation. */
export function generationGroupName(zoneGroup: string, generation: string): string {
  return `${zoneGroup}-${generation}`;
}

/** A script run as root on a master, with the admin kubeconfig, kubectl_retry and drain_all. */
function onMaster(what: string, body: string): string {
  return `${header(what)}
sudo bash -s <<'SCRIPT'
set -euo pipefail
export KUBECONFIG=/etc/kubernetes/admin.conf
${kubectlRetryFunction()}
${controllersLiveFunction()}
${kubeProxySettledFunction()}
# drain_all WHY NODE...: every node cordoned first (no evicted pod lands on another node going
# away), then each drained in turn, PodDisruptionBudgets honoured, while the controllers run
# and no node's kube-proxy is being replaced.
drain_all() {
  local why="$1" n
  shift
  controllers_live
  kube_proxy_settled
  for n in "$@"; do kubectl_retry cordon "$n" >/dev/null; done
  for n in "$@"; do
    echo "draining $n ($why)"
    kubectl drain "$n" --ignore-daemonsets --delete-emptydir-data --timeout=${DRAIN_TIMEOUT_S}s
  done
}
${body}SCRIPT
`;
}

/**
 * The create of a pool's `ready` step: waits until the pool has as many Ready nodes of
 * `generation` as nodes of other generations (none on a new pool), so that draining the old
 * ones has somewhere to put their pods; then drains the pool's nodes that have no
 * generation at all (groups made by a version of the program before generations, which the
 * same up replaces without a hook of theirs).
 */
export function generationReadyCommand(pool: string, generation: string): string {
  return onMaster(
    `Waits until pool ${pool}'s generation ${generation} has as many Ready nodes as its older generations.`,
    `deadline=$((SECONDS + ${UPGRADED_READY_TIMEOUT_S}))
while :; do
  ready="$(kubectl_retry get nodes -l '${POOL_LABEL}=${pool},${GENERATION_LABEL}=${generation}' -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}' | grep -c '^True$' || true)"
  old="$(kubectl_retry get nodes -l '${POOL_LABEL}=${pool},${GENERATION_LABEL}!=${generation}' -o name | grep -c . || true)"
  if [ "$ready" -ge "$old" ]; then
    echo "pool ${pool}: $ready Ready node(s) of generation ${generation}, $old of older ones"
    break
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "kubeadm-ha: pool ${pool}: only $ready Ready node(s) of generation ${generation} after ${UPGRADED_READY_TIMEOUT_S}s, for $old of older ones; the old groups stay until they are" >&2
    exit 1
  fi
  sleep 5
done
# Nodes without a generation are from groups made before generations existed: this up
# replaces those groups and no hook of theirs exists to drain them, so they are drained here.
legacy="$(kubectl_retry get nodes -l '${POOL_LABEL}=${pool},!${GENERATION_LABEL}' -o jsonpath='{.items[*].metadata.name}')"
# shellcheck disable=SC2086 # one word per node
drain_all "pool ${pool}, from before generations; its group goes in this up" $legacy
`,
  );
}

/**
 * The delete of a group's hook: before the group of `generation` goes, every node of that
 * generation in the pool is cordoned, then drained one at a time. Runs on a healthy master;
 * a node that will not drain in DRAIN_TIMEOUT_S fails the step (the old group stays).
 */
export function drainGenerationCommand(pool: string, generation: string): string {
  return onMaster(
    `Cordons and drains pool ${pool}'s nodes of generation ${generation} before their group is deleted.`,
    `nodes="$(kubectl_retry get nodes -l '${POOL_LABEL}=${pool},${GENERATION_LABEL}=${generation}' -o jsonpath='{.items[*].metadata.name}')"
if [ -z "$nodes" ]; then
  echo "pool ${pool}: no node of generation ${generation} left to drain"
  exit 0
fi
# shellcheck disable=SC2086 # one word per node
drain_all "pool ${pool}, generation ${generation}" $nodes
echo "pool ${pool}: generation ${generation} drained ($(wc -w <<<"$nodes") node(s))"
`,
  );
}
