// etcd backups: scheduled snapshots taken by one healthy master at a time, written to a
// destination that outlives the masters, and a restore of every member from one snapshot for
// the case where a majority of them is lost (kops backs etcd up every 15 minutes to object
// storage; RKE2 twice a day).
//
// One script on every master (and, with an external etcd, on every etcd machine: the restore's
// member phases run there), `kubeadm-ha-etcd-backup`:
// - `snapshot-if-due`, run by a systemd timer on every master: when the last snapshot of the
//   cluster is older than the interval, the master that gets the cluster's Lease
//   (kube-system/kubeadm-ha-etcd-backup, which also records the last snapshot) takes one from
//   its own etcd member, checks it, sends it to the destination and prunes the ones past their
//   days. Any master can: losing one does not stop the backups.
// - `snapshot [REASON]`: one now (on demand; before an upgrade), one at a time as well.
//   Both hold a lock on the master as well (its timer and a step of pulumi up may start
//   together), and a step that finds the snapshot its timer just took reports it as its own.
// - `list`, `fetch NAME FILE`: what the destination holds; one snapshot to a local file.
// - `restore-stop`, `restore FILE TOKEN`, `restore-start-etcd`, `restore-start-apiserver`: the
//   restore's phases on one machine, which `pulumi up` with `restore` set runs on every machine
//   in turn (every apiserver and etcd stopped; every member restored from the same file with
//   the same initial cluster and a fresh cluster token; the etcd members started together,
//   then the apiservers; see restoreTurns). The data a restore replaces is moved aside, never
//   deleted.
//
// With an external etcd the masters still take the snapshots (their timer, the Lease and the
// destination are the same): from the first external member that answers healthy, with the
// apiservers' own client certificate.
//
// etcdctl and etcdutl run from the etcd image the machine already has (its static pod's; on a
// master of an external etcd, the one kubeadm names for its release), with containerd's ctr:
// no etcd binary on the host, and no apiserver needed to restore. Pure.
import { createHash } from "crypto";
import { APISERVER_PORT, ClusterPlan, MasterPlan } from "./cluster-plan";
import { clientUrl, EXTERNAL_ETCD_CLIENT } from "./etcd-cluster";
import { MachineFile } from "./bundle";
import { KUBEADM_HA_DIR } from "./kubeadm";
import { ETCD_PEER_PORT, header, leaseTakeFunction, MEMBER_READY_TIMEOUT_S, SBIN, waitForFunctions } from "./scripts";
import { durationSeconds } from "../config/durations";
import { ClusterConfig } from "../config/validate";

export const BACKUP_SCRIPT = `${SBIN}/kubeadm-ha-etcd-backup`;
/** The systemd service and timer on each master. */
export const BACKUP_UNIT = "kubeadm-ha-etcd-backup";
/** Where the destination is described (not secret). */
export const BACKUP_CONFIG = `${KUBEADM_HA_DIR}/etcd-backup.env`;
/** An S3-compatible endpoint's credentials (0600, from the stack's secrets). */
export const BACKUP_CREDENTIALS = `${KUBEADM_HA_DIR}/etcd-backup-credentials.env`;
/** Where a snapshot is written before it goes to the destination, and where a restore's file is fetched. */
export const BACKUP_STAGING = "/var/lib/kubeadm-ha/etcd-backups";
/** The Lease that lets one master at a time take a snapshot; its annotation records the last one. */
export const BACKUP_LEASE = "kubeadm-ha-etcd-backup";
export const LAST_SNAPSHOT_ANNOTATION = "kubeadm-ha/last-snapshot";
/** How long the Lease holds without its holder finishing, seconds: longer than a snapshot and its upload. */
export const BACKUP_LEASE_SECONDS = 900;
/** Where a restore parks the static pods' manifests while it runs. */
export const RESTORE_PARKED = `${KUBEADM_HA_DIR}/restoring`;
/** The line `snapshot` prints last: the name of the snapshot it took. */
export const SNAPSHOT_PREFIX = "snapshot=";
/** Every file the backups put on a master (the reset removes them; BACKUP_STAGING too). */
export const BACKUP_PATHS = [BACKUP_SCRIPT, BACKUP_CONFIG, BACKUP_CREDENTIALS, `/etc/systemd/system/${BACKUP_UNIT}.service`, `/etc/systemd/system/${BACKUP_UNIT}.timer`];
/** The default folder of the `directory` destination. */
export { DEFAULT_BACKUP_DIRECTORY } from "../config/schema";

