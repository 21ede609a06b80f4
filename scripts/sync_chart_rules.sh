#!/usr/bin/env bash
# Copy the default rule packs (rules/<service>/*.yaml) into the chart: Helm cannot read files outside the
# chart directory. tests/chart/test_chart_rules.py fails while the copy is stale.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/charts/covenant/files/rules"
rm -rf "$dest"
mkdir -p "$dest"
cd "$root/rules"
find . -mindepth 2 -maxdepth 2 -type f -name '*.yaml' -print0 \
  | while IFS= read -r -d '' f; do
      mkdir -p "$dest/$(dirname "$f")"
      cp "$f" "$dest/$f"
    done
echo "copied $(find "$dest" -type f | wc -l) rule packs into ${dest#"$root"/}"
