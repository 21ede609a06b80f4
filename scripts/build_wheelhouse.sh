#!/usr/bin/env bash
# Builds the wheelhouse `make image` installs from with --no-index (no network inside the build): every
# dependency of covenant as a wheel for this host's CPython (Linux, the image's Python minor version), the
# covenant wheel itself, and cyclonedx-bom for the SBOM. Cached under .cache/image/wheelhouse: dependency
# wheels are rebuilt only when pyproject.toml changes; the covenant wheel is rebuilt every time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.cache/image/wheelhouse"
py="${PYTHON:-python3}"
CYCLONEDX="cyclonedx-bom==7.5.0"
stamp="$out/.deps-$(cat "$root/pyproject.toml" <(echo "$CYCLONEDX") | sha256sum | cut -c1-16)"
mkdir -p "$out"
if [ ! -e "$stamp" ]; then
  rm -f "$out"/*.whl "$out"/.deps-*
  "$py" -m pip wheel --quiet --wheel-dir "$out" "$root" "$CYCLONEDX" >&2
  touch "$stamp"
fi
rm -f "$out"/covenant-*.whl
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/pyproject.toml" "$root/README.md" "$root/libs" "$root/services" "$tmp/"
find "$tmp" -name __pycache__ -prune -exec rm -rf {} +
"$py" -m pip wheel --quiet --no-deps --wheel-dir "$out" "$tmp" >&2
echo "$out"
