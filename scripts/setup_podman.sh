#!/usr/bin/env bash
# Install and configure rootful podman for the container tests (CI and fresh machines of this kind):
# Debian's podman with runc (crun refuses this host's hybrid cgroup layout), debootstrap for the local
# Debian 12 base image, and `default_ulimits = []` (the default ulimits fail here with "setrlimit:
# operation not permitted"). Idempotent; needs root.
set -euo pipefail
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 podman runc debootstrap
fi
conf=/etc/containers/containers.conf
marker="# covenant: container tests (scripts/setup_podman.sh)"
if ! grep -qF "$marker" "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  if grep -qE '^\[(containers|engine)\]' "$conf" 2>/dev/null; then
    echo "$conf already has [containers]/[engine] tables; set default_ulimits = [] and runtime = \"runc\" there" >&2
    exit 1
  fi
  cat >>"$conf" <<CONF
$marker
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
fi
podman info --format '{{.Host.OCIRuntime.Name}} {{.Version.Version}}'
