// Renewal of the control plane's leaf certificates (apiserver, etcd, front-proxy client, the
// admin, controller-manager and scheduler kubeconfigs), before they expire, without anyone
// remembering to. The users' most filed complaint about kubeadm clusters is a control plane
// that dies one year after `kubeadm init`.
//
// One script on every master, `kubeadm-ha-certificates`, does the renewal; two things run it:
// a systemd timer on each master (between `pulumi up`s), and each master's `certificates`
// step of every `pulumi up` (in turn, one master after the other). It renews only when the
// earliest certificate expires within `kubernetes.certificates.renewBefore`, and then one
// master at a time across the cluster (a Lease in kube-system), after the cluster is
// healthy: `kubeadm certs renew all`, each static pod restarted and healthy again before the
// next, the master healthy again before the Lease goes. An interrupted run is resumed by the
// next: a manifest it had moved aside goes back first. Certificates that already expired are
// renewed without the Lease (the API cannot answer then). Pure.
import { APISERVER_PORT, ClusterPlan, MasterPlan } from "./cluster-plan";
import { ETCD_CLIENT_PORT, EtcdMemberPlan } from "./etcd-cluster";
import { ETCD_MEMBER_CERTS, ETCD_MEMBER_CONFIG, membersHealthyFunctions } from "./etcd-member";
import { MachineFile } from "./bundle";
import { certificatesConfig, KUBEADM_HA_DIR } from "./kubeadm";
import { header, leaseTakeFunction, MEMBER_READY_TIMEOUT_S, waitForFunctions, paths, printedDates, SBIN } from "./scripts";
import { durationSeconds, durationText } from "../config/durations";

export const CERTIFICATES_SCRIPT = `${SBIN}/kubeadm-ha-certificates`;
/** The kubeadm config the script's kubeadm reads (the cluster's, with the stack's validity). */
export const CERTIFICATES_CONFIG = `${KUBEADM_HA_DIR}/certificates.yaml`;
/** The systemd service and timer on each master. */
export const CERTIFICATES_UNIT = "kubeadm-ha-certificates";
/** Every file the renewal puts on a master (the reset removes them). */
export const CERTIFICATES_PATHS = [CERTIFICATES_SCRIPT, CERTIFICATES_CONFIG, `/etc/systemd/system/${CERTIFICATES_UNIT}.service`, `/etc/systemd/system/${CERTIFICATES_UNIT}.timer`];
/** The Lease in kube-system that lets one master at a time renew. */
export const CERTIFICATES_LEASE = "kubeadm-ha-certificates";
/** How long a Lease holds without its holder finishing, seconds: longer than one master's renewal. */
export const LEASE_SECONDS = 1800;
/** The line the script prints last: the earliest expiry of the machine's certificates. */
export const EXPIRY_PREFIX = "earliest-expiry=";
/** The stack output: the earliest expiry, and the renewal round `pulumi up` is in. */
export const CERTIFICATES_OUTPUT = "certificates";
/** Where the script parks a static pod's manifest while the kubelet stops the pod. */
export const PARKED_MANIFESTS = `${KUBEADM_HA_DIR}/restarting`;
const MANIFESTS = "/etc/kubernetes/manifests";

/**
 * The static pods restarted after a renewal, in order, each with the local address that
 * answers while it runs (`healthy`) and stops answering once the kubelet stopped it.
 */
export function staticPods(master: MasterPlan, etcd: "stacked" | "external" = "stacked"): Array<{ name: string; healthy: string }> {
  return [
    // kubeadm's etcd serves /health without TLS on the metrics address. (An external etcd runs
    // on machines of its own: a master has no member to restart.)
    ...(etcd === "stacked" ? [{ name: "etcd", healthy: "http://127.0.0.1:2381/health" }] : []),
    { name: "kube-apiserver", healthy: `https://${master.ip}:${APISERVER_PORT}/livez` },
    { name: "kube-controller-manager", healthy: "https://127.0.0.1:10257/healthz" },
    { name: "kube-scheduler", healthy: "https://127.0.0.1:10259/healthz" },
  ];
}

/** How often the timer checks: a quarter of the renewal window, between 5 minutes and a day, seconds. */
export function checkEverySeconds(renewBeforeS: number): number {
  return Math.min(86400, Math.max(300, Math.floor(renewBeforeS / 4 / 60) * 60));
}

/** What the stack output `certificates` holds. */
export interface CertificatesOutput {
  /** The earliest expiry of any master's (or external etcd machine's) leaf certificates when its step last ran (RFC 3339). */
  expires?: string;
  /** The renewal round: the masters' `certificates` steps run again when it changes. */
  round: string;
}