const MANIFESTS = "/etc/kubernetes/manifests";
/** What a restore adds to etcd's revision: more than any cluster writes between a snapshot and its restore. */
export const RESTORE_REVISION_BUMP = 1_000_000_000;
/** The static pods that cache the API's history: stopped for a restore with the apiserver, started after it on the restored data. */
const CONTROLLERS = [
  { name: "kube-controller-manager", healthz: "https://127.0.0.1:10257/healthz" },
  { name: "kube-scheduler", healthz: "https://127.0.0.1:10259/healthz" },
];
/** sha256 of an empty payload, as S3's SigV4 signs a request without a body. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const PKI = "/etc/kubernetes/pki";
const ETCD_PKI = `${PKI}/etcd`;
const ETCD_DATA = "/var/lib/etcd";

/** Where snapshots go, as the masters' script reads it (BACKUP_CONFIG). */
export type BackupDestination =
  { kind: "directory"; path: string } | { kind: "gcs"; bucket: string } | { kind: "s3"; bucket: string; region: string; endpoint?: string; credentials: "instance-role" | "keys" };

/** Bytes of the random suffix that makes a bucket's name unique in its cloud. */
export const BUCKET_SUFFIX_BYTES = 4;
/** Days a bucket keeps a snapshot's older version (an object overwritten or deleted by hand). */
export const NONCURRENT_DAYS = 1;

/** The name of the bucket the program makes: `<cluster>-etcd-backups-<hex>`, at most 42 characters. */
export function backupBucketName(cluster: string, suffixHex: string): string {
  return `${cluster}-etcd-backups-${suffixHex}`;
}

/**
 * The destination the stack names itself (a directory, an endpoint of yours); undefined for
 * a bucket, which the platform makes, and when backups are off.
 */
export function configuredDestination(c: ClusterConfig): BackupDestination | undefined {
  const b = c.backups;
  if (!b.enabled || b.destination === "bucket") return undefined;
  if (b.destination === "directory") return { kind: "directory", path: b.path! };
  return { kind: "s3", bucket: b.s3!.bucket, region: b.s3!.region, endpoint: b.s3!.endpoint.replace(/\/$/, ""), credentials: "keys" };
}

/** Where a destination keeps the cluster's snapshots, as a reviewer reads it (render, outputs). */
export function destinationUrl(d: BackupDestination, cluster: string): string {
  switch (d.kind) {
    case "directory":
      return `file://${d.path}/${cluster}/`;
    case "gcs":
      return `gs://${d.bucket}/${cluster}/`;
    case "s3":
      return d.endpoint ? `${d.endpoint}/${d.bucket}/${cluster}/` : `s3://${d.bucket}/${cluster}/`;
  }
}

/**
 * The masters' IAM policy on AWS: add objects under the cluster's prefix of the bucket, and
 * nothing else (no read, list or delete: a stolen master cannot read or remove backups).
 */
export function awsBackupWritePolicy(bucketArn: string, cluster: string): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${bucketArn}/${cluster}/*`] }] });
}

/** How often the timer checks: a third of the interval, from one minute: a snapshot is at most that late. */
export function backupCheckSeconds(everyS: number): number {
  return Math.max(60, Math.floor(everyS / 3));
}

/** A snapshot's object name under the cluster's prefix: sorts by time; says which master took it. */
export function snapshotName(cluster: string, takenAt: Date, master: string): string {
  const t = takenAt
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${cluster}/${t}-${master}.db`;
}

/** The masters' BACKUP_CONFIG: the destination, the interval and the days kept. */
export function backupConfig(plan: ClusterPlan, destination: BackupDestination): string {
  const b = plan.config.backups;
  const lines: Record<string, string> = {
    CLUSTER: plan.name,
    EVERY_S: String(durationSeconds(b.every)),
    KEEP_DAYS: String(b.keepDays),
    DESTINATION: destination.kind,
    ...(destination.kind === "directory" ? { DIRECTORY: destination.path } : {}),
    ...(destination.kind === "gcs" ? { BUCKET: destination.bucket } : {}),
    ...(destination.kind === "s3"
      ? { BUCKET: destination.bucket, REGION: destination.region, ...(destination.endpoint ? { ENDPOINT: destination.endpoint } : {}), CREDENTIALS: destination.credentials }
      : {}),
  };
  return Object.entries(lines)
    .map(([k, v]) => `${k}=${shellWord(v)}\n`)
    .join("");
}

/** An S3-compatible endpoint's keys, as BACKUP_CREDENTIALS holds them (secret). */
export function backupCredentials(accessKeyId: string, secretAccessKey: string): string {
  return `ACCESS_KEY_ID=${shellWord(accessKeyId)}\nSECRET_ACCESS_KEY=${shellWord(secretAccessKey)}\n`;
}

/** One value for a file that bash sources: single-quoted. */
function shellWord(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/** A machine the backup script runs on: a master, or a machine of an external etcd. */
export type BackupRole = "master" | "etcd";

/** The members a restore makes: the masters' (stacked) or the etcd machines' (external). */
export function restoredMembers(plan: ClusterPlan): Array<{ name: string; ip: string }> {
  return plan.etcd.topology === "external" ? plan.etcd.members : plan.masters;
}

/** `--initial-cluster` of a restore: every member of the plan, at its peer URL. */
export function initialCluster(plan: ClusterPlan): string {
  return restoredMembers(plan)
    .map((m) => `${m.name}=https://${m.ip}:${ETCD_PEER_PORT}`)
    .join(",");
}

