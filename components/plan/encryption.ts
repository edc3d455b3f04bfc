// Secrets encrypted at rest in etcd (RKE2 does it by default; kubeadm leaves it to you): an
// EncryptionConfiguration identical on every master, its keys Pulumi secrets, loaded by the
// apiservers without a restart (--encryption-provider-config-automatic-reload), and a key
// rotation that never leaves an apiserver unable to read what another wrote:
//
// 1. `read`: every master's config lists the new key, but writes with the one before (or
//    stores plain bytes, on a cluster that had no encryption yet); each apiserver loads it.
// 2. `use`: once every master reads the new key, every master writes with it.
// 3. `rewrite`: every Secret is written again, so none is left under the key before.
//
// The key before stays readable (and in state) until the next rotation. What the cluster ran
// last is the stack output `encryption` (written once the rewrite finished): it says which key
// is the one before. Pure.
import { createHash } from "crypto";
import { stringify } from "yaml";
import { MachineFile } from "./bundle";
import { ClusterConfig, ConfigProblem } from "../config/validate";
import { ENCRYPTION_PROVIDERS, NAMESPACE } from "../config/schema";
import { KUBEADM_HA_DIR } from "./kubeadm";
import { ENCRYPTION_CONFIG, ENCRYPTION_DIR } from "./apiserver-flags";
import { APISERVER_PORT, MasterPlan } from "./cluster-plan";
import { header, MEMBER_READY_TIMEOUT_S, SBIN, waitForFunctions } from "./scripts";

export type EncryptionProvider = (typeof ENCRYPTION_PROVIDERS)[number];
/** One key: the provider it is for and its round (its name in the config is `key-<round>`). */
export interface KeyRef {
  provider: EncryptionProvider;
  round: number;
}
/** A provider of the config: a key, or `identity` (plain bytes). */
export type ProviderRef = KeyRef | "identity";

/** The stack output that records what the cluster's apiservers write with, and the key before. */
export const ENCRYPTION_OUTPUT = "encryption";
export interface EncryptionOutput {
  enabled: boolean;
  provider: EncryptionProvider;
  keyRound: number;
  /** What the apiservers still read (the key before, or `identity`); none on a cluster made encrypted. */
  previous?: ProviderRef;
}

export { ENCRYPTION_CONFIG, ENCRYPTION_DIR };
/** Where the secrets step leaves each phase's config (0600) until its step puts it in place. */
export const ENCRYPTION_STAGED = { read: `${KUBEADM_HA_DIR}/secrets/encryption-read.yaml`, use: `${KUBEADM_HA_DIR}/secrets/encryption-use.yaml` } as const;
export const ENCRYPTION_SCRIPT = `${SBIN}/kubeadm-ha-encryption`;
/** Bytes of a key (secretbox and aescbc both take 32). */
export const KEY_BYTES = 32;
/** Every file encryption puts on a master (the reset removes them). */
export const ENCRYPTION_PATHS = [ENCRYPTION_SCRIPT, ENCRYPTION_CONFIG, ENCRYPTION_STAGED.read, ENCRYPTION_STAGED.use];

/** The cluster's encryption in this up: what the apiservers write with, read first, read at all. */
export interface EncryptionPlan {
  write: ProviderRef;
  /** What was written with before this key (kept readable); none on a cluster made encrypted. */
  previous?: ProviderRef;
  /** Phase 1: every master reads the new key, still writing with the one before. */
  read: ProviderRef[];
  /** Phase 2: every master writes with the new key. */
  use: ProviderRef[];
  /** The keys the configs name (each a secret the program keeps). */
  keys: KeyRef[];
}

function isKeyRef(v: unknown): v is KeyRef {
  const k = v as KeyRef;
  return typeof k === "object" && k !== null && (ENCRYPTION_PROVIDERS as readonly string[]).includes(k.provider) && Number.isInteger(k.round) && k.round >= 1;
}

function lastOutput(last: unknown): EncryptionOutput | undefined {
  const o = last as EncryptionOutput;
  if (typeof o !== "object" || o === null || typeof o.enabled !== "boolean" || !Number.isInteger(o.keyRound)) return undefined;
  if (!(ENCRYPTION_PROVIDERS as readonly string[]).includes(o.provider)) return undefined;
  return o;
}