/**
 * The renewal round of this `pulumi up`, from the last up's output (`last`): a new round,
 * named after the expiry it renews, once `now` is within `renewBeforeS` of the earliest expiry
 * the last up saw; else the last round (nothing runs again), "issued" on a new stack.
 */
export function renewalRound(last: unknown, now: Date, renewBeforeS: number): string {
  const prev = (last && typeof last === "object" ? last : {}) as Partial<CertificatesOutput>;
  const expires = typeof prev.expires === "string" ? Date.parse(prev.expires) : NaN;
  if (!Number.isNaN(expires) && now.getTime() >= expires - renewBeforeS * 1000) return `renew-before-${prev.expires}`;
  return typeof prev.round === "string" ? prev.round : "issued";
}

/** The earliest of the expiries the machines' steps printed (their stdout); undefined when none did. */
export function earliestExpiry(stdouts: Array<string | undefined>): string | undefined {
  return printedDates(EXPIRY_PREFIX, stdouts).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
}

/**
 * What differs between a master's renewal and an external etcd machine's: the kubeadm config,
 * the certificates, the static pods restarted, how one machine at a time is assured (acquire,
 * release: bash functions) and how the machine is seen healthy in its cluster.
 */
interface Renewal {
  /** Whose certificates, for the header and the messages: "this master's control-plane", "this etcd member's". */
  whose: string;
  /** One of what, for the messages: "master", "etcd member". */
  one: string;
  name: string;
  config: string;
  /** The kubeadm certificates renewed: all, or the named ones. */
  certs: "all" | string[];
  pods: Array<{ name: string; healthy: string }>;
  /** Where one-at-a-time is held, for the messages ("the renewal Lease", "the renewal lock in etcd"). */
  lockName: string;
  /** bash: variables and the functions take (false, $holder set, while another holds it) and release. */
  lockFunctions: string;
  /** Where, for the message when it is never free. */
  lockWhere: string;
  /** bash: waits until this machine is healthy in its cluster (the cluster too). */
  waitHealthy: string;
  /** Actions besides expiry and renew-if-due: [usage, case branches]. */
  more?: [string, string];
}

/** `kubeadm-ha-certificates expiry|renew-if-due` on one master, its window and pods written in. */
export function certificatesScript(plan: ClusterPlan, master: MasterPlan): string {
  return renewalScript(plan, {
    whose: "this master's control-plane",
    one: "master",
    name: master.name,
    config: CERTIFICATES_CONFIG,
    certs: "all",
    pods: staticPods(master, plan.etcd.topology),
    lockName: "the cluster's Lease",
    lockWhere: "the renewal Lease kube-system/$lease",
    lockFunctions: masterLockFunctions(),
    waitHealthy: `${paths.waitMember} "$node" "$timeout"`,
    more: ["reconfigure", reconfigureBranch()],
  });
}