/**
 * `kubeadm-ha-etcd-backup` on one machine. A master takes snapshots and stops and starts its
 * apiserver in a restore; a machine with an etcd member (a master of a stacked etcd, an
 * external etcd's machine) has its member restored.
 */
export function backupScript(plan: ClusterPlan, machine: { name: string; ip: string }, role: BackupRole = "master"): string {
  const external = plan.etcd.topology === "external";
  const apiserver = role === "master";
  const member = role === "etcd" || !external;
  const actions = [
    ...(apiserver ? ["snapshot-if-due", "snapshot [REASON]"] : []),
    "list",
    "fetch NAME FILE",
    "restore-stop",
    ...(member ? ["restore FILE TOKEN", "restore-start-etcd"] : []),
    ...(apiserver ? ["restore-start-apiserver"] : []),
  ];
  const stopped = [...(apiserver ? ["apiserver, controller-manager, scheduler"] : []), ...(member ? ["etcd"] : [])].join(" and ");
  return `${header(apiserver ? `Takes etcd snapshots to the cluster's backup destination, one master at a time${member ? "; restores this master's member from one" : ""}.` : "Restores this machine's etcd member from a snapshot of the cluster's backup destination.")}
usage="usage: kubeadm-ha-etcd-backup ${actions.join(" | ")}"
action="\${1:?$usage}"
node="${machine.name}"
${
  member
    ? `peer_url="https://${machine.ip}:${ETCD_PEER_PORT}"
initial_cluster="${initialCluster(plan)}"
`
    : ""
}timeout="\${KUBEADM_HA_BACKUP_TIMEOUT_S:-${MEMBER_READY_TIMEOUT_S}}"
staging="${BACKUP_STAGING}"
parked="${RESTORE_PARKED}"
${
  apiserver
    ? `lease="${BACKUP_LEASE}"
export KUBECONFIG=/etc/kubernetes/admin.conf
`
    : ""
}# shellcheck source=/dev/null
. "${BACKUP_CONFIG}"
if [ "\${CREDENTIALS:-}" = keys ]; then
  # shellcheck source=/dev/null
  . "${BACKUP_CREDENTIALS}"
fi

say() { echo "$node: $*"; }
fail() {
  echo "kubeadm-ha: $node: $*" >&2
  exit 1
}

${waitForFunctions()}
${
  member
    ? `# etcd_image: the image of this machine's etcd static pod (running, or parked by a restore).
etcd_image() {
  image="$(cat ${MANIFESTS}/etcd.yaml "$parked/etcd.yaml" 2>/dev/null | sed -n 's/^[ -]*image: *//p' | head -1 || true)"
  [ -n "$image" ] || fail "no etcd image in ${MANIFESTS}/etcd.yaml"
}`
    : `# etcd_image: the etcd image kubeadm names for this master's release (a master of an external
# etcd runs no etcd pod); pulled when the machine does not have it (a bundle imports it).
etcd_image() {
  image="$(kubeadm config images list --kubernetes-version "$(kubeadm version -o short)" 2>/dev/null | grep '/etcd:' || true)"
  [ -n "$image" ] || fail "kubeadm config images list names no etcd image"
  if ! ctr -n k8s.io images ls -q "name==$image" | grep -q .; then
    ctr -n k8s.io images pull "$image" >/dev/null || fail "cannot pull $image for etcdctl"
  fi
}`
}

# etcd_tool TOOL ARGS...: etcdctl or etcdutl from the etcd image, with the Kubernetes
# certificates, the data folder's parent and the staging folder mounted at their own paths.
etcd_tool() {
  local image
  etcd_image
  mkdir -p "$staging"
  ctr -n k8s.io run --rm --net-host \\
    --mount "type=bind,src=${PKI},dst=${PKI},options=rbind:ro" \\
    --mount "type=bind,src=/var/lib,dst=/var/lib,options=rbind:rw" \\
    "$image" "kubeadm-ha-etcd-$$-$RANDOM" "$@"
}
${
  apiserver
    ? `
# etcdctl_at URL ARGS...: etcdctl against one member: ${external ? "an external member, with the apiservers' client certificate" : "this master's own, with its healthcheck client certificate"}.
etcdctl_at() {
  local url="$1"
  shift
  etcd_tool etcdctl --endpoints="$url" --cacert=${ETCD_PKI}/ca.crt \\
    --cert=${external ? EXTERNAL_ETCD_CLIENT.certFile : `${ETCD_PKI}/healthcheck-client.crt`} --key=${external ? EXTERNAL_ETCD_CLIENT.keyFile : `${ETCD_PKI}/healthcheck-client.key`} "$@"
}

# snapshot_source: sets $source, the member a snapshot is taken from: ${external ? "the first external member that answers healthy" : "this master's own, when healthy"}.
snapshot_source() {
  local url members=(${external ? plan.etcd.members.map(clientUrl).join(" ") : "https://127.0.0.1:2379"})
  for url in "\${members[@]}"; do
    if etcdctl_at "$url" endpoint health >/dev/null; then
      source="$url"
      return 0
    fi
  done
  return 1
}
`
    : ""
}
# --- the destination: put, list, get, prune ---------------------------------------------------
gcs_token() {
  curl -sf -H 'Metadata-Flavor: Google' \\
    http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token | jq -r .access_token
}

# s3 METHOD KEY [CURL ARGS...]: a signed request for KEY in the bucket (an endpoint of yours:
# path-style; AWS: the bucket's own host), with the stack's keys or the instance role's
# credentials (IMDSv2). S3 wants the payload's sha256 signed (x-amz-content-sha256): $body's,
# the file a PUT sends, else the empty payload's.
s3() {
  local method="$1" key="$2" url id secret session=() imds creds role payload=${EMPTY_SHA256}
  url="\${ENDPOINT:-https://$BUCKET.s3.$REGION.amazonaws.com}"
  if [ -n "\${ENDPOINT:-}" ]; then url="$url/$BUCKET"; fi
  shift 2
  if [ "$CREDENTIALS" = keys ]; then
    id="$ACCESS_KEY_ID"
    secret="$SECRET_ACCESS_KEY"
  else
    imds="$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)"
    role="$(curl -sf -H "X-aws-ec2-metadata-token: $imds" http://169.254.169.254/latest/meta-data/iam/security-credentials/)"
    creds="$(curl -sf -H "X-aws-ec2-metadata-token: $imds" "http://169.254.169.254/latest/meta-data/iam/security-credentials/$role")"
    id="$(jq -r .AccessKeyId <<<"$creds")"
    secret="$(jq -r .SecretAccessKey <<<"$creds")"
    session=(-H "x-amz-security-token: $(jq -r .Token <<<"$creds")")
  fi
  if [ -n "\${body:-}" ]; then
    payload="$(sha256sum "$body" | cut -d' ' -f1)"
    set -- "$@" -T "$body"
  fi
  curl -sf -X "$method" --aws-sigv4 "aws:amz:$REGION:s3" --user "$id:$secret" -H "x-amz-content-sha256: $payload" "\${session[@]}" "$@" "$url/$key"
}

put() {
  local file="$1" name="$2"
  case "$DESTINATION" in
  directory) install -D -m 0600 "$file" "$DIRECTORY/$name" ;;
  gcs) curl -sf -X POST --data-binary "@$file" -H "Authorization: Bearer $(gcs_token)" -H 'Content-Type: application/octet-stream' \\
    "https://storage.googleapis.com/upload/storage/v1/b/$BUCKET/o?uploadType=media&name=$(jq -rn --arg n "$name" '$n|@uri')" >/dev/null ;;
  s3) body="$file" s3 PUT "$name" >/dev/null ;;
  esac
}

