// Endpoints for hosts you own: haproxy in front of every apiserver (on the masters
// behind a keepalived VIP, or on every node at 127.0.0.1), and keepalived itself.
// Pure: values in, config text out; checked by haproxy -c and keepalived --config-test.
import { PROXY_CHECK } from "./endpoint-checks";

/** Port the haproxy in front of the apiservers listens on (6443 is the apiserver's own, on the same masters). */
export const VIP_PROXY_PORT = 8443;
/** Port of the per-node proxy on 127.0.0.1 (the masters' apiservers hold 6443). */
export const LOCAL_PROXY_PORT = 16443;
/**
 * VRRPv3 adverts every 0.5 s: a backup takes the VIP after 3 missed adverts plus
 * skew (< 2 s); VRRPv2's 1 s minimum would take ~3.5 s.
 */
export const VRRP = { version: 3, advertSeconds: 0.5, virtualRouterId: 51, basePriority: 150, priorityStep: 10 };
/** keepalived gives the VIP up when its local haproxy stops answering: checked every second, 2 failures. */
export const VRRP_CHECK = { intervalS: 1, timeoutS: 1, fall: 2, rise: 2 };

export interface ApiServerBackend {
  name: string;
  address: string;
  port: number;
}

export interface ProxyConfigInput {
  /** Address haproxy binds ("*" on masters in vip mode, 127.0.0.1 for the local proxy). */
  bind: string;
  port: number;
  backends: ApiServerBackend[];
}

/** haproxy in TCP mode (TLS passes through to the apiservers) with HTTPS /readyz checks. */
export function haproxyConfig(input: ProxyConfigInput): string {
  const c = PROXY_CHECK;
  const servers = input.backends.map((b) => `    server ${b.name} ${b.address}:${b.port} check check-ssl verify none inter ${c.interMs} fall ${c.fall} rise ${c.rise}`).join("\n");
  return `# Rendered by kubeadm-ha: kube-apiserver load balancing. Do not edit on the machine.
global
    log stdout format raw local0 warning
    # Apiserver traffic is a few long-lived connections per node; 4096 fits a default 20k FD limit.
    maxconn 4096

defaults
    log global
    mode tcp
    option tcplog
    option dontlognull
    timeout connect 2s
    # A connection to an apiserver that went away before its checks mark it down (up to
    # inter x fall) is retried on another one, so clients see a delay, not an error.
    retries 2
    option redispatch 1
    timeout client 4h
    timeout server 4h
    timeout check ${c.timeoutMs}ms

frontend kube-apiserver
    bind ${input.bind}:${input.port}
    default_backend kube-apiservers

backend kube-apiservers
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    balance roundrobin
    default-server on-marked-down shutdown-sessions
${servers}
`;
}

export interface KeepalivedInput {
  /** This master. */
  self: { name: string; address: string; index: number };
  peers: string[];
  vip: string;
  /** Prefix length of the VIP's subnet, e.g. 24. */
  prefix: number;
  interface: string;
  checkScript: string;
}

/** keepalived: VRRPv3 with unicast peers (works where multicast is filtered); no preemption, so a returning master does not flap the VIP. */
export function keepalivedConfig(k: KeepalivedInput): string {
  const v = VRRP;
  const ch = VRRP_CHECK;
  return `# Rendered by kubeadm-ha: the apiserver VIP. Do not edit on the machine.
global_defs {
    router_id ${k.self.name}
    vrrp_version ${v.version}
    enable_script_security
    script_user root
    vrrp_garp_master_delay 1
    vrrp_garp_master_repeat 3
}

vrrp_script check_apiserver_proxy {
    script "${k.checkScript}"
    interval ${ch.intervalS}
    timeout ${ch.timeoutS}
    fall ${ch.fall}
    rise ${ch.rise}
}

vrrp_instance kube_apiserver {
    state BACKUP
    nopreempt
    interface ${k.interface}
    virtual_router_id ${v.virtualRouterId}
    priority ${v.basePriority - k.self.index * v.priorityStep}
    advert_int ${v.advertSeconds}
    unicast_src_ip ${k.self.address}
    unicast_peer {
${k.peers.map((p) => `        ${p}`).join("\n")}
    }
    virtual_ipaddress {
        ${k.vip}/${k.prefix} dev ${k.interface}
    }
    track_script {
        check_apiserver_proxy
    }
}
`;
}

/** The check keepalived runs: the local haproxy must answer /readyz (so at least one apiserver is ready). */
export function vipCheckScript(port: number = VIP_PROXY_PORT): string {
  return `#!/usr/bin/env bash
# Rendered by kubeadm-ha: keepalived keeps the VIP only while the local haproxy reaches a ready apiserver.
set -euo pipefail
curl -sfk --max-time 1 "https://127.0.0.1:${port}/readyz" >/dev/null
`;
}

/** The files each endpoint service runs on: a change to any of them is applied to the running service. */
const serviceFiles = (unit: string): string[] => ({ haproxy: [ENDPOINT_PATHS.haproxy], keepalived: [ENDPOINT_PATHS.keepalived, ENDPOINT_PATHS.check] })[unit] ?? [];

/** Where the setup script keeps the digest of each service's files as it last applied them. */
export const ENDPOINT_STATE_DIR = "/var/lib/kubeadm-ha/endpoint";

/**
 * Installs the endpoint services when they are missing and applies the configs written
 * before: a stopped service is started; a running one is reloaded only when its files
 * changed since they were last applied (haproxy's reload hands its listening sockets to the
 * new process; keepalived's re-reads its config and keeps the VIP it holds). Run again with
 * nothing changed, it changes nothing: no package download, no restart, no VIP moved.
 */
export function endpointSetupScript(packages: string[]): string {
  return `#!/usr/bin/env bash
# Rendered by kubeadm-ha: installs ${packages.join(" and ")} as system services when missing (they must answer before
# kubeadm init has a kubelet, and keep answering while a kubelet is down) and applies the rendered configs:
# a start when stopped, a reload when a config changed, nothing otherwise.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(${packages.join(" ")})
missing=()
for p in "\${packages[@]}"; do
  command -v "$p" >/dev/null || missing+=("$p")
done
if [ "\${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  # --force-confold keeps the rendered configs written before the packages.
  apt-get install -y -q -o Dpkg::Options::=--force-confold "\${missing[@]}"
fi
state="${ENDPOINT_STATE_DIR}"
mkdir -p "$state"
apply() {
  local unit="$1" sum
  shift
  sum="$(cat "$@" | sha256sum | cut -d' ' -f1)"
  systemctl enable --quiet "$unit"
  if ! systemctl is-active --quiet "$unit"; then
    systemctl restart "$unit"
    echo "$unit started"
  elif [ "$(cat "$state/$unit.sha256" 2>/dev/null || true)" != "$sum" ]; then
    systemctl reload "$unit"
    echo "$unit reloaded: its configuration changed"
  fi
  echo "$sum" > "$state/$unit.sha256"
}
${packages.map((p) => `apply ${p} ${serviceFiles(p).join(" ")}`).join("\n")}
`;
}

export const ENDPOINT_PATHS = {
  haproxy: "/etc/haproxy/haproxy.cfg",
  keepalived: "/etc/keepalived/keepalived.conf",
  check: "/etc/keepalived/check-apiserver-proxy.sh",
  setup: "/usr/local/sbin/kubeadm-ha-endpoint",
};
