#!/usr/bin/env bash
# `make image`: build the Covenant image offline with podman, then print its name, size and SBOM size.
#   1. base: official python:3.11-slim if pullable, else a local debootstrap Debian 12 (build_base.sh)
#   2. wheelhouse built on the host (build_wheelhouse.sh), installed in the build with --no-index
#   3. podman build --network none (nothing in the build reaches a network)
# Env: COVENANT_IMAGE (default localhost/covenant:latest), COVENANT_BASE_IMAGE, PYTHON (for pip wheel),
# COVENANT_IMAGE_SOURCE (the OCI source label). The SBOM is copied to .cache/image/sbom.cdx.json.
# --reuse (the container tests): keep $COVENANT_IMAGE when it was built from the same inputs (Dockerfile,
# pyproject.toml, libs/, services/, rules/, base image), whatever the commit; its revision label may be older.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
start=$(date +%s)
image="${COVENANT_IMAGE:-localhost/covenant:latest}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
origin="$(git remote get-url origin 2>/dev/null || true)"
case "$origin" in https://* | git@*) ;; *) origin="https://github.com/covenant-platform/covenant" ;; esac  # a local clone's path is no source
source_url="${COVENANT_IMAGE_SOURCE:-$origin}"
base="$(scripts/build_base.sh)"
inputs="$( (podman image inspect --format '{{.Id}}' "$base"; echo "$source_url"  # labels are inputs too
  find Dockerfile .dockerignore pyproject.toml README.md libs services rules scripts/build_image.sh -type f \
    -not -name '*.pyc' -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-32)"
if [ "${1:-}" = "--reuse" ] &&
  [ "$(podman image inspect --format '{{index .Labels "io.covenant.inputs"}}' "$image" 2>/dev/null)" = "$inputs" ]; then
  echo "image $image reused (same inputs $inputs)"
  exit 0
fi
scripts/build_wheelhouse.sh >/dev/null
podman build --quiet --network none --pull=never \
  --build-arg "BASE=$base" \
  --build-arg "INPUTS=$inputs" \
  --build-arg "APP_WHEEL_SHA256=$(sha256sum .cache/image/app/covenant-*.whl | cut -d' ' -f1)" \
  --build-arg "VERSION=$version" \
  --build-arg "REVISION=$revision" \
  --build-arg "SOURCE=$source_url" \
  --tag "$image" --tag "localhost/covenant:$version" \
  --file Dockerfile . >/dev/null
sbom="$root/.cache/image/sbom.cdx.json"
podman run --rm --network none --entrypoint cat "$image" /opt/covenant/share/covenant/sbom.cdx.json >"$sbom"
components="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["components"]))' "$sbom")"
size="$(podman image inspect --format '{{.Size}}' "$image")"
echo "image $image (base $base, version $version, revision ${revision:0:12})"
echo "size $((size / 1000000)) MB; SBOM $sbom: $components components (CycloneDX); built in $(($(date +%s) - start)) s"