# readable: whether the masters may read the destination: a directory or an endpoint of yours.
# The bucket the program makes lets them add snapshots only (its lifecycle rule prunes).
readable() {
  [ "$DESTINATION" = directory ] || [ "\${CREDENTIALS:-}" = keys ]
}

must_read() {
  readable || fail "the masters may only add snapshots to the $DESTINATION bucket $BUCKET; read it with your own credentials (gcloud storage ls / aws s3 ls), and give restore.file the snapshot you downloaded"
}

# list: the cluster's snapshot names, oldest first.
list() {
  case "$DESTINATION" in
  directory) (cd "$DIRECTORY" 2>/dev/null && find "$CLUSTER" -name '*.db' -type f 2>/dev/null | sort) || true ;;
  gcs) curl -sf -H "Authorization: Bearer $(gcs_token)" "https://storage.googleapis.com/storage/v1/b/$BUCKET/o?prefix=$CLUSTER/&fields=items(name)" | jq -r '.items[]?.name' | sort ;;
  s3) s3 GET "?list-type=2&prefix=$CLUSTER%2F" | grep -o '<Key>[^<]*</Key>' | sed 's/<Key>\\(.*\\)<\\/Key>/\\1/' | sort ;;
  esac
}

get() {
  local name="$1" file="$2"
  case "$DESTINATION" in
  directory) cp "$DIRECTORY/$name" "$file" ;;
  gcs) curl -sf -o "$file" -H "Authorization: Bearer $(gcs_token)" "https://storage.googleapis.com/storage/v1/b/$BUCKET/o/$(jq -rn --arg n "$name" '$n|@uri')?alt=media" ;;
  s3) s3 GET "$name" -o "$file" ;;
  esac
}

