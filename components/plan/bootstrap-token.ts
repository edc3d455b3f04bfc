// The bootstrap token new nodes join with: a finite lifetime (kubernetes.bootstrapToken.ttl),
// rotated by `pulumi up` once half of it has passed, without touching running nodes (a
// joined kubelet never uses it again). A rotation is a new token in state (the random
// token's keepers name the round), created in the cluster before anything hands it out,
// then written where new nodes read it (each master's token file, the worker groups' secret
// store), and the old tokens of this program deleted last. Pure.
import { MachineFile } from "./bundle";
import { ClusterPlan } from "./cluster-plan";
import { TOKEN_DESCRIPTION, TOKEN_FILE, TOKEN_GROUPS, TOKEN_USAGES } from "./kubeadm";
import { header, printedDates, SBIN } from "./scripts";

export const BOOTSTRAP_TOKEN_SCRIPT = `${SBIN}/kubeadm-ha-bootstrap-token`;
/** The stack output: the rotation round and the current token's expiry. */
export const BOOTSTRAP_TOKEN_OUTPUT = "bootstrapToken";
/** The line the token step prints: the current token's expiry. */
export const TOKEN_EXPIRY_PREFIX = "token-expires=";
/** A kubeconfig a joining master mints from the shared CA to create the token (removed after). */
const MINTED_KUBECONFIG = "/run/kubeadm-ha/token-admin.conf";

/** What the stack output `bootstrapToken` holds. */
export interface BootstrapTokenOutput {
  /** The rotation round: a new one makes a new token. */
  round: number;
  /** When the current token expires (RFC 3339), as the cluster recorded it. */
  expires?: string;
}

/**
 * The rotation round of this `pulumi up`, from the last up's output: the next round once
 * `now` has passed half of the token's lifetime (its expiry less ttl/2); else the last
 * round; 0 on a new stack.
 */
export function tokenRound(last: unknown, now: Date, ttlS: number): number {
  const prev = (last && typeof last === "object" ? last : {}) as Partial<BootstrapTokenOutput>;
  const round = typeof prev.round === "number" && Number.isInteger(prev.round) ? prev.round : 0;
  const expires = typeof prev.expires === "string" ? Date.parse(prev.expires) : NaN;
  return !Number.isNaN(expires) && now.getTime() >= expires - (ttlS * 1000) / 2 ? round + 1 : round;
}

/** The expiry the token step printed (its stdout); undefined when it printed none. */
export function tokenExpiry(stdout: string | undefined): string | undefined {
  return printedDates(TOKEN_EXPIRY_PREFIX, [stdout])[0];
}

/**
 * Bash function `ensure_token KUBECONFIG TOKEN`: the token exists in the cluster (created
 * with the stack's lifetime when missing); prints nothing secret. kubeadm prints a created
 * token, so its output is dropped.
 */
export function ensureTokenFunction(plan: ClusterPlan): string {
  const ttl = plan.config.kubernetes.bootstrapToken.ttl;
  return `ensure_token() {
  local kc="$1" token="$2" id
  id="\${token%%.*}"
  if kubectl --kubeconfig "$kc" -n kube-system get secret "bootstrap-token-$id" >/dev/null 2>&1; then
    return 0
  fi
  echo "bootstrap token $id: creating it in the cluster (ttl ${ttl})"
  kubeadm token create "$token" --kubeconfig "$kc" --ttl ${ttl} \\
    --description "${TOKEN_DESCRIPTION}" --groups ${TOKEN_GROUPS.join(",")} --usages ${TOKEN_USAGES.join(",")} >/dev/null
}`;
}

/**
 * For the member script: before a master joins, the token in its token file exists in the
 * cluster, created with a short-lived admin credential the master mints from the shared CA
 * it holds (a rotation may make the token in the same up as a master's replacement).
 * `$1`: the kubeadm config that names the cluster's endpoint and PKI.
 */
export function joinTokenFunctions(plan: ClusterPlan): string {
  return `${ensureTokenFunction(plan)}

ensure_join_token() {
  mkdir -p "$(dirname ${MINTED_KUBECONFIG})"
  kubeadm kubeconfig user --config "$1" --client-name "kubeadm-ha:token:$node" --org kubeadm:cluster-admins --validity-period 1h > ${MINTED_KUBECONFIG}
  ensure_token ${MINTED_KUBECONFIG} "$(cat "\${KUBEADM_HA_TOKEN_FILE:-${TOKEN_FILE}}")"
  rm -f ${MINTED_KUBECONFIG}
}`;
}

/**
 * `kubeadm-ha-bootstrap-token ensure|prune` on any master, with the token its secrets step wrote:
 * `ensure` creates it in the cluster when missing and prints its expiry; `prune` deletes
 * every other token this program made (by its description), leaving tokens made by hand.
 */
export function bootstrapTokenScript(plan: ClusterPlan): string {
  return `${header("Creates the stack's bootstrap token in the cluster, or deletes this program's older tokens.")}
usage="usage: kubeadm-ha-bootstrap-token ensure|prune"
action="\${1:?$usage}"
kc=/etc/kubernetes/admin.conf
# The stack's token, as this master's secrets step wrote it.
token_file="\${KUBEADM_HA_TOKEN_FILE:-${TOKEN_FILE}}"
token="$(cat "$token_file")"
id="\${token%%.*}"
if ! [[ "$token" =~ ^[a-z0-9]{6}\\.[a-z0-9]{16}$ ]]; then
  echo "kubeadm-ha: $token_file holds no bootstrap token" >&2
  exit 2
fi

${ensureTokenFunction(plan)}

case "$action" in
ensure)
  ensure_token "$kc" "$token"
  expires="$(kubectl --kubeconfig "$kc" -n kube-system get secret "bootstrap-token-$id" -o jsonpath='{.data.expiration}' | base64 -d)"
  echo "bootstrap token $id is in the cluster, expires \${expires:-never}"
  echo "${TOKEN_EXPIRY_PREFIX}$expires"
  ;;
prune)
  # Secrets of kind bootstrap.kubernetes.io/token: their ids and descriptions (never the secrets).
  old="$(kubectl --kubeconfig "$kc" -n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token -o json |
    jq -r --arg id "$id" --arg d "${TOKEN_DESCRIPTION.split(":")[0]}:" '.items[] | select((.data.description // "" | @base64d | startswith($d)) and (.data["token-id"] | @base64d) != $id) | .data["token-id"] | @base64d')"
  for old_id in $old; do
    echo "bootstrap token $old_id: an older token of this program; deleting it"
    kubeadm token delete "$old_id" --kubeconfig "$kc" >/dev/null
  done
  echo "bootstrap tokens of this program: $id only"
  ;;
*)
  echo "$usage" >&2
  exit 2
  ;;
esac
`;
}

/** The token script, on every master. */
export function bootstrapTokenFiles(plan: ClusterPlan): MachineFile[] {
  return [{ path: BOOTSTRAP_TOKEN_SCRIPT, mode: "0755", content: bootstrapTokenScript(plan) }];
}

/** A control-plane step's command: the token script's action. */
export function bootstrapTokenCommand(action: "ensure" | "prune"): string {
  const what = action === "ensure" ? "Creates the stack's bootstrap token in the cluster when missing" : "Deletes this program's bootstrap tokens other than the stack's";
  return `${header(`${what} (see ${BOOTSTRAP_TOKEN_SCRIPT}).`)}
sudo ${BOOTSTRAP_TOKEN_SCRIPT} ${action}
`;
}