function renewalScript(plan: ClusterPlan, r: Renewal): string {
  const within = durationSeconds(plan.config.kubernetes.certificates.renewBefore)!;
  const pods = r.pods;
  return `${header(`Renews ${r.whose} certificates when the earliest expires within ${plan.config.kubernetes.certificates.renewBefore}, one ${r.one} at a time.`)}
usage="usage: kubeadm-ha-certificates expiry|renew-if-due${r.more ? `|${r.more[0]}` : ""}"
action="\${1:?$usage}"
node="${r.name}"
# The renewal window, seconds (a systemd drop-in may set KUBEADM_HA_RENEW_BEFORE_S).
within="\${KUBEADM_HA_RENEW_BEFORE_S:-${within}}"
timeout="\${KUBEADM_HA_CERTIFICATES_TIMEOUT_S:-${MEMBER_READY_TIMEOUT_S}}"
config="${r.config}"
parked="${PARKED_MANIFESTS}"

# read_earliest: sets expires, residual (seconds) and name of this machine's leaf certificate
# that expires first, as kubeadm reads them.
read_earliest() {
  local found
  found="$(kubeadm certs check-expiration --config "$config" -o json |
    jq -r '[.certificates[] | select(.missing != true and .externallyManaged != true)] | min_by(.residualTime) | "\\(.expirationDate) \\(.residualTime) \\(.name)"')"
  read -r expires residual name <<<"$found"
  if ! [[ "$residual" =~ ^-?[0-9]+$ ]]; then
    echo "kubeadm-ha: $node: kubeadm certs check-expiration listed no certificate ($found)" >&2
    exit 1
  fi
}

${waitForFunctions()}
# restore_parked: a manifest an interrupted run moved aside goes back first.
restore_parked() {
  local f
  for f in "$parked"/*.yaml; do
    [ -e "$f" ] || continue
    echo "$node: putting back $(basename "$f"), moved aside by an interrupted renewal"
    mv "$f" "${MANIFESTS}/"
  done
}

# restart NAME URL [MANIFEST]: the kubelet stops the static pod once its manifest is gone, and
# starts it again once it is back (the same one: on the renewed certificates; or MANIFEST, a
# new configuration's); healthy again before the next.
restart() {
  local name="$1" url="$2" new="\${3:-}" on="the renewed certificates"
  mkdir -p "$parked"
  mv "${MANIFESTS}/$name.yaml" "$parked/"
  wait_for "$name stopped" stopped "$url"
  if [ -n "$new" ]; then
    on="the cluster's configuration"
    install -m 0600 "$new" "${MANIFESTS}/$name.yaml"
    rm -f "$parked/$name.yaml"
  else
    mv "$parked/$name.yaml" "${MANIFESTS}/"
  fi
  wait_for "$name healthy on $on" healthy "$url"
  echo "$node: $name restarted on $on, healthy"
}

# health_of NAME: where the static pod NAME answers while it runs.
health_of() {
  case "$1" in
${pods.map((p) => `  ${p.name}) echo ${p.healthy} ;;`).join("\n")}
  esac
}

${r.lockFunctions}
# acquire: ${r.lockName}, held by this ${r.one}; waits while another ${r.one} renews.
acquire() {
  local wait="\${KUBEADM_HA_LEASE_WAIT_S:-$((2 * ${LEASE_SECONDS}))}" said=""
  local deadline=$((SECONDS + wait))
  until take; do
    if [ -n "$holder" ] && [ "$said" != "$holder" ]; then
      echo "$node: waiting while $holder renews its certificates (one ${r.one} at a time)"
      said="$holder"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: $node: ${r.lockWhere} stayed with \${holder:-another ${r.one}} for \${wait}s" >&2
      exit 1
    fi
    sleep 5
  done
}
print_expiry() {
  read_earliest
  echo "$node: earliest certificate expiry $expires ($name, in $((residual / 86400))d $((residual % 86400 / 3600))h)"
  echo "${EXPIRY_PREFIX}$expires"
}

case "$action" in
expiry)
  print_expiry
  ;;
renew-if-due)
  restore_parked
  read_earliest
  if [ "$residual" -gt "$within" ]; then
    echo "$node: not due: $name expires first, $expires, outside the renewal window of $((within / 3600))h$((within % 3600 / 60))m"
    print_expiry
    exit 0
  fi
  locked=false
  if [ "$residual" -gt 0 ]; then
    echo "$node: $name expires $expires, within the renewal window: renewing, one ${r.one} at a time"
    acquire
    locked=true
    trap release EXIT
    echo "$node: holds ${r.lockName}; waiting until the cluster is healthy"
    ${r.waitHealthy}
  else
    echo "$node: $name expired at $expires: renewing without ${r.lockName} (the cluster cannot answer on expired certificates)" >&2
  fi
  echo "$node: renewing started at $(date +%s)"
${r.certs === "all" ? `  kubeadm certs renew all --config "$config"` : r.certs.map((c) => `  kubeadm certs renew ${c} --config "$config"`).join("\n")}
${pods.map((p) => `  restart ${p.name} ${p.healthy}`).join("\n")}
  if $locked; then
    ${r.waitHealthy}
  fi
  echo "$node: renewing finished at $(date +%s)"
  print_expiry
  ;;
${r.more ? r.more[1] : ""}*)
  echo "$usage" >&2
  exit 2
  ;;
esac
`;
}

/** The key in etcd that lets one external etcd member at a time renew (held with an etcd lease of LEASE_SECONDS). */
export const ETCD_CERTIFICATES_LOCK = "kubeadm-ha/etcd-certificates";

/**
 * `kubeadm-ha-certificates expiry|renew-if-due` on an external etcd machine: its member's
 * certificates (kubeadm's etcd-server, etcd-peer, etcd-healthcheck-client) renewed from the
 * etcd CA it holds, etcd's static pod restarted on them. The machine has no Kubernetes API:
 * one member at a time is a key in etcd itself, put only when absent, with an etcd lease (a
 * machine that stops holding it does not hold it for ever); healthy is every member healthy.
 */