# prune: snapshots older than KEEP_DAYS (by the time in their names). Buckets the program
# makes also have a lifecycle rule; this covers a directory and an endpoint of yours.
prune() {
  local cutoff name stamp
  readable || return 0
  cutoff="$(date -u -d "-$KEEP_DAYS days" +%Y%m%dT%H%M%SZ)"
  for name in $(list); do
    stamp="$(basename "$name")"
    stamp="\${stamp%%-*}"
    if [[ "$stamp" < "$cutoff" ]]; then
      case "$DESTINATION" in
      directory) rm -f "$DIRECTORY/$name" ;;
      s3) s3 DELETE "$name" >/dev/null || true ;;
      esac
      say "pruned $name (older than $KEEP_DAYS days)"
    fi
  done
}

${
  apiserver
    ? `# --- one master at a time: the Lease ------------------------------------------------------------
# last_snapshot: sets $last (epoch seconds of the cluster's last snapshot; 0: none yet) and
# $last_name (its name; none).
last_snapshot() {
  local v
  v="$(kubectl -n kube-system get lease "$lease" -o json 2>/dev/null |
    jq -r --arg a "${LAST_SNAPSHOT_ANNOTATION}" '.metadata.annotations[$a] // "0 none"')" || v="0 none"
  last="\${v%% *}"
  last_name="\${v#* }"
}

# not_due: the cluster's last snapshot is younger than the interval (less the timer's slack).
not_due() {
  [ $(($(date +%s) - last)) -lt $((EVERY_S - \${KUBEADM_HA_BACKUP_SLACK_S:-60})) ]
}

# here_one_at_a_time: one snapshot at a time on this master. Its timer and a pulumi up's step
# can start in the same second (the first up enables the timer, whose boot delay is long past),
# and the cluster's Lease is this master's for both: without the lock they write one file.
here_one_at_a_time() {
  mkdir -p "$(dirname "$staging")"
  exec 9>"$staging.lock"
  flock -w "$timeout" 9 || fail "another snapshot on this master held $staging.lock for \${timeout}s"
}

# acquire: the Lease, held by this master; false when another master holds it.
${leaseTakeFunction()}
acquire() {
  if lease_take "$lease" ${BACKUP_LEASE_SECONDS}; then
    return 0
  fi
  if [ -n "$holder" ]; then say "$holder is taking a snapshot"; fi
  return 1
}

# release [EPOCH NAME]: the Lease let go, recording the snapshot taken when there is one.
release() {
  local current
  current="$(kubectl -n kube-system get lease "$lease" -o json)" || return 0
  [ "$(jq -r '.spec.holderIdentity // ""' <<<"$current")" = "$node" ] || return 0
  jq --arg a "${LAST_SNAPSHOT_ANNOTATION}" --arg v "\${1:-}" \\
    '.spec.holderIdentity = "" | if $v != "" then .metadata.annotations[$a] = $v else . end' <<<"$current" |
    kubectl replace -f - >/dev/null
}

# take REASON: a snapshot of this master's member, checked, sent, recorded; prints its name.
take() {
  local reason="$1" now name file status
  trap release EXIT
  now="$(date +%s)"
  name="$CLUSTER/$(date -u -d "@$now" +%Y%m%dT%H%M%SZ)-$node.db"
  file="$staging/$(basename "$name")"
  snapshot_source || fail "${external ? `no external etcd member is healthy (${plan.etcd.members.map((m) => m.name).join(", ")})` : "this master's etcd member is not healthy"}: no snapshot from it"
  say "taking snapshot $name ($reason${external ? ", from $source" : ""})"
  rm -f "$file.part"
  etcdctl_at "$source" snapshot save "$file.part" >/dev/null
  status="$(etcd_tool etcdutl snapshot status "$file.part" -w json)" || fail "snapshot $name does not read back"
  mv "$file.part" "$file"
  put "$file" "$name" || fail "could not send $name to the $DESTINATION destination"
  rm -f "$file"
  release "$now $name"
  trap - EXIT
  say "snapshot $name sent to the $DESTINATION destination: revision $(jq -r .revision <<<"$status"), $(jq -r .totalKey <<<"$status") keys, $(jq -r .totalSize <<<"$status") bytes"
  prune
  echo "${SNAPSHOT_PREFIX}$name"
}
`
    : ""
}
# --- restore: this machine's phases -----------------------------------------------------------------
${member ? `etcd_healthy() { curl -s --max-time 3 http://127.0.0.1:2381/health 2>/dev/null | jq -e '.health == "true"' >/dev/null 2>&1; }\n` : ""}${apiserver ? `apiserver_ready() { [ "$(curl -sk --max-time 3 "https://${machine.ip}:${APISERVER_PORT}/readyz" 2>/dev/null || true)" = ok ]; }\n` : ""}
park() {
  mkdir -p "$parked"
  if [ -e "${MANIFESTS}/$1.yaml" ]; then mv "${MANIFESTS}/$1.yaml" "$parked/"; fi
}
unpark() {
  if [ -e "$parked/$1.yaml" ]; then mv "$parked/$1.yaml" "${MANIFESTS}/"; fi
}

