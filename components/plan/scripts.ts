// Shell scripts that run on the machines. Pure: each function returns the exact
// text that lands on a machine; every one of them passes shellcheck (tested).
import { APISERVER_PORT, ClusterPlan, MasterPlan, ZONE_LABEL } from "./cluster-plan";
import { ClusterConfig } from "../config/validate";
import { KUBEADM_HA_DIR, TOKEN_FILE, TOKEN_PLACEHOLDER, NODE_IP_PLACEHOLDER, NODE_NAME_PLACEHOLDER } from "./kubeadm";
import { clientUrl, ETCD_PEER_PORT, EXTERNAL_ETCD_CLIENT } from "./etcd-cluster";

export const SBIN = "/usr/local/sbin";
export const PREPARED_MARKER = "/var/lib/kubeadm-ha/prepared";
/** Where a master's membership step records the machine each member runs on. */
/** How long a master waits for its node and etcd member to become healthy, seconds. */
export const MEMBER_READY_TIMEOUT_S = 900;
/** How long a script retries a kubectl call the apiserver did not answer (a VIP moving, an apiserver busy), seconds. */
export const API_RETRY_S = 60;

/**
 * Bash functions for a script that restarts a master's static pods: \`wait_for WHAT CONDITION...\`
 * (CONDITION every 2 s until it holds; the script fails after \$timeout seconds, naming WHAT),
 * \`answers URL\` (anything answers there) and \`stopped URL\` (nothing does).
 */
export function waitForFunctions(): string {
  return `wait_for() {
  local what="$1" deadline=$((SECONDS + timeout))
  shift
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: $node: $what not reached after \${timeout}s" >&2
      exit 1
    fi
    sleep 2
  done
}

answers() {
  curl -sk --max-time 3 -o /dev/null "$1"
}

stopped() {
  ! answers "$1"
}

# healthy URL: a control-plane component's health address says ok (etcd's: {"health":"true"}).
healthy() {
  [ "$(curl -sk --max-time 3 "$1" 2>/dev/null || true)" = "ok" ] || curl -s --max-time 3 "$1" 2>/dev/null | jq -e '.health == "true"' >/dev/null 2>&1
}
`;
}

/**
 * A bash function, \`lease_take NAME SECONDS\`: the Lease kube-system/NAME held by \$node, made,
 * or taken over when it is free, already ours (an interrupted run) or not renewed for
 * SECONDS (its holder stopped), through its resourceVersion so that only one master can.
 * False, with \$holder set to the other master, while another master holds it.
 */
export function leaseTakeFunction(): string {
  return `lease_take() {
  local lease="$1" seconds="$2" now current renewed
  now="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
  holder=""
  if kubectl -n kube-system create -f - >/dev/null 2>&1 <<EOF
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: $lease, namespace: kube-system}
spec: {holderIdentity: $node, leaseDurationSeconds: $seconds, acquireTime: "$now", renewTime: "$now"}
EOF
  then
    return 0
  fi
  current="$(kubectl -n kube-system get lease "$lease" -o json 2>/dev/null)" || return 1
  holder="$(jq -r '.spec.holderIdentity // ""' <<<"$current")"
  renewed="$(date -d "$(jq -r '.spec.renewTime // .metadata.creationTimestamp' <<<"$current")" +%s)"
  if [ -n "$holder" ] && [ "$holder" != "$node" ] && [ "$(date +%s)" -lt $((renewed + seconds)) ]; then
    return 1
  fi
  jq --arg n "$node" --arg t "$now" '.spec.holderIdentity = $n | .spec.acquireTime = $t | .spec.renewTime = $t' <<<"$current" |
    kubectl replace -f - >/dev/null 2>&1
}
`;
}

/**
 * A bash function, \`controllers_live\`: waits until kube-controller-manager and
 * kube-scheduler each have a leader that renews its Lease (its renewTime moves on while this
 * watches; a live leader renews every LEADER_ELECTION.retryPeriod), for up to API_RETRY_S
 * seconds (KUBEADM_HA_CONTROLLERS_WAIT_S overrides); fails naming which has none. A drain needs both: the endpoints of
 * an evicted pod leave its Services, and its replacement is scheduled, only while they run.
 * Right after a master's upgrade or restart, the old leader's Lease may still have to run out.
 */
export function controllersLiveFunction(): string {
  return `controllers_live() {
  local wait="\${KUBEADM_HA_CONTROLLERS_WAIT_S:-${API_RETRY_S}}" l now deadline
  local -A first=()
  deadline=$((SECONDS + wait))
  for l in kube-controller-manager kube-scheduler; do
    while :; do
      now="$(kubectl -n kube-system get lease "$l" -o jsonpath='{.spec.holderIdentity}/{.spec.renewTime}' 2>/dev/null || true)"
      if [ -z "\${first[$l]:-}" ]; then
        first[$l]="$now"
      elif [ -n "$now" ] && [ "$now" != "\${first[$l]}" ] && [ "\${now%%/*}" != "" ]; then
        break
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "kubeadm-ha: $l has no leader renewing its Lease after \${wait}s (last: \${now:-none}): no drain while it cannot move the pods" >&2
        return 1
      fi
      sleep 1
    done
  done
}
`;
}

/**
 * Bash that sets \`own_address\` to the address of \`$NAME\` in the array LIST of
 * \`name=address\` entries, or stops (exit 2) saying it is not WHAT of this stack.
 */
export function ownAddressLookup(list: string, name: string, what: string): string {
  return `own_address=""
for m in "\${${list}[@]}"; do
  if [ "\${m%%=*}" = "$${name}" ]; then
    own_address="\${m#*=}"
  fi
done
if [ -z "$own_address" ]; then
  echo "kubeadm-ha: $${name} is not ${what} of this stack (\${${list}[*]})" >&2
  exit 2
fi`;
}

/** How long a drain waits for kube-proxy's DaemonSet to finish a roll (KUBEADM_HA_KUBE_PROXY_WAIT_S overrides). */
export const KUBE_PROXY_ROLL_WAIT_S = 300;

/**
 * A bash function, \`kube_proxy_settled\`: waits until kube-proxy's DaemonSet is not rolling
 * (every scheduled pod updated and available), for up to KUBE_PROXY_ROLL_WAIT_S; fails saying
 * how far the roll is. kubeadm rolls kube-proxy to the new release with the last master's
 * upgrade; a node whose kube-proxy is between its old and its new pod keeps its old rules,
 * so a drain moving Service endpoints meanwhile sends that node's clients to evicted pods.
 * A roll held by nodes that are not Ready (their pods cannot start, and the DaemonSet waits
 * on them) is not waited for: it says which, and the drain goes on. No kube-proxy DaemonSet
 * (another proxy replaces it) waits for nothing.
 */