export function etcdMemberCertificatesScript(plan: ClusterPlan, member: EtcdMemberPlan): string {
  return renewalScript(plan, {
    whose: "this etcd member's",
    one: "etcd member",
    name: member.name,
    config: ETCD_MEMBER_CONFIG,
    certs: ETCD_MEMBER_CERTS,
    pods: [{ name: "etcd", healthy: "http://127.0.0.1:2381/health" }],
    lockName: "the renewal lock in etcd",
    lockWhere: `the renewal lock ${ETCD_CERTIFICATES_LOCK} in etcd`,
    lockFunctions: etcdLockFunctions(plan.etcd.members),
    waitHealthy: `wait_for "every etcd member healthy" members_healthy`,
  });
}

/** bash: the etcd machines' one-at-a-time and health, through etcd's JSON gateway with the member's health-check client certificate. */
function etcdLockFunctions(members: EtcdMemberPlan[]): string {
  const pki = "/etc/kubernetes/pki/etcd";
  return `${membersHealthyFunctions(members)}
lock_key="$(printf '%s' ${ETCD_CERTIFICATES_LOCK} | base64 -w0)"
lease_id=""

# gateway PATH BODY: etcd's JSON gateway on the first member that answers, this one last (it
# is the one that restarts).
gateway() {
  local m out
  for m in "\${members[@]}" "$node"; do
    if [ "$m" = "$node" ]; then m="$node=127.0.0.1"; elif [ "\${m%%=*}" = "$node" ]; then continue; fi
    out="$(curl -sS --max-time 5 --cacert ${pki}/ca.crt --cert ${pki}/healthcheck-client.crt \\
      --key ${pki}/healthcheck-client.key -X POST "https://\${m#*=}:${ETCD_CLIENT_PORT}$1" -d "$2" 2>/dev/null)" || continue
    if jq -e 'has("header")' >/dev/null 2>&1 <<< "$out"; then
      printf '%s\n' "$out"
      return 0
    fi
  done
  return 1
}

# take: the renewal lock, a key put only when absent, with an etcd lease of ${LEASE_SECONDS} s. False,
# with $holder set, while another member holds it; a lock this machine left (an interrupted
# run) is let go, and taken at the next try.
take() {
  local answer
  holder=""
  answer="$(gateway /v3/lease/grant '{"TTL": ${LEASE_SECONDS}}')" || return 1
  lease_id="$(jq -r .ID <<< "$answer")"
  # shellcheck disable=SC2016 # a jq program
  answer="$(gateway /v3/kv/txn "$(jq -cn --arg k "$lock_key" --arg v "$(printf '%s' "$node" | base64 -w0)" --arg l "$lease_id" \\
    '{compare: [{key: $k, target: "CREATE", create_revision: "0"}], success: [{request_put: {key: $k, value: $v, lease: $l}}], failure: [{request_range: {key: $k}}]}')")" || answer='{}'
  if jq -e '.succeeded == true' >/dev/null 2>&1 <<< "$answer"; then
    return 0
  fi
  release
  holder="$(jq -r '.responses[0].response_range.kvs[0].value // "" | @base64d' <<< "$answer" 2>/dev/null || true)"
  if [ "$holder" = "$node" ]; then
    gateway /v3/kv/deleterange "{\\"key\\": \\"$lock_key\\"}" >/dev/null || true
    holder=""
  fi
  return 1
}

release() {
  if [ -n "$lease_id" ]; then
    gateway /v3/lease/revoke "{\\"ID\\": \\"$lease_id\\"}" >/dev/null || true
    lease_id=""
  fi
}
`;
}

/** bash: the masters' one-at-a-time, the Lease kube-system/kubeadm-ha-certificates. */
function masterLockFunctions(): string {
  return `lease="${CERTIFICATES_LEASE}"
export KUBECONFIG=/etc/kubernetes/admin.conf

holder_of() {
  kubectl -n kube-system get lease "$lease" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null
}

# take: the cluster's renewal Lease, held by this master.
${leaseTakeFunction()}
take() {
  lease_take "$lease" ${LEASE_SECONDS}
}

release() {
  if [ "$(holder_of)" = "$node" ]; then
    kubectl -n kube-system delete lease "$lease" >/dev/null
  fi
}
`;
}

