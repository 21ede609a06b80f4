#!/usr/bin/env bash
# Prints the base image for `make image`: the official python:3.11-slim when it can be pulled, otherwise a
# local Debian 12 base (python3, python3-venv, ca-certificates) made with debootstrap from the Debian mirror
# apt already uses and imported into podman as localhost/covenant-base:bookworm. The root filesystem
# tarball is cached under .cache/image/ (git-ignored), so later builds on a machine whose podman storage was
# wiped only re-import it. Override with COVENANT_BASE_IMAGE=<image> (skips both). Needs root for debootstrap.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/image"
official="${COVENANT_OFFICIAL_BASE:-docker.io/library/python:3.11-slim}"
local_base="localhost/covenant-base:bookworm"
log() { echo "build_base: $*" >&2; }

if [ -n "${COVENANT_BASE_IMAGE:-}" ]; then echo "$COVENANT_BASE_IMAGE"; exit 0; fi
if podman image exists "$official"; then echo "$official"; exit 0; fi
if podman image exists "$local_base"; then echo "$local_base"; exit 0; fi
if timeout 30 podman pull -q "$official" >/dev/null 2>&1; then echo "$official"; exit 0; fi
log "cannot pull $official; using a local Debian 12 base"

mkdir -p "$cache"
tarball="$cache/base-bookworm.tar"
if [ ! -s "$tarball" ]; then
  mirror="${COVENANT_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/* *$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" >&2
  # Leaner and reproducible enough: no apt lists, caches or logs in the base.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*
  tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
  mv -f "$tarball.tmp" "$tarball"
fi
podman import -q \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  "$tarball" "$local_base" >/dev/null
echo "$local_base"