export function kubeProxySettledFunction(): string {
  return `kube_proxy_settled() {
  local wait="\${KUBEADM_HA_KUBE_PROXY_WAIT_S:-${KUBE_PROXY_ROLL_WAIT_S}}" deadline status gen observed desired updated available notready waited=
  deadline=$((SECONDS + wait))
  while :; do
    if status="$(kubectl -n kube-system get daemonset kube-proxy --ignore-not-found -o jsonpath='{.metadata.generation}/{.status.observedGeneration}/{.status.desiredNumberScheduled}/{.status.updatedNumberScheduled}/{.status.numberAvailable}' 2>/dev/null)"; then
      [ -n "$status" ] || return 0
      IFS=/ read -r gen observed desired updated available <<<"$status"
      if [ "$gen" = "$observed" ] && [ "\${updated:-0}" = "\${desired:-0}" ] && [ "\${available:-0}" = "\${desired:-0}" ]; then
        if [ -n "\${waited:-}" ]; then echo "kube-proxy's roll finished after $((SECONDS + wait - deadline))s of waiting"; fi
        return 0
      fi
      notready="$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}' 2>/dev/null | grep -v '=True$' | cut -d= -f1 | tr '\\n' ' ' || true)"
      if [ -n "\${notready// /}" ]; then
        echo "kubeadm-ha: kube-proxy's roll is held by nodes that are not Ready (\${notready% }): not waiting for it"
        return 0
      fi
      if [ -z "\${waited:-}" ]; then
        waited=1
        echo "kube-proxy's DaemonSet is rolling (\${updated:-0} of \${desired:-0} pods updated, \${available:-0} available): waiting for it before the drain"
      fi
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: kube-proxy's DaemonSet is still rolling after \${wait}s (generation/observed/desired/updated/available: \${status:-unreadable}): no drain while a node's kube-proxy is being replaced; see kubectl -n kube-system rollout status daemonset/kube-proxy" >&2
      return 1
    fi
    sleep 2
  done
}
`;
}

/**
 * A bash function, \`kubectl_retry ARGS...\`: kubectl, run again every 2 s while it fails, for up
 * to API_RETRY_S (KUBEADM_HA_API_RETRY_S overrides); its output once it succeeded. For calls
 * that are safe to repeat (gets, --overwrite labels and annotations).
 */
export function kubectlRetryFunction(): string {
  return `kubectl_retry() {
  local deadline=$((SECONDS + \${KUBEADM_HA_API_RETRY_S:-${API_RETRY_S}})) out
  until out="$(kubectl "$@")"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: kubectl $* kept failing for \${KUBEADM_HA_API_RETRY_S:-${API_RETRY_S}}s" >&2
      return 1
    fi
    sleep 2
  done
  if [ -n "$out" ]; then
    printf '%s\\n' "$out"
  fi
}
`;
}

/** The dates a step printed on lines `PREFIX<RFC 3339 date>` (its stdout, or several steps'), in the order printed. */
export function printedDates(prefix: string, stdouts: Array<string | undefined>): string[] {
  return stdouts
    .flatMap((out) => (out ?? "").split("\n"))
    .flatMap((l) => (l.startsWith(prefix) ? [l.slice(prefix.length).trim()] : []))
    .filter((d) => d !== "" && !Number.isNaN(Date.parse(d)));
}

/** Written on a master once `kubeadm init` or `kubeadm join` returned 0 there (see control-plane-member.ts). */
export const MEMBER_DONE = "/var/lib/kubeadm-ha/member";
/** How long removing a former master's Node and etcd member may take, seconds. */
export const MEMBER_REMOVE_TIMEOUT_S = 60;
/** How many times a worker retries `kubeadm join` (10 s apart) while the control plane comes up. */
export const WORKER_JOIN_ATTEMPTS = 90;

export const paths = {
  prepare: `${SBIN}/kubeadm-ha-prepare`,
  setEndpoint: `${SBIN}/kubeadm-ha-set-endpoint`,
  renderConfig: `${SBIN}/kubeadm-ha-render-config`,
  member: `${SBIN}/kubeadm-ha-member`,
  waitMember: `${SBIN}/kubeadm-ha-wait-member`,
  refreshEndpointPods: `${SBIN}/kubeadm-ha-refresh-endpoint-pods`,
  validate: `${SBIN}/kubeadm-ha-validate`,
  etcdMember: `${SBIN}/kubeadm-ha-etcd-member`,
  spreadDns: `${SBIN}/kubeadm-ha-spread-dns`,
  workerJoin: `${SBIN}/kubeadm-ha-worker-join`,
  /** On every node: the upgrade to the stack's release (upgrade.ts). */
  upgrade: `${SBIN}/kubeadm-ha-upgrade`,
  initConfig: `${KUBEADM_HA_DIR}/kubeadm-init.yaml`,
  joinConfig: `${KUBEADM_HA_DIR}/kubeadm-join.yaml`,
  workerJoinTemplate: `${KUBEADM_HA_DIR}/kubeadm-join.yaml.tmpl`,
  renderedConfig: "/run/kubeadm-ha/kubeadm.yaml",
};

export const header = (what: string) => `#!/usr/bin/env bash\n# ${what}\n# Rendered by kubeadm-ha; do not edit on the machine.\nset -euo pipefail\n`;

/** apt version string of a Kubernetes release on pkgs.k8s.io. */
export function k8sPackageVersion(version: string): string {
  return `${version}-1.1`;
}

/** Where an air-gapped bundle lives on a machine once fetched and checked. */
export const BUNDLE_DIR = "/var/lib/kubeadm-ha/bundle";
/** Where the bundle step copies a bundle folder over SSH (writable by the SSH user); the prepare step installs from it. */
export const BUNDLE_STAGING = "/var/tmp/kubeadm-ha-bundle";

/** Where a bundle folder lands under BUNDLE_STAGING: CopyToRemote appends the folder's own name. */
export function stagedBundle(path: string): string {
  const name = path.replace(/\/+$/, "").split("/").pop() || "bundle";
  return `${BUNDLE_STAGING}/${name}`;
}
/** containerd's CNI config template for cni "bridge" (containerd fills in the node's pod range). */
export const CNI_TEMPLATE = `${KUBEADM_HA_DIR}/cni-bridge.json.tmpl`;
/** cni "bridge": the service that routes the other nodes' pod ranges, and the RBAC it needs (cni-bridge.ts). */
export const POD_ROUTES_SERVICE = "kubeadm-ha-pod-routes.service";
export const POD_ROUTES_RBAC = `${KUBEADM_HA_DIR}/pod-routes-rbac.yaml`;

/** Distribution packages a node needs besides Kubernetes' own (from the host's package mirror). */
const OS_PACKAGES = ["containerd", "runc", "conntrack", "iptables", "socat", "curl", "jq", "ca-certificates"];

/** Kubernetes' own programs a node runs, as their packages are named. */
export const KUBERNETES_PACKAGES = ["kubeadm", "kubelet", "kubectl"] as const;

