#!/usr/bin/env bash
# Installs everything the render and the tests need on a fresh Debian/Ubuntu machine:
# Node packages (exact versions from package-lock.json) and the real tools the tests
# run on rendered files. Run as root (or with sudo available). The Kubernetes and Pulumi
# programs the tests run are built from Go modules by `npm run toolchain` (Go >= 1.24).
set -euo pipefail
cd "$(dirname "$0")"

# gcc + libc6-dev: the toolchain compiles Kubernetes' pause program (static C);
# util-linux: unshare, for lab hosts' private mount and UTS namespaces;
# openssh-server: the sshd test/command-provider.test.ts runs the command plugin against;
# iptables conntrack ca-certificates netbase: what npm run bundle puts into the images (kube-proxy's
# iptables-nft and conntrack, the base layer's CA bundle and /etc/protocols); containerd: test/bundle.test.ts.
# debootstrap, systemd-container: the lab hosts (lab/hosts.ts: a Debian root filesystem booted by systemd-nspawn);
APT_PACKAGES=(cloud-init shellcheck yamllint graphviz openssl etcd-server etcd-client jq curl iproute2 keepalived haproxy procps gcc libc6-dev util-linux openssh-server iptables conntrack ca-certificates netbase containerd debootstrap systemd-container)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Install scripts of the Pulumi packages only download provider plugins, which the
# offline render and the tests never use.
npm ci --ignore-scripts --no-audit --no-fund

# The toolchain builds Kubernetes (go.mod: go 1.24) and the Pulumi CLI with the ordinary go client.
if ! command -v go >/dev/null 2>&1; then
  echo "setup: no Go on PATH: install Go 1.24 or newer (Debian's golang package is older); npm run toolchain needs it" >&2
  exit 1
fi
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "$go_minor" -lt 24 ]; then
  echo "setup: $(go env GOVERSION) is too old: npm run toolchain needs Go 1.24 or newer" >&2
  exit 1
fi
