// cni "bridge": pod networking that needs no image, for hosts you own on one L2 segment.
// containerd writes each node's CNI config from a template once the kubelet tells it the
// node's pod range (kube-controller-manager allocates one /24 per node), and a small
// service on every node routes the other nodes' pod ranges via their addresses and
// masquerades pod traffic that leaves the pod network: what flannel's host-gw backend
// does, with the standard bridge, host-local, loopback and portmap plugins. Pure.
import { MachineFile } from "./bundle";
import { CNI_TEMPLATE, POD_ROUTES_RBAC, POD_ROUTES_SERVICE, SBIN } from "./scripts";

export const POD_ROUTES = `${SBIN}/kubeadm-ha-pod-routes`;
export const POD_ROUTES_UNIT = `/etc/systemd/system/${POD_ROUTES_SERVICE}`;

/**
 * Lets every node read the Nodes (their pod ranges and addresses). Kubernetes 1.32+ lets
 * a kubelet read only its own Node through the Node authorizer; RBAC grants the rest.
 * Applied once by the init step.
 */
export function podRoutesRbac(): string {
  return `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubeadm-ha:pod-routes
rules:
  - apiGroups: [""]
    resources: ["nodes"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm-ha:pod-routes
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kubeadm-ha:pod-routes
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:nodes
`;
}

/** containerd's conf_template (Go template over the node's pod ranges). */
export function cniTemplate(): string {
  return `{
  "cniVersion": "0.4.0",
  "name": "kubeadm-ha-bridge",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [{{range $i, $r := .PodCIDRRanges}}{{if $i}}, {{end}}[{"subnet": "{{$r}}"}]{{end}}],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`;
}

/** Watches the Nodes (with the kubelet's own credentials) and keeps a route to each other node's pod range. */
export function podRoutesScript(podCidr: string): string {
  return `#!/usr/bin/env bash
# Routes each other node's pod range via that node's address and masquerades pod
# traffic leaving the pod network (cni bridge). Rendered by kubeadm-ha; do not edit.
set -euo pipefail
pod_cidr="${podCidr}"
kubeconfig=/etc/kubernetes/kubelet.conf
if [ ! -f "$kubeconfig" ]; then
  echo "kubeadm-ha-pod-routes: no $kubeconfig yet (node not joined); systemd retries" >&2
  exit 1
fi
if ! iptables -t nat -C POSTROUTING -s "$pod_cidr" ! -d "$pod_cidr" -m comment --comment kubeadm-ha-pod-egress -j MASQUERADE 2>/dev/null; then
  iptables -t nat -A POSTROUTING -s "$pod_cidr" ! -d "$pod_cidr" -m comment --comment kubeadm-ha-pod-egress -j MASQUERADE
fi
mine="$(ip -o -4 addr show | awk '{ split($4, a, "/"); print a[1] }')"
# One line per Node event: its pod range and internal address. Ends when the API
# connection does; systemd starts it again.
kubectl --kubeconfig "$kubeconfig" get nodes --watch \\
  -o jsonpath='{.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}' |
  while read -r cidr addr; do
    if [ -z "$cidr" ] || [ -z "$addr" ] || grep -qxF "$addr" <<<"$mine"; then
      continue
    fi
    if ! ip route show "$cidr" | grep -qF "via $addr "; then
      ip route replace "$cidr" via "$addr"
      echo "route $cidr via $addr"
    fi
  done
`;
}

export function podRoutesUnit(): string {
  return `[Unit]
Description=kubeadm-ha: routes to the other nodes' pod ranges (cni bridge)
After=network-online.target kubelet.service
Wants=network-online.target

[Service]
ExecStart=${POD_ROUTES}
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
`;
}

export function bridgeFiles(podCidr: string): MachineFile[] {
  return [
    { path: CNI_TEMPLATE, mode: "0644", content: cniTemplate() },
    { path: POD_ROUTES, mode: "0755", content: podRoutesScript(podCidr) },
    { path: POD_ROUTES_UNIT, mode: "0644", content: podRoutesUnit() },
    { path: POD_ROUTES_RBAC, mode: "0644", content: podRoutesRbac() },
  ];
}