case "$action" in
${
  apiserver
    ? `snapshot-if-due)
  started="$(date +%s)"
  here_one_at_a_time
  last_snapshot
  if not_due; then
    if [ "$last" -ge "$started" ]; then
      # Taken on this master while this run waited for the lock (its timer): this run's too.
      say "snapshot $last_name was just taken on this master"
      echo "${SNAPSHOT_PREFIX}$last_name"
      exit 0
    fi
    say "not due: the last snapshot is $(($(date +%s) - last)) s old, the interval $EVERY_S s"
    exit 0
  fi
  acquire || exit 0
  # Another master may have taken one while this one waited for the Lease.
  last_snapshot
  if not_due; then
    release
    say "not due any more: another master took one"
    exit 0
  fi
  take scheduled
  ;;
snapshot)
  here_one_at_a_time
  deadline=$((SECONDS + timeout))
  until acquire; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the backup Lease kube-system/$lease stayed with another master for \${timeout}s"
    sleep 5
  done
  take "\${2:-on demand}"
  ;;
`
    : ""
}
list)
  must_read
  list
  ;;
fetch)
  must_read
  name="\${2:?$usage}"
  file="\${3:?$usage}"
  mkdir -p "$(dirname "$file")"
  get "$name" "$file.part" || fail "could not fetch $name from the $DESTINATION destination"
  etcd_tool etcdutl snapshot status "$file.part" -w json >/dev/null || fail "$name is not an etcd snapshot"
  mv "$file.part" "$file"
  say "fetched $name to $file"
  ;;
restore-stop)
  # The apiserver first (nothing writes), with the controller-manager and the scheduler (their
  # caches hold the history the restore takes back: they start again on the restored one),
  # then etcd; all stay parked until the start phases.
${[
  ...(apiserver
    ? [
        `  park kube-apiserver`,
        `  wait_for "the apiserver stopped" stopped "https://${machine.ip}:${APISERVER_PORT}/livez"`,
        ...CONTROLLERS.map((c) => `  park ${c.name}\n  wait_for "${c.name} stopped" stopped ${c.healthz}`),
      ]
    : []),
  ...(member ? [`  park etcd`, `  wait_for "etcd stopped" stopped http://127.0.0.1:2381/health`] : []),
].join("\n")}
  say "${stopped} stopped"
  ;;
