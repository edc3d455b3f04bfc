// The kubelet's systemd units as the official Kubernetes .deb packages (pkgs.k8s.io)
// ship them, with the binaries at /usr/bin:
// - kubelet.service: kubernetes/release cmd/krel/templates/latest/kubelet/kubelet.service,
//   installed by the kubelet package at /usr/lib/systemd/system/kubelet.service;
// - 10-kubeadm.conf: cmd/krel/templates/latest/kubeadm/10-kubeadm.conf, installed by the
//   kubeadm package at /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf. The
//   template names the RPM's /etc/sysconfig/kubelet; the .deb build rewrites it to
//   /etc/default/kubelet (kubernetes/release#3276, fixed by #3279), as here.

export const KUBELET_SERVICE = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

export const KUBEADM_DROPIN = `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;