/** The masters' reconfigure action: the case branch. */
function reconfigureBranch(): string {
  return `reconfigure)
  # The cluster's configuration (the stack's ClusterConfiguration: flags, mounts) onto this
  # master's control plane: kubeadm writes each component's manifest for it (a dry run, into a
  # folder of its own); a component whose manifest differs is restarted on the new one, one
  # master at a time across the cluster (the Lease), healthy again before the next. Then the
  # cluster's kubeadm-config has it, for the joins and upgrades to come.
  restore_parked
  dry="$(mktemp -d)"
  KUBEADM_INIT_DRYRUN_DIR="$dry" kubeadm init phase control-plane all --config "$config" --dry-run >/dev/null
  changed=()
${RECONFIGURED.map(
  (name) => `  [ -s "$dry/${name}.yaml" ] || { echo "kubeadm-ha: $node: kubeadm wrote no ${name} manifest" >&2; exit 1; }
  cmp -s "$dry/${name}.yaml" "${MANIFESTS}/${name}.yaml" || changed+=(${name})`,
).join("\n")}
  if [ "\${#changed[@]}" -eq 0 ]; then
    echo "$node: the control plane runs on the cluster's configuration already"
  else
    echo "$node: \${changed[*]}: a new configuration; restarting one master at a time"
    acquire
    trap release EXIT
    ${paths.waitMember} "$node" "$timeout"
    for name in "\${changed[@]}"; do
      restart "$name" "$(health_of "$name")" "$dry/$name.yaml"
    done
    ${paths.waitMember} "$node" "$timeout"
  fi
  rm -rf "$dry"
  kubeadm init phase upload-config kubeadm --config "$config" >/dev/null
  echo "$node: the cluster's kubeadm-config holds the configuration"
  ;;
`;
}

/** The static pods a new ClusterConfiguration can change (reconfigure): kubeadm's control-plane phase writes them. */
export const RECONFIGURED = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

/**
 * A master's \`control-plane-config\` step: its control plane on the stack's ClusterConfiguration
 * (restarted where it changed, one master at a time; see the script's reconfigure).
 */
export function controlPlaneConfigCommand(master: MasterPlan): string {
  return `${header(`${master.name}'s control plane on the cluster's configuration (a component restarted where it changed, one master at a time).`)}sudo ${CERTIFICATES_SCRIPT} reconfigure\n`;
}

/** The service and timer that run the renewal between `pulumi up`s. */
export function certificatesUnits(plan: ClusterPlan): MachineFile[] {
  const { renewBefore } = plan.config.kubernetes.certificates;
  const everyS = checkEverySeconds(durationSeconds(renewBefore)!);
  const every = durationText(everyS);
  const service = `[Unit]
Description=kubeadm-ha: renew the control-plane certificates when the earliest expires within ${renewBefore}
After=kubelet.service

[Service]
Type=oneshot
ExecStart=${CERTIFICATES_SCRIPT} renew-if-due
`;
  const timer = `[Unit]
Description=kubeadm-ha: check the control-plane certificates every ${every}

[Timer]
OnActiveSec=${every}
OnUnitActiveSec=${every}
RandomizedDelaySec=${durationText(Math.max(60, everyS / 10))}

[Install]
WantedBy=timers.target
`;
  return [
    { path: CERTIFICATES_PATHS[2], mode: "0644", content: service },
    { path: CERTIFICATES_PATHS[3], mode: "0644", content: timer },
  ];
}

/** A master's certificate files: the script, kubeadm's config for it, the service and timer. */
export function certificatesFiles(plan: ClusterPlan, master: MasterPlan): MachineFile[] {
  return [
    { path: CERTIFICATES_SCRIPT, mode: "0755", content: certificatesScript(plan, master) },
    { path: CERTIFICATES_CONFIG, mode: "0644", content: certificatesConfig(plan, master) },
    ...certificatesUnits(plan),
  ];
}

/** An external etcd machine's certificate files: the script and the service and timer (kubeadm's config is its member config). */
export function etcdMachineCertificatesFiles(plan: ClusterPlan, member: EtcdMemberPlan): MachineFile[] {
  return [{ path: CERTIFICATES_SCRIPT, mode: "0755", content: etcdMemberCertificatesScript(plan, member) }, ...certificatesUnits(plan)];
}

/** A master's or an etcd machine's `certificates` step of `pulumi up`: the timer on, and a renewal when due. */
export function certificatesCommand(machine: { name: string }): string {
  return `${header(`Keeps ${machine.name}'s control-plane certificates renewed: its timer on, and a renewal now when due (see ${CERTIFICATES_SCRIPT}).`)}
sudo systemctl daemon-reload
sudo systemctl enable --now ${CERTIFICATES_UNIT}.timer
sudo ${CERTIFICATES_SCRIPT} renew-if-due
`;
}