/**
 * Bash functions for one Kubernetes release from the stack's package source, shared by the
 * preparation of a new machine and the upgrade of a running one:
 *
 * - `fetch_kubernetes`: the release's packages within reach (pkgs.k8s.io's repository of
 *   its minor; or the air-gapped bundle fetched and every file checked against its sha256,
 *   the release checked against the stack's);
 * - `install_kubernetes NAME...`: kubeadm, kubelet and/or kubectl of that release in place
 *   (pinned and held; or from the bundle, the kubelet with its systemd units);
 * - `import_images`: the bundle's images into containerd, each once (nothing for
 *   `repository`: kubeadm pulls from the registry).
 *
 * Each is a no-op for what is in place already, so an interrupted run resumes.
 */
export function kubernetesPackageFunctions(version: string, packages: { source: "repository" | "bundle"; url?: string; path?: string }): string {
  return packages.source === "bundle" ? bundleFunctions(version, packages) : repositoryFunctions(version);
}

/** pkgs.k8s.io: the repository of the release's minor, its packages pinned and held. */
function repositoryFunctions(version: string): string {
  const minor = version.split(".").slice(0, 2).join(".");
  return `fetch_kubernetes() {
  local repo="https://pkgs.k8s.io/core:/stable:/v${minor}/deb/"
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL "\${repo}Release.key" | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
  echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] \${repo} /" > /etc/apt/sources.list.d/kubernetes.list
  apt-get update -q
}
install_kubernetes() {
  local p pinned=()
  for p in "$@"; do
    pinned+=("$p=${k8sPackageVersion(version)}")
  done
  apt-mark unhold "$@" >/dev/null 2>&1 || true
  apt-get install -y -q --allow-change-held-packages "\${pinned[@]}"
  apt-mark hold "$@"
}
import_images() {
  :
}
`;
}

/**
 * The air-gapped bundle (layout: bundle/manifest.ts): fetched from a URL, or copied to
 * BUNDLE_STAGING beforehand; every file checked against bundle.json's sha256, the
 * Kubernetes release checked against the stack's. A file already in place with the right
 * digest is not fetched again.
 */
function bundleFunctions(version: string, packages: { url?: string; path?: string }): string {
  const fetch = packages.url
    ? `src="${packages.url.replace(/\/+$/, "")}"
get() { curl -fsS --retry 3 --connect-timeout 10 -o "$2" "$src/$1"; }`
    : `src="${stagedBundle(packages.path ?? "bundle")}"
get() { install -m 0644 "$src/$1" "$2"; }`;
  return `${fetch}
fetch_kubernetes() {
  local held sum file dst
  mkdir -p "${BUNDLE_DIR}"
  get bundle.json "${BUNDLE_DIR}/bundle.json.new" || { echo "kubeadm-ha: no bundle.json at $src: build one with npm run bundle" >&2; return 1; }
  held="$(jq -r .kubernetesVersion "${BUNDLE_DIR}/bundle.json.new")"
  if [ "$held" != "${version}" ]; then
    echo "kubeadm-ha: the bundle at $src holds Kubernetes $held, the stack wants ${version}" >&2
    return 1
  fi
  while read -r sum file; do
    dst="${BUNDLE_DIR}/$file"
    if [ -f "$dst" ] && echo "$sum  $dst" | sha256sum -c --status; then
      continue
    fi
    mkdir -p "$(dirname "$dst")"
    get "$file" "$dst.part"
    if ! echo "$sum  $dst.part" | sha256sum -c --status; then
      echo "kubeadm-ha: $file from $src does not match its sha256 in bundle.json" >&2
      return 1
    fi
    mv "$dst.part" "$dst"
  done < <(jq -r '.files | to_entries[] | "\\(.value) \\(.key)"' "${BUNDLE_DIR}/bundle.json.new")
  mv "${BUNDLE_DIR}/bundle.json.new" "${BUNDLE_DIR}/bundle.json"
}
install_kubernetes() {
  local p
  for p in "$@"; do
    install -m 0755 "${BUNDLE_DIR}/bin/$p" /usr/bin/
    if [ "$p" = kubelet ]; then
      install -D -m 0644 "${BUNDLE_DIR}/systemd/kubelet.service" /etc/systemd/system/kubelet.service
      install -D -m 0644 "${BUNDLE_DIR}/systemd/kubelet.service.d/10-kubeadm.conf" /etc/systemd/system/kubelet.service.d/10-kubeadm.conf
    fi
  done
}
import_images() {
  local ref file
  while read -r ref file; do
    if ctr -n k8s.io images ls -q "name==$ref" | grep -q .; then
      continue
    fi
    ctr -n k8s.io images import "${BUNDLE_DIR}/$file" >/dev/null
    echo "imported $ref"
  done < <(jq -r '(.images + (.extraImages // []))[] | "\\(.ref) \\(.file)"' "${BUNDLE_DIR}/bundle.json")
}
`;
}

/** The distribution packages a node needs besides Kubernetes' own: from pkgs.k8s.io's side, or this host's mirror (bundle). */
function osPackages(bundle: boolean): string {
  if (!bundle) {
    return `apt-get update -q
apt-get install -y -q apt-transport-https gpg ${OS_PACKAGES.join(" ")}
`;
  }
  return `missing=()
for p in ${OS_PACKAGES.join(" ")}; do
  dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "\${#missing[@]}" -gt 0 ]; then
  echo "kubeadm-ha: installing \${missing[*]} from this host's package mirror"
  apt-get install -y -q "\${missing[@]}" || { echo "kubeadm-ha: cannot install \${missing[*]}: add them to this host's image or its package mirror" >&2; exit 1; }
fi
`;
}

/** containerd for the kubelet: systemd cgroups, kubeadm's pause image, and the stack's settings. */
function containerdConfig(c: ClusterConfig): string {
  const seds = [`-e 's/SystemdCgroup = false/SystemdCgroup = true/'`, `-e "s#sandbox_image = .*#sandbox_image = \\"$pause\\"#"`];
  if (c.kubernetes.containerd.restrictOomScoreAdj) seds.push(`-e 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/'`);
  if (c.kubernetes.cni.name === "bridge") seds.push(`-e 's#conf_template = ""#conf_template = "${CNI_TEMPLATE}"#'`);
  return `# The pause image kubeadm expects (kubeadm warns, and air-gapped hosts fail, on another).
pause="$(kubeadm config images list --kubernetes-version "v${c.kubernetes.version}" | grep '/pause:')"
mkdir -p /etc/containerd
containerd config default > /etc/containerd/config.toml.new
sed -i ${seds.join(" \\\n  ")} \\
  /etc/containerd/config.toml.new
mv /etc/containerd/config.toml.new /etc/containerd/config.toml
systemctl restart containerd
systemctl enable containerd
`;
}

/**
 * Prepares a node: swap off, kernel modules (loaded or built in), containerd, pinned
 * kubeadm/kubelet/kubectl from pkgs.k8s.io or from an air-gapped bundle; idempotent (marker file).
 */