${
  member
    ? `restore)
  file="\${2:?$usage}"
  token="\${3:?$usage}"
  [ -e "$parked/etcd.yaml" ] || fail "etcd is not stopped: run restore-stop first"
  # Whatever the member held (a new cluster it started on its own, a half-made folder) stays
  # beside it; etcdutl restores into an empty folder only.
  if [ -n "$(ls -A ${ETCD_DATA} 2>/dev/null)" ]; then
    aside="${ETCD_DATA}.before-restore-$(date +%Y%m%dT%H%M%S)"
    mv "${ETCD_DATA}" "$aside"
    say "this member's data moved aside to $aside"
  fi
  # The revision moves on past anything a client saw before (and what is older reads as
  # compacted): watches and caches of the history the restore takes back break and list again,
  # as etcd's restore for Kubernetes asks (etcd-io/etcd#16028).
  etcd_tool etcdutl snapshot restore "$file" --name "$node" --initial-cluster "$initial_cluster" \\
    --initial-cluster-token "$token" --initial-advertise-peer-urls "$peer_url" --data-dir ${ETCD_DATA} \\
    --bump-revision ${RESTORE_REVISION_BUMP} --mark-compacted >/dev/null
  chmod 0700 ${ETCD_DATA}
  say "member restored from $file (initial cluster $initial_cluster, token $token)"
  ;;
restore-start-etcd)
  unpark etcd
  wait_for "etcd running" answers http://127.0.0.1:2381/health
  say "etcd started"
  ;;
`
    : ""
}
${
  apiserver
    ? `restore-start-apiserver)
${member ? `  wait_for "etcd healthy" etcd_healthy\n` : ""}  unpark kube-apiserver
  wait_for "the apiserver ready" apiserver_ready
${CONTROLLERS.map((c) => `  unpark ${c.name}`).join("\n")}
  say "apiserver ready; controller-manager and scheduler started on the restored data"
  ;;
`
    : ""
}*)
  echo "$usage" >&2
  exit 2
  ;;
esac
`;
}

/** A master's backup files: the script, where snapshots go, the service and timer. */
export function backupFiles(plan: ClusterPlan, master: MasterPlan, destination: BackupDestination): MachineFile[] {
  return [
    { path: BACKUP_SCRIPT, mode: "0755", content: backupScript(plan, master) },
    { path: BACKUP_CONFIG, mode: "0644", content: backupConfig(plan, destination) },
    ...backupUnits(plan),
  ];
}

/**
 * An external etcd machine's backup files: the script (a restore's member phases; the masters
 * take the snapshots) and where snapshots are, which a restore fetches from. No timer.
 */
export function etcdMachineBackupFiles(plan: ClusterPlan, member: { name: string; ip: string }, destination: BackupDestination): MachineFile[] {
  return [
    { path: BACKUP_SCRIPT, mode: "0755", content: backupScript(plan, member, "etcd") },
    { path: BACKUP_CONFIG, mode: "0644", content: backupConfig(plan, destination) },
  ];
}

/**
 * A master's `backups` step of `pulumi up`: its timer on and a snapshot when one is due (the
 * first up of a cluster takes one: the destination proves writable before the up ends), or,
 * with backups off, its timer off.
 */
export function backupCommand(master: MasterPlan, enabled: boolean): string {
  if (!enabled) {
    return `${header(`Backups are off: ${master.name}'s snapshot timer off.`)}
sudo systemctl disable --now ${BACKUP_UNIT}.timer 2>/dev/null || true
echo "${master.name}: etcd backups off"
`;
  }
  return `${header(`Keeps ${master.name}'s etcd snapshot timer on, and takes a snapshot when one is due (see ${BACKUP_SCRIPT}).`)}