const same = (a: ProviderRef | undefined, b: ProviderRef | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** What the stack writes with. */
function writes(e: { enabled: boolean; provider: EncryptionProvider; keyRound: number }): ProviderRef {
  return e.enabled ? { provider: e.provider, round: e.keyRound } : "identity";
}

/**
 * The encryption of this up, from the stack and the last up's output (`last`). A cluster the
 * program makes now starts encrypted; one made before encryption existed (no output, not
 * new) has its Secrets in plain bytes, which stay readable while they are rewritten.
 */
export function encryptionPlan(c: ClusterConfig, last: unknown, newCluster: boolean): EncryptionPlan {
  const write = writes(c.kubernetes.encryption);
  const before = lastOutput(last);
  const lastWrite: ProviderRef | undefined = before ? writes(before) : newCluster ? undefined : "identity";
  const previous = same(write, lastWrite) ? (before?.previous === "identity" || isKeyRef(before?.previous) ? before.previous : undefined) : lastWrite;
  const dedupe = (refs: Array<ProviderRef | undefined>) => refs.filter((r, i): r is ProviderRef => r !== undefined && refs.findIndex((o) => same(o, r)) === i);
  const read = dedupe([previous, write, "identity"]);
  const use = dedupe([write, previous, "identity"]);
  return { write, previous, read, use, keys: use.filter(isKeyRef) };
}

/** The output this up records once every Secret is written with `write`. */
export function encryptionOutput(c: ClusterConfig, p: EncryptionPlan): EncryptionOutput {
  const e = c.kubernetes.encryption;
  return { enabled: e.enabled, provider: e.provider, keyRound: e.keyRound, ...(p.previous ? { previous: p.previous } : {}) };
}

/**
 * Changes of `kubernetes.encryption` a running cluster refuses: a key round lowered, or
 * raised by more than one (a rotation that did not finish would lose the key its Secrets are
 * written with), and a new provider with the same key round (one key, two ciphers).
 */
export function encryptionChangeProblems(last: unknown, c: ClusterConfig): ConfigProblem[] {
  const before = lastOutput(last);
  const e = c.kubernetes.encryption;
  if (!before) return [];
  const problems: ConfigProblem[] = [];
  if (e.keyRound < before.keyRound || e.keyRound > before.keyRound + 1) {
    problems.push({
      key: `${NAMESPACE}:kubernetes.encryption.keyRound`,
      message: `is ${e.keyRound}, after ${before.keyRound}, which this cluster's Secrets are written with: a key round only goes up, by one per pulumi up (each rotation finishes before the next, or the key of an unfinished one would be lost)`,
      fix: `set it to ${before.keyRound} (no rotation) or ${before.keyRound + 1} (rotate the key)`,
    });
  }
  if (e.enabled && before.enabled && e.provider !== before.provider && e.keyRound === before.keyRound) {
    problems.push({
      key: `${NAMESPACE}:kubernetes.encryption.provider`,
      message: `is "${e.provider}" with the key round ${before.keyRound} this cluster's "${before.provider}" uses: one key is never used with two ciphers`,
      fix: `raise kubernetes.encryption.keyRound to ${before.keyRound + 1} with it (a new key; every Secret is written again), or set the provider back to "${before.provider}"`,
    });
  }
  return problems;
}

/** A key's name in the config (and in the stored values' prefix `k8s:enc:<provider>:v1:<name>:`). */
export function keyName(k: KeyRef): string {
  return `key-${k.round}`;
}

/** The providers, as a reviewer reads them (no key material): `secretbox/key-2, secretbox/key-1, identity`. */
export function describeProviders(refs: ProviderRef[]): string {
  return refs.map((r) => (r === "identity" ? "identity" : `${r.provider}/${keyName(r)}`)).join(", ");
}

/** The stored values' prefix of Secrets written with `k`. */
export function storedPrefix(k: KeyRef): string {
  return `k8s:enc:${k.provider}:v1:${keyName(k)}:`;
}

/** An EncryptionConfiguration of `refs`, in order, with each key's bytes (base64) by round: secret. */
export function encryptionConfiguration(refs: ProviderRef[], keys: Record<number, string>): string {
  const provider = (r: ProviderRef) => {
    if (r === "identity") return { identity: {} };
    const secret = keys[r.round];
    if (!secret) throw new Error(`no key of round ${r.round}`);
    return { [r.provider]: { keys: [{ name: keyName(r), secret }] } };
  };
  return stringify(
    { apiVersion: "apiserver.config.k8s.io/v1", kind: "EncryptionConfiguration", resources: [{ resources: ["secrets"], providers: refs.map(provider) }] },
    { lineWidth: 0 },
  );
}

/** sha256 of a text, hex. */
function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The two staged configs of a master (the secrets step writes them, 0600). */
export function encryptionFiles(p: EncryptionPlan, keys: Record<number, string>): MachineFile[] {
  return [
    { path: ENCRYPTION_STAGED.read, mode: "0600", content: encryptionConfiguration(p.read, keys) },
    { path: ENCRYPTION_STAGED.use, mode: "0600", content: encryptionConfiguration(p.use, keys) },
  ];
}

/** What a phase's step is about (its trigger; no key material): a new list runs it again. */
export function phaseTrigger(p: EncryptionPlan, phase: "read" | "use"): string {
  return sha256(describeProviders(p[phase]));
}

/** `kubeadm-ha-encryption read|use|rewrite` on one master. */
export function encryptionScript(master: MasterPlan): string {
  return `${header("Puts a phase of the cluster's encryption config in place on this master, and waits until its apiserver has loaded it; or writes every Secret again.")}
usage="usage: kubeadm-ha-encryption read|use|rewrite"
action="\${1:?$usage}"
node="${master.name}"
live="${ENCRYPTION_CONFIG}"
apiserver="https://${master.ip}:${APISERVER_PORT}"
timeout="\${KUBEADM_HA_ENCRYPTION_TIMEOUT_S:-${MEMBER_READY_TIMEOUT_S}}"
export KUBECONFIG=/etc/kubernetes/admin.conf

say() { echo "$node: $*"; }
fail() {
  echo "kubeadm-ha: $node: $*" >&2
  exit 1
}

${waitForFunctions()}
# configured: this master's apiserver runs with the config (its manifest names the file);
# before the init or join, and on a cluster not yet reconfigured, it does not.
configured() {
  grep -q -- "--encryption-provider-config=$live" /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null
}

# loaded HASH SINCE: this master's apiserver runs on the config whose sha256 is HASH (the
# metric it sets at start and on every reload, from 1.34); before 1.34, it reloaded the file
# successfully since SINCE (epoch seconds; empty: the file was there before, nothing to await).
loaded() {
  local metrics
  metrics="$(kubectl --server "$apiserver" get --raw /metrics 2>/dev/null)" || return 1
  if grep -q '^apiserver_encryption_config_controller_last_config_info{' <<<"$metrics"; then
    grep -q "^apiserver_encryption_config_controller_last_config_info{.*hash=\\"sha256:$1\\"" <<<"$metrics"
  else
    [ -z "$2" ] || awk -v since="$2" '/^apiserver_encryption_config_controller_automatic_reload_last_timestamp_seconds[{].*status="success"/ { if ($2 + 0 >= since) ok = 1 } END { exit !ok }' <<<"$metrics"
  fi
}

# put FILE: FILE becomes the live config (whole, in one rename); then, where the apiserver runs
# with it, it is awaited (the apiserver checks the file once a minute).
put() {
  local file="$1" hash since=""
  [ -s "$file" ] || fail "$file is missing: the secrets step writes it"
  hash="$(sha256sum "$file" | cut -d' ' -f1)"
  if cmp -s "$file" "$live"; then
    say "the $action config is in place already"
  else
    since="$(date +%s)"
    install -d -m 0700 "$(dirname "$live")"
    install -m 0600 "$file" "$live.new"
    mv "$live.new" "$live"
    say "the $action config put in place"
  fi
  if configured && answers "$apiserver/livez"; then
    wait_for "the apiserver loading the $action config" loaded "$hash" "$since"
    say "the apiserver runs on it"
  else
    say "the apiserver starts on it"
  fi
}

case "$action" in
read) put ${ENCRYPTION_STAGED.read} ;;
use) put ${ENCRYPTION_STAGED.use} ;;
rewrite)
  # Every Secret written again, through the apiservers (now writing with the new key). A
  # Secret changed meanwhile fails its replace (Conflict): the whole pass runs again.
  for attempt in 1 2 3; do
    if out="$(kubectl get secrets --all-namespaces -o json | kubectl replace -f - 2>&1)"; then
      say "every Secret written again with the cluster's key: $(grep -c replaced <<<"$out") Secrets"
      exit 0
    fi
    say "pass $attempt: $(grep -v replaced <<<"$out" | head -3)"
  done
  fail "the Secrets could not all be written again; run sudo ${ENCRYPTION_SCRIPT} rewrite on a master"
  ;;
*)
  echo "$usage" >&2
  exit 2
  ;;
esac
`;
}

/** A master's step of one phase. */
export function encryptionCommand(master: MasterPlan, phase: "read" | "use", p: EncryptionPlan): string {
  const what = phase === "read" ? `reads ${describeProviders(p.read)}` : `writes with ${describeProviders(p.use)}`;
  return `${header(`${master.name}'s apiserver ${what}.`)}sudo ${ENCRYPTION_SCRIPT} ${phase}\n`;
}

/** The step that writes every Secret again, once every master writes with the new key. */
export function rewriteCommand(): string {
  return `${header("Every Secret written again with the cluster's key, once every master writes with it.")}sudo ${ENCRYPTION_SCRIPT} rewrite\n`;
}