export function prepareScript(c: ClusterConfig): string {
  const { version, packages } = c.kubernetes;
  const bundle = packages.source === "bundle";
  return `${header(`Prepares the machine for kubeadm: swap off, kernel modules, containerd, kubeadm/kubelet/kubectl ${version} from ${bundle ? "an air-gapped bundle" : "pkgs.k8s.io"}.`)}
MARKER="${PREPARED_MARKER}"

if [ -f "$MARKER" ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive

swapoff -a
sed -ri '/\\sswap\\s/s/^#?/#/' /etc/fstab
modprobe overlay 2>/dev/null || grep -qw overlay /proc/filesystems || { echo "kubeadm-ha: kernel module overlay is neither loadable nor built in" >&2; exit 1; }
modprobe br_netfilter 2>/dev/null || [ -d /proc/sys/net/bridge ] || { echo "kubeadm-ha: kernel module br_netfilter is neither loadable nor built in" >&2; exit 1; }
sysctl --system >/dev/null

${osPackages(bundle)}
${kubernetesPackageFunctions(version, packages)}
fetch_kubernetes
install_kubernetes ${KUBERNETES_PACKAGES.join(" ")}
${
  bundle
    ? `install -d -m 0755 /opt/cni/bin
install -m 0755 "${BUNDLE_DIR}"/cni/bin/* /opt/cni/bin/
`
    : ""
}
${containerdConfig(c)}import_images
systemctl daemon-reload
${
  c.kubernetes.cni.name === "bridge"
    ? `systemctl enable --now ${POD_ROUTES_SERVICE}
`
    : ""
}systemctl enable kubelet

mkdir -p "$(dirname "$MARKER")"
touch "$MARKER"
`;
}

/**
 * Bash: `refuses ADDRESS PORT` holds when the host answers and nothing listens there; and
 * `no_cluster_anywhere`, when every other machine of the array named `machines` (name=address,
 * this one named by the variable `self`) refuses each of `ports`: none holds a cluster. A
 * machine that does not answer at all proves nothing; $reason says which, and why the caller
 * waits rather than `instead`.
 */
export function noClusterFunctions(o: { machines: string; self: string; ports: string; which: string; holds: string; instead: string }): string {
  return `# True when ADDRESS:PORT refuses the connection (the host is up and nothing listens there).
refuses() {
  local err
  if err="$(timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>&1)"; then
    return 1
  fi
  [[ "$err" == *"Connection refused"* ]]
}

# True when no other ${o.machines.replace(/s$/, "")} holds a cluster: each refuses ${o.which}.
no_cluster_anywhere() {
  local m port
  for m in "\${${o.machines}[@]}"; do
    [ "\${m%%=*}" = "$${o.self}" ] && continue
    for port in ${o.ports}; do
      if ! refuses "\${m#*=}" "$port"; then
        reason="\${m%%=*} (\${m#*=}) answers on port $port, or does not answer at all, but ${o.holds}: it may hold a cluster, so $${o.self} waits to join it rather than ${o.instead}"
        return 1
      fi
    done
  done
  return 0
}
`;
}

/** Points the endpoint name at one address in /etc/hosts (per-node resolution avoids the LB hairpin). */
export function setEndpointScript(endpointName: string): string {
  return `${header("Points the API endpoint name at one address in /etc/hosts.")}
name="${endpointName}"
addr="\${1:?usage: kubeadm-ha-set-endpoint ADDRESS}"
hosts="\${KUBEADM_HA_HOSTS_FILE:-/etc/hosts}"
tmp="$(mktemp)"
grep -v " \${name} # kubeadm-ha endpoint$" "$hosts" > "$tmp" || true
printf '%s %s # kubeadm-ha endpoint\\n' "$addr" "$name" >> "$tmp"
cat "$tmp" > "$hosts"
rm -f "$tmp"
`;
}

/** How long a restarted host-network pod may take to be Ready again, seconds. */
export const REFRESHED_POD_READY_TIMEOUT_S = 120;

/**
 * A host-network pod gets a copy of the node's /etc/hosts when it starts (the kubelet's
 * etc-hosts file of the pod), and keeps it. kube-proxy, started while a joining master's
 * endpoint name pointed at the master it joined through, would go on reaching the API
 * through that one, and lose it with that master's zone. Restarts this node's DaemonSet
 * pods whose copy names another endpoint address than /etc/hosts does now; a no-op when
 * none does.
 */
export function refreshEndpointPodsScript(endpointName: string): string {
  return `${header("Restarts this node's host-network DaemonSet pods that started with another endpoint address than /etc/hosts has now.")}
node="\${1:?usage: kubeadm-ha-refresh-endpoint-pods NODE}"
name="${endpointName}"
pods_dir="\${KUBEADM_HA_KUBELET_PODS:-/var/lib/kubelet/pods}"
export KUBECONFIG=/etc/kubernetes/admin.conf
line() { grep " \${name} # kubeadm-ha endpoint$" "$1" 2>/dev/null || true; }
want="$(line "\${KUBEADM_HA_HOSTS_FILE:-/etc/hosts}")"
restarted=0
deadline=$((SECONDS + ${REFRESHED_POD_READY_TIMEOUT_S}))
# The endpoint may not answer yet (keepalived claims a VIP only once the apiserver does).
until pods="$(kubectl -n kube-system get pods --field-selector "spec.nodeName=$node" \\
  -o jsonpath='{range .items[?(@.spec.hostNetwork==true)]}{.metadata.uid} {.metadata.name} {.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name}{"\\n"}{end}')"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "kubeadm-ha: the API does not answer through the endpoint \${SECONDS}s after it moved" >&2
    exit 1
  fi
  sleep 2
done
while read -r uid pod kind owner; do
  # Static pods (their mirror pods' owner is the Node) are the kubelet's own.
  [ "$kind" = "DaemonSet" ] || continue
  copy="$pods_dir/$uid/etc-hosts"
  if [ ! -f "$copy" ] || [ "$(line "$copy")" = "$want" ]; then continue; fi
  echo "$pod started with the endpoint at $(line "$copy" | cut -d' ' -f1), not $(printf '%s' "$want" | cut -d' ' -f1): restarting it"
  kubectl -n kube-system delete pod "$pod" --wait=true
  deadline=$((SECONDS + ${REFRESHED_POD_READY_TIMEOUT_S}))
  until kubectl -n kube-system get pods --field-selector "spec.nodeName=$node" \\
    -o jsonpath="{range .items[?(@.metadata.ownerReferences[0].name=='$owner')]}{.status.conditions[?(@.type=='Ready')].status}{end}" | grep -qx True; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: $owner's pod on $node is not Ready \${SECONDS}s after its restart" >&2
      exit 1
    fi
    sleep 2
  done
  restarted=$((restarted + 1))
done <<< "$pods"
echo "host-network pods on $node with a stale endpoint address: $restarted restarted"
`;
}

/** Copies a kubeadm config with the bootstrap token filled in, readable by root only. */
export function renderConfigScript(): string {
  return `${header("Writes a kubeadm config with the bootstrap token filled in (root-only, removed after use).")}
src="\${1:?usage: kubeadm-ha-render-config SRC DST}"
dst="\${2:?usage: kubeadm-ha-render-config SRC DST}"
token="$(cat "\${KUBEADM_HA_TOKEN_FILE:-${TOKEN_FILE}}")"
umask 077
mkdir -p "$(dirname "$dst")"
sed "s/${TOKEN_PLACEHOLDER}/\${token}/" "$src" > "$dst"
`;
}

/**
 * Sets local_node to this master's node name: the name kubeadm gave its etcd member.
 * Steps that any healthy master may run (they reach one through the endpoint) ask it.
 */
const LOCAL_NODE = `# This master's node name: kubeadm names its etcd member after the node.
etcd_manifest="\${KUBEADM_HA_ETCD_MANIFEST:-/etc/kubernetes/manifests/etcd.yaml}"
local_node="\${KUBEADM_HA_LOCAL_NODE:-$(sed -n 's/^ *- --name=//p' "$etcd_manifest" 2>/dev/null || true)}"
if [ -z "$local_node" ]; then
  echo "kubeadm-ha: $(hostname) runs no etcd member (no name in $etcd_manifest): not a master of this cluster" >&2
  exit 1
fi
`;

/**
 * A machine's name in the stack (hosts you own: their prepare step writes it; with an external
 * etcd a cloud master's files step too, as no etcd manifest names the node there).
 */
export const NODE_NAME_FILE = `${KUBEADM_HA_DIR}/node-name`;
const LOCAL_NODE_EXTERNAL = `# This master's node name, as its files step wrote it.
local_node="\${KUBEADM_HA_LOCAL_NODE:-$(cat ${NODE_NAME_FILE} 2>/dev/null || true)}"
if [ -z "$local_node" ]; then
  echo "kubeadm-ha: $(hostname) has no ${NODE_NAME_FILE}: not a master of this cluster" >&2
  exit 1
fi
`;
const localNode = (external: boolean) => (external ? LOCAL_NODE_EXTERNAL : LOCAL_NODE);

/**
 * With an external etcd, a master reaches its members through etcd's JSON gateway with the
 * apiservers' client certificate: `etcd_gateway PATH BODY` (when asked for) asks each member in
 * turn; `etcd_healthy` holds when every member answers /health.
 */
function etcdGatewayFunctions(plan: ClusterPlan, gateway: boolean): string {
  const urls = plan.etcd.members.map(clientUrl).join(" ");
  const client = `--cacert ${EXTERNAL_ETCD_CLIENT.caFile} --cert ${EXTERNAL_ETCD_CLIENT.certFile} --key ${EXTERNAL_ETCD_CLIENT.keyFile}`;
  const gatewayFunction = `etcd_gateway() {
  local url out
  for url in $etcd_urls; do
    if out="$(curl -sS --max-time 5 ${client} -X POST "$url/v3/$1" -d "$2" 2>/dev/null)" && [ -n "$out" ] && jq -e 'has("header")' >/dev/null 2>&1 <<< "$out"; then
      printf '%s\\n' "$out"
      return 0
    fi
  done
  return 1
}
`;
  return `etcd_urls="\${KUBEADM_HA_ETCD_URLS:-${urls}}"
${gateway ? gatewayFunction : ""}etcd_healthy() {
  local url
  for url in $etcd_urls; do
    [ "$(curl -s --max-time 3 ${client} "$url/health" 2>/dev/null | jq -r '.health' 2>/dev/null || true)" = "true" ] || return 1
  done
}
`;
}

/**
 * Shell function `etcdctl` that runs etcdctl inside the etcd static pod of the node
 * named by $VAR, with kubeadm's health-check client certificate.
 */
function etcdctlFunction(nodeVar: string): string {
  return `etcdctl() {
  kubectl -n kube-system exec "etcd-\${${nodeVar}}" -- etcdctl --endpoints=https://127.0.0.1:2379 \\
    --cacert=/etc/kubernetes/pki/etcd/ca.crt \\
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \\
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
`;
}

/** Shell command printing the Ready condition of the node named by $node. */
/** jsonpath of a Node's Ready condition status. */
const READY_STATUS = `{.status.conditions[?(@.type=="Ready")].status}`;
const NODE_READY = `kubectl get node "$node" -o jsonpath='${READY_STATUS}' 2>/dev/null || true`;

/**
 * With an external etcd, what a master's turn waits for: NODE Ready, and every member of the
 * external cluster healthy (the master holds no member of its own; its apiserver needs them).
 */
export function waitMasterExternalEtcdScript(plan: ClusterPlan): string {
  return `${header("Waits until NODE is Ready and every member of the external etcd cluster is healthy.")}
node="\${1:?usage: kubeadm-ha-wait-member NODE [TIMEOUT_S]}"
timeout="\${2:-${MEMBER_READY_TIMEOUT_S}}"
export KUBECONFIG=/etc/kubernetes/admin.conf
${etcdGatewayFunctions(plan, false)}
deadline=$((SECONDS + timeout))
reason="nothing checked yet"
while [ "$SECONDS" -lt "$deadline" ]; do
  ready="$(${NODE_READY})"
  if [ "$ready" != "True" ]; then
    reason="node $node is not Ready (Ready=\${ready:-unknown})"
  elif ! etcd_healthy; then
    reason="a member of the external etcd cluster ($etcd_urls) does not answer /health with true"
  else
    echo "node $node is Ready; every member of the external etcd cluster is healthy"
    exit 0
  fi
  sleep 5
done
echo "kubeadm-ha: gave up after \${timeout}s: $reason" >&2
exit 1
`;
}

/**
 * Waits until NODE is Ready and a healthy voting etcd member: its own etcd lists it as a
 * voter, and the voting member of every master of the stack (MASTERS) answers health. Asks
 * about this node, never "are there exactly N", so a re-run after a replacement or in a
 * larger cluster passes as well. Members the stack does not count never hold up a turn: a
 * learner (an interrupted join, which its own join clears), or a member of a master the
 * stack no longer has (pruned after the masters' turns, even when that master is down).
 */
export function waitMemberScript(masters: string[]): string {
  return `${header("Waits until NODE is Ready and a healthy voting etcd member, with every master of the stack's member healthy.")}
node="\${1:?usage: kubeadm-ha-wait-member NODE [TIMEOUT_S]}"
timeout="\${2:-${MEMBER_READY_TIMEOUT_S}}"
export KUBECONFIG=/etc/kubernetes/admin.conf
# The stack's masters: only their voting members count.
masters=" ${masters.join(" ")} "

${etcdctlFunction("node")}
deadline=$((SECONDS + timeout))
reason="nothing checked yet"
while [ "$SECONDS" -lt "$deadline" ]; do
  ready="$(${NODE_READY})"
  if [ "$ready" != "True" ]; then
    reason="node $node is not Ready (Ready=\${ready:-unknown})"
    sleep 5
    continue
  fi
  members="$(etcdctl member list -w json 2>/dev/null || echo '{}')"
  own="$(printf '%s' "$members" | jq -r --arg n "$node" '[.members[]? | select(.name == $n)] | if length == 0 then "absent" elif .[0].isLearner == true then "learner" else "voter" end')"
  if [ "$own" != "voter" ]; then
    reason="$node is not a voting etcd member (it is $own)"
    sleep 5
    continue
  fi
  # shellcheck disable=SC2016 # a jq filter: $m and $n are jq's
  counted='[.members[]? | select(.isLearner != true and ((.name // "") as $n | $n != "" and ($m | contains(" " + $n + " "))))]'
  urls="$(printf '%s' "$members" | jq -r --arg m "$masters" "$counted"' | map(.clientURLs[0] // empty) | join(",")')"
  if ! etcdctl endpoint health --endpoints="$urls" >/dev/null 2>&1; then
    reason="etcd reports an unhealthy member among the stack's masters' ($urls)"
    sleep 5
    continue
  fi
  voters="$(printf '%s' "$members" | jq --arg m "$masters" "$counted | length")"
  others="$(printf '%s' "$members" | jq -r --arg m "$masters" '[.members[]? | select(.isLearner == true or ((.name // "") as $n | $n == "" or ($m | contains(" " + $n + " ") | not))) | if (.name // "") == "" then (if .isLearner == true then "(a learner not started)" else "(a member not started)" end) elif .isLearner == true then "\\(.name) (learner)" else .name end] | join(", ")')"
  echo "node $node is Ready and a healthy etcd voter; etcd has $voters healthy voting members of the stack's masters\${others:+ (not counted: $others)}"
  exit 0
done
echo "kubeadm-ha: gave up after \${timeout}s: $reason" >&2
exit 1
`;
}

/**
 * Shows, removes or prunes the etcd members (and Nodes) of masters, from whichever healthy
 * master runs it (through its etcd, or another member's when it is the master being
 * removed). Hex member IDs come from etcdctl's simple output (JSON IDs overflow jq).
 */
export function etcdMemberScript(external = false): string {
  return `${header("Shows or removes the etcd member and Node of a master (leave: drained first), or prunes those the stack no longer has; runs on any healthy master.")}
usage="usage: kubeadm-ha-etcd-member show|remove|leave NODE [NODE_PEER_URL] | prune MASTER..."
action="\${1:?$usage}"
shift
export KUBECONFIG=/etc/kubernetes/admin.conf
${localNode(external)}
# etcdctl through this master's etcd; through another member's when the one removed is this master.
via="$local_node"
${etcdctlFunction("via")}# With an external etcd no master holds a member: only Nodes are removed, etcd is never asked.
etcd_on_masters=${external ? "false" : "true"}
# member_id NODE [PEER_URL]: a member whose etcd never started (a learner left by an
# interrupted join) has no name yet: its peer URL says whose it is.
member_id() {
  [ "$etcd_on_masters" = true ] || return 0
  etcdctl member list | awk -F', ' -v n="$1" -v u="\${2:-}" '$3 == n || (u != "" && $4 == u) { print $1; exit }'
}

# remove NODE [PEER_URL]: its Node first (this master's apiserver still has its etcd), then its
# member. Retried (an election after an earlier removal, the endpoint moving) until the
# member is gone; fails when it is not by then, so the step runs again on the next up.
remove() {
  if [ "$etcd_on_masters" = true ] && [ "$1" = "$local_node" ]; then
    via="$(etcdctl member list 2>/dev/null | awk -F', ' -v n="$1" '$3 != "" && $3 != n { print $3; exit }' || true)"
    via="\${via:-$local_node}"
  fi
  local id deadline=$((SECONDS + \${KUBEADM_HA_REMOVE_TIMEOUT_S:-${MEMBER_REMOVE_TIMEOUT_S}}))
  until kubectl delete node "$1" --ignore-not-found; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: could not delete node $1 through the endpoint in \${SECONDS}s" >&2
      return 1
    fi
    sleep 2
  done
  while :; do
    if id="$(member_id "$@")"; then
      if [ -z "$id" ]; then break; fi
      if etcdctl member remove "$id"; then break; fi
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kubeadm-ha: could not remove the etcd member of $1 through $via in \${SECONDS}s" >&2
      return 1
    fi
    sleep 2
  done
  via="$local_node"
}

# drain NODE: a master the stack no longer has, still Ready, hands its pods (a CoreDNS
# replica, say) to the other nodes before its Node goes. Best effort: a master that is
# down has nothing to hand over, and a pod that will not leave does not keep it.
drain() {
  local ready
  ready="$(kubectl get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)"
  if [ "$ready" = "True" ]; then
    kubectl drain "$1" --ignore-daemonsets --delete-emptydir-data --force --timeout=120s ||
      echo "kubeadm-ha: warning: $1 did not drain in 120 s; removing it anyway" >&2
  fi
}

case "$action" in
  show)
    node="\${1:?$usage}"
    id="$(member_id "$@")"
    if [ -z "$id" ]; then
      echo "kubeadm-ha: $node is not an etcd member (asked $local_node)" >&2
      exit 1
    fi
    echo "$node is etcd member $id (asked $local_node)"
    ;;
  remove)
    remove "\${1:?$usage}" "\${2:-}"
    ;;
  leave)
    # A master that left the stack (its steps deleted: fewer masters, a grow that failed and
    # was reverted, a destroy): drained, then its Node and member removed; a no-op once gone.
    # The cluster's last member stays: nothing else would answer for the cluster.
    node="\${1:?$usage}"
    others=1
    if [ "$etcd_on_masters" = true ]; then
      members="$(etcdctl member list)"
      others="$(awk -F', ' -v n="$node" -v u="\${2:-}" '$3 != n && !(u != "" && $4 == u)' <<< "$members" | grep -c . || true)"
    fi
    if [ "$others" -eq 0 ]; then
      echo "$node holds the cluster's last etcd member: it stays (its host's reset, or its deleted machine, ends it)"
      exit 0
    fi
    echo "$node has left the stack: draining it, then removing its Node and etcd member (through $local_node)"
    drain "$node"
    remove "$node" "\${2:-}"
    echo "$node: no Node and no etcd member left"
    ;;
  prune)
    # The stack owns the control plane: a member or control-plane Node it does not list
    # is a master it no longer has (fewer masters, a renamed host). Nameless members
    # (learners of interrupted joins) are their joiner's to clear.
    [ "$#" -gt 0 ] || { echo "$usage" >&2; exit 2; }
    keep=" $* "
    members=""
    if [ "$etcd_on_masters" = true ]; then
      members="$(etcdctl member list | awk -F', ' '$3 != "" { print $3 }')"
    fi
    nodes="$(kubectl get nodes -l node-role.kubernetes.io/control-plane -o jsonpath='{.items[*].metadata.name}')"
    gone=0
    last=""
    for name in $members $nodes; do
      case "$keep" in *" $name "*) continue ;; esac
      keep="$keep$name "
      # This master's own member goes last: its etcd answers for the others until then.
      if [ "$name" = "$local_node" ]; then last="$name"; continue; fi
      echo "$name is a master this stack no longer has: removing its Node and etcd member"
      drain "$name"
      remove "$name"
      gone=$((gone + 1))
    done
    if [ -n "$last" ]; then
      echo "$last (this master) is a master this stack no longer has: removing its Node and etcd member"
      drain "$last"
      remove "$last"
      gone=$((gone + 1))
    fi
    echo "pruned $gone former masters; the stack's masters: $* (on $local_node)"
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
`;
}

/**
 * CoreDNS starts while master-0 is the only node, so both replicas land there and the
 * loss of that one zone takes cluster DNS with it. Once every master has joined, its
 * Deployment gets a topology spread over zones (soft: a zone down never blocks a
 * reschedule) and, when its replicas still share a zone, a rollout restart lets the
 * scheduler spread them; a no-op when both are done already.
 */
export function spreadDnsScript(): string {
  return `${header("Spreads the CoreDNS replicas over the zones (one master per zone when this runs).")}
export KUBECONFIG=/etc/kubernetes/admin.conf
# Every call through the API retried: right after a master's upgrade the lab saw an apiserver
# refuse the admin once (403) and allow the next request.
${kubectlRetryFunction()}zone_key="${ZONE_LABEL}"
spread='{"spec":{"template":{"spec":{"topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"${ZONE_LABEL}","whenUnsatisfiable":"ScheduleAnyway","labelSelector":{"matchLabels":{"k8s-app":"kube-dns"}}}]}}}}'
if [ "$(kubectl_retry -n kube-system get deployment coredns -o jsonpath='{.spec.template.spec.topologySpreadConstraints[*].topologyKey}')" != "$zone_key" ]; then
  echo "CoreDNS: spreading its replicas over $zone_key"
  kubectl_retry -n kube-system patch deployment coredns --type merge -p "$spread"
  kubectl_retry -n kube-system rollout status deployment coredns --timeout=300s
fi
zone_of() { kubectl_retry get node "$1" -o jsonpath="{.metadata.labels['\${zone_key//./\\\\.}']}"; }
replicas="$(kubectl_retry -n kube-system get deployment coredns -o jsonpath='{.spec.replicas}')"
zones_of_pods() {
  for node in $(kubectl_retry -n kube-system get pods -l k8s-app=kube-dns --field-selector=status.phase=Running -o jsonpath='{.items[*].spec.nodeName}'); do zone_of "$node"; echo; done | sort -u | grep -c . || true
}
zones="$(kubectl_retry get nodes -o jsonpath="{.items[*].metadata.labels['\${zone_key//./\\\\.}']}" | tr ' ' '\\n' | sort -u | grep -c . || true)"
want=$(( replicas < zones ? replicas : zones ))
have="$(zones_of_pods)"
if [ "\${have:-0}" -lt "$want" ]; then
  echo "CoreDNS: $replicas replicas in $have zone(s) of $zones; restarting them so they spread"
  kubectl_retry -n kube-system rollout restart deployment coredns
  kubectl_retry -n kube-system rollout status deployment coredns --timeout=300s
  have="$(zones_of_pods)"
fi
echo "CoreDNS: $replicas replicas in $have zone(s) of $zones"
`;
}

/** Final check: every control-plane node Ready, every apiserver /readyz, etcd fully voting and healthy. */
export function validateScript(plan: ClusterPlan): string {
  const external = plan.etcd.topology === "external";
  const names = plan.masters.map((m) => m.name).join(" ");
  const urls = plan.masters.map((m) => `https://${m.ip}:${APISERVER_PORT}`).join(" ");
  return `${header("Fails unless every control-plane node is Ready, every apiserver answers /readyz and etcd has every member voting and healthy.")}
masters="${names}"
apiservers="\${KUBEADM_HA_APISERVER_URLS:-${urls}}"
want=${plan.masters.length}
# etcd's voting members: one per master (stacked), or the external cluster's.
want_etcd=${external ? plan.etcd.members.length : plan.masters.length}
export KUBECONFIG=/etc/kubernetes/admin.conf
problems=()

for node in $masters; do
  ready="$(${NODE_READY})"
  [ "$ready" = "True" ] || problems+=("control-plane node $node is not Ready (Ready=\${ready:-missing})")
done
for url in $apiservers; do
  body="$(curl -sk --max-time 5 "\${url}/readyz" || true)"
  [ "$body" = "ok" ] || problems+=("apiserver $url does not answer /readyz with ok (got: \${body:-no answer})")
done
${external ? etcdGatewayFunctions(plan, true) : `${LOCAL_NODE}${etcdctlFunction("local_node")}`}members="$(${external ? "etcd_gateway cluster/member/list '{}'" : "etcdctl member list -w json"} 2>/dev/null || echo '{}')"
voters="$(printf '%s' "$members" | jq '[.members[]? | select(.isLearner != true)] | length')"
[ "$voters" = "$want_etcd" ] || problems+=("etcd has \${voters} voting members, want $want_etcd")
if ! ${external ? "etcd_healthy" : "etcdctl endpoint health --cluster >/dev/null 2>&1"}; then
  problems+=("etcd reports an unhealthy member")
fi

if [ "\${#problems[@]}" -gt 0 ]; then
  echo "kubeadm-ha: the cluster is not healthy:" >&2
  printf '  - %s\\n' "\${problems[@]}" >&2
  exit 1
fi
echo "control plane healthy: $want nodes Ready, $want apiservers ready, $want_etcd etcd voting members${external ? " (external)" : ""}"
`;
}

/** How a worker learns its name, address and the bootstrap token: platform-specific shell snippets. */
export interface InstanceIdentity {
  /** Shell functions the commands below use (may be empty). */
  prelude: string;
  /** Prints the VM's name. */
  name: string;
  /** Prints the VM's primary internal address. */
  ip: string;
  /** Prints the bootstrap token. */
  token: string;
}

/** Worker boot: prepare, fill in the join config, join (retrying while the control plane comes up). */
export function workerJoinScript(identity: InstanceIdentity): string {
  return `${header("Joins this worker to the cluster with the join config of its pool.")}
${identity.prelude}${paths.prepare}
if [ -f /etc/kubernetes/kubelet.conf ]; then
  echo "already joined"
  exit 0
fi
name="$(${identity.name})"
ip="$(${identity.ip})"
token="$(${identity.token})"
umask 077
mkdir -p "$(dirname "${paths.renderedConfig}")"
sed -e "s/${TOKEN_PLACEHOLDER}/\${token}/" -e "s/${NODE_NAME_PLACEHOLDER}/\${name}/" -e "s/${NODE_IP_PLACEHOLDER}/\${ip}/" \\
  "${paths.workerJoinTemplate}" > "${paths.renderedConfig}"
for attempt in $(seq 1 ${WORKER_JOIN_ATTEMPTS}); do
  if kubeadm join --config "${paths.renderedConfig}"; then
    rm -f "${paths.renderedConfig}"
    exit 0
  fi
  echo "kubeadm join attempt $attempt failed; retrying in 10s" >&2
  kubeadm reset --force >/dev/null 2>&1 || true
  sleep 10
done
rm -f "${paths.renderedConfig}"
echo "kubeadm-ha: worker could not join after ${WORKER_JOIN_ATTEMPTS} attempts" >&2
exit 1
`;
}

// ---- Commands run over SSH (as the kubeadm-ha user, with sudo) ----

/** Waits for cloud-init to finish preparing the machine. */
export function waitBootCommand(): string {
  return `${header("Waits for cloud-init to finish preparing this machine.")}
sudo cloud-init status --wait >/dev/null || true
if ! test -f "${PREPARED_MARKER}"; then
  echo "kubeadm-ha: machine preparation failed; see /var/log/cloud-init-output.log" >&2
  exit 1
fi
`;
}

/**
 * A step's update command. A step runs again (is replaced) when its machine, its command or
 * its input changes; any other change to it (how it connects: a bastion's new address, an
 * SSH agent socket) is an update, and an update changes nothing on the machine.
 */
export function connectionChangedCommand(): string {
  return `${header("Only how this step connects changed: nothing to do on the machine.")}
echo "connection details changed; nothing to do on $(hostname)"
`;
}

/** Writes the files of a bundle read from standard input (see bundle.ts). */
export function unpackCommand(): string {
  return `${header("Writes the files of a bundle read from standard input: one line per file, PATH MODE BASE64.")}
count=0
while read -r path mode data; do
  sudo install -d -m 0755 "$(dirname "$path")"
  printf '%s' "$data" | base64 -d | sudo install -m "$mode" /dev/stdin "$path"
  count=$((count + 1))
done
echo "wrote $count files"
`;
}

const CNI_MANIFESTS: Record<string, (v: string) => string> = {
  calico: (v) => `https://raw.githubusercontent.com/projectcalico/calico/v${v}/manifests/calico.yaml`,
  flannel: (v) => `https://github.com/flannel-io/flannel/releases/download/v${v}/kube-flannel.yml`,
};

/** URL of the pinned CNI manifest, or undefined for `none`. */
export function cniManifestUrl(name: string, version: string): string | undefined {
  return CNI_MANIFESTS[name]?.(version);
}

/** Applies the stack's CNI (kubectl apply: a no-op when it is in place). */
export function applyCni(plan: ClusterPlan): string {
  const cni = plan.config.kubernetes.cni;
  const url = cniManifestUrl(cni.name, cni.version);
  // The nodes' own route service reads the Nodes with their kubelet credentials.
  if (cni.name === "bridge") return `sudo kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f ${POD_ROUTES_RBAC}\n`;
  if (!url) return `echo "cni: none; install your own before workloads can run"\n`;
  if (cni.name === "flannel") {
    return `curl -fsSL "${url}" | sed 's#10.244.0.0/16#${plan.config.network.podCidr}#' | sudo kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -\n`;
  }
  return `sudo kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f "${url}"\n`;
}

/** etcd's peer port (kubeadm's local etcd): a member's peer URL is https://ADDRESS:2380. */
/** etcd's peer port (etcd-cluster.ts), here for the scripts that name it. */
export { ETCD_PEER_PORT };

/** Records that MASTER is an etcd member (create) and removes it from a peer when MASTER goes (delete). */
export function etcdMemberCommand(master: MasterPlan): string {
  return `${header(`Checks that ${master.name} is an etcd member (runs on a healthy master).`)}
sudo ${paths.etcdMember} show ${master.name} https://${master.ip}:${ETCD_PEER_PORT}
`;
}

/** Removes the etcd members and Nodes of masters the stack no longer lists, from a healthy master. */
export function pruneMembersCommand(plan: ClusterPlan): string {
  return `${header("Removes the etcd member and Node of every master the stack no longer has (runs on a healthy master).")}
sudo ${paths.etcdMember} prune ${plan.masters.map((m) => m.name).join(" ")}
`;
}

/** A machine you own: write its files, point the endpoint name, install containerd and kubeadm, start the endpoint services. */
export function prepareCommand(endpointAddress: string, hasEndpointServices: boolean, memberEndpointAddress?: string): string {
  // A master that is a member already (the step runs again) keeps the endpoint where its
  // init or join step pointed it; only a master still to join points it at the master it joins.
  const setEndpoint =
    memberEndpointAddress === undefined
      ? `sudo ${paths.setEndpoint} ${endpointAddress}`
      : `if sudo test -f ${MEMBER_DONE}; then
  sudo ${paths.setEndpoint} ${memberEndpointAddress}
else
  sudo ${paths.setEndpoint} ${endpointAddress}
fi`;
  return `${header("Prepares a machine you own (what cloud-init does on GCP and AWS) from the files on standard input.")}
${unpackCommand()
  .split("\n")
  .filter((l) => !l.startsWith("#") && !l.startsWith("set -euo"))
  .join("\n")
  .trim()}
${setEndpoint}
sudo ${paths.prepare}
${
  hasEndpointServices
    ? `sudo /usr/local/sbin/kubeadm-ha-endpoint
`
    : ""
}`;
}

/**
 * Bash that waits, every 2 s, until \`condition\` (a shell test) holds, and fails the step
 * with \`failure\` once $deadline (seconds, set before) has passed.
 */
export function waitUntilDeadline(condition: string, failure: string): string {
  return `until ${condition}; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "kubeadm-ha: ${failure}" >&2
    exit 1
  fi
  sleep 2
done`;
}

/** How long a worker you own may take to turn Ready after `kubeadm join`, seconds. */
export const WORKER_READY_TIMEOUT_S = 300;

/** A worker you own joins over SSH (on GCP and AWS workers join from their templates); succeeds once its node is Ready. */
export function staticWorkerJoinCommand(worker: { name: string }): string {
  return `${header(`kubeadm join on ${worker.name}; succeeds once the node is Ready.`)}
if ! sudo test -f /etc/kubernetes/kubelet.conf; then
  sudo ${paths.renderConfig} ${paths.joinConfig} ${paths.renderedConfig}
  sudo kubeadm join --config ${paths.renderedConfig}
  sudo rm -f ${paths.renderedConfig}
fi
# The kubelet's own credentials may read its own Node.
deadline=$((SECONDS + ${WORKER_READY_TIMEOUT_S}))
${waitUntilDeadline(`[ "$(sudo kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node ${worker.name} -o jsonpath='${READY_STATUS}' 2>/dev/null)" = "True" ]`, `${worker.name} joined but is not Ready after ${WORKER_READY_TIMEOUT_S}s; see journalctl -u kubelet on it`)}
echo "node ${worker.name} is Ready"
`;
}

/** Runs the final validation on master-0, after spreading CoreDNS over the masters. */
export function validateCommand(): string {
  return `${header("Spreads CoreDNS over the masters, then fails `pulumi up` with the reason unless the control plane is healthy.")}
sudo ${paths.spreadDns}
sudo ${paths.validate}
`;
}

/** Prints the admin kubeconfig (a stack output, kept secret). */
export function kubeconfigCommand(): string {
  return `${header("Prints the admin kubeconfig.")}
sudo cat /etc/kubernetes/admin.conf
`;
}