sudo systemctl daemon-reload
sudo systemctl enable --now ${BACKUP_UNIT}.timer
sudo ${BACKUP_SCRIPT} snapshot-if-due
`;
}

/** What the stack output \`backups\` holds. */
export interface BackupsOutput {
  enabled: boolean;
  every?: string;
  keepDays?: number;
  /** Where the snapshots are (destinationUrl). */
  destination?: string;
  /** The snapshot this up took, when it took one. */
  taken?: string;
}

/** The snapshot the masters' steps printed they took (their stdout), if any. */
export function snapshotTaken(stdouts: Array<string | undefined>): string | undefined {
  return stdouts
    .flatMap((o) => (o ?? "").split("\n"))
    .filter((l) => l.startsWith(SNAPSHOT_PREFIX))
    .map((l) => l.slice(SNAPSHOT_PREFIX.length).trim())
    .pop();
}

/** A restore's phases (see backupScript). */
export const RESTORE_PHASES = ["stop", "member", "start-etcd", "start-apiserver"] as const;
export type RestorePhase = (typeof RESTORE_PHASES)[number];

/** One turn of a restore: a phase, run on every machine of a kind before the next turn starts. */
export interface RestoreTurn {
  phase: RestorePhase;
  on: BackupRole;
}

/**
 * A restore's turns. Stacked: each phase on every master. External: the apiservers stopped
 * first (nothing writes), then the members, which are restored and started on their own
 * machines; the apiservers started last.
 */
export function restoreTurns(plan: ClusterPlan): RestoreTurn[] {
  if (plan.etcd.topology === "stacked") return RESTORE_PHASES.map((phase) => ({ phase, on: "master" }));
  return [
    { phase: "stop", on: "master" },
    { phase: "stop", on: "etcd" },
    { phase: "member", on: "etcd" },
    { phase: "start-etcd", on: "etcd" },
    { phase: "start-apiserver", on: "master" },
  ];
}
/** Where restore.file is copied to on each master (as the SSH user), and where the restore reads it. */
export const RESTORE_UPLOAD = "/var/tmp/kubeadm-ha-restore.db";
export const RESTORE_FILE = `${BACKUP_STAGING}/restore.db`;

/**
 * The cluster token of a restore: new for each snapshot and round (etcd's members of the
 * restored cluster share it; a member of the old one cannot join them by mistake).
 */
export function restoreToken(c: ClusterConfig): string {
  const r = c.restore!;
  const what = createHash("sha256")
    .update(JSON.stringify([r.snapshot ?? null, r.file ?? null]))
    .digest("hex")
    .slice(0, 8);
  return `${c.clusterName}-restore-${r.round}-${what}`;
}

/** One phase of a restore on one machine (a master, or an external etcd's machine). */
export function restoreCommand(machine: { name: string }, phase: RestorePhase, c: ClusterConfig): string {
  const r = c.restore!;
  const run = (args: string) => `sudo ${BACKUP_SCRIPT} ${args}`;
  const what: Record<RestorePhase, [string, string]> = {
    stop: ["Stops what serves etcd's data here (the apiserver, the etcd member) for a restore, before any member is restored.", run("restore-stop")],
    member: [
      `Restores this machine's etcd member from ${r.snapshot ?? "the snapshot file given"}.`,
      [
        r.snapshot !== undefined ? run(`fetch ${r.snapshot} ${RESTORE_FILE}`) : `sudo install -D -m 0600 ${RESTORE_UPLOAD} ${RESTORE_FILE}`,
        run(`restore ${RESTORE_FILE} ${restoreToken(c)}`),
        `sudo rm -f ${RESTORE_FILE} ${RESTORE_UPLOAD}`,
      ].join("\n"),
    ],
    "start-etcd": ["Starts this machine's restored etcd member (every member starts before any waits for a quorum).", run("restore-start-etcd")],
    "start-apiserver": ["Starts this master's apiserver once etcd is healthy again, and waits until it is ready.", run("restore-start-apiserver")],
  };
  const [title, body] = what[phase];
  return `${header(`${machine.name}: ${title}`)}${body}\n`;
}

/** The timer's unit files. */
export function backupUnits(plan: ClusterPlan): MachineFile[] {
  const every = backupCheckSeconds(durationSeconds(plan.config.backups.every)!);
  return [
    {
      path: `/etc/systemd/system/${BACKUP_UNIT}.service`,
      mode: "0644",
      content: `[Unit]\nDescription=kubeadm-ha: an etcd snapshot when one is due (one master at a time)\nAfter=kubelet.service\n\n[Service]\nType=oneshot\nExecStart=${BACKUP_SCRIPT} snapshot-if-due\n`,
    },
    {
      path: `/etc/systemd/system/${BACKUP_UNIT}.timer`,
      mode: "0644",
      content: `[Unit]\nDescription=kubeadm-ha: check every ${every} s whether an etcd snapshot is due\n\n[Timer]\nOnBootSec=${every}\nOnUnitActiveSec=${every}\nRandomizedDelaySec=${Math.min(60, Math.floor(every / 4))}\n\n[Install]\nWantedBy=timers.target\n`,
    },
  ];
}
