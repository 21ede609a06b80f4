#!/usr/bin/env bash
# Builds the wheels `make image` installs with --no-index (no network inside the build), for this host's
# CPython (Linux, the image's Python minor version):
#   .cache/image/wheelhouse  every pinned dependency of covenant (requirements.txt lists them) and
#                            cyclonedx-bom; rebuilt only when pyproject.toml changes, so the image's
#                            dependency layer stays cached
#   .cache/image/app         the covenant wheel, rebuilt every time
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.cache/image/wheelhouse"
app="$root/.cache/image/app"
py="${PYTHON:-python3}"
CYCLONEDX="cyclonedx-bom==7.5.0"
stamp="$out/.deps-$(cat "$root/pyproject.toml" "$0" <(echo "$CYCLONEDX") | sha256sum | cut -c1-16)"
mkdir -p "$out" "$app"
if [ ! -e "$stamp" ]; then
  rm -rf "$out" && mkdir -p "$out"
  "$py" - "$root/pyproject.toml" >"$out/requirements.txt" <<'PY'
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))
PY
  "$py" -m pip wheel --quiet --wheel-dir "$out" --requirement "$out/requirements.txt" "$CYCLONEDX" >&2
  touch "$stamp"
fi
rm -f "$app"/*.whl
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/pyproject.toml" "$root/README.md" "$root/libs" "$root/services" "$tmp/"
find "$tmp" -name __pycache__ -prune -exec rm -rf {} +
"$py" -m pip wheel --quiet --no-deps --wheel-dir "$app" "$tmp" >&2
echo "$out"
