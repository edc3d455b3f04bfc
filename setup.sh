#!/usr/bin/env bash
# Installs everything the render and the tests need on a fresh Debian/Ubuntu machine:
# Node packages (exact versions from package-lock.json) and the real tools the tests
# run on rendered files. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(cloud-init shellcheck yamllint graphviz openssl etcd-server etcd-client jq curl iproute2 keepalived haproxy procps)

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
