"""Regenerate docs/authorization.md (the authorization matrix) from the permission and role tables.

.venv/bin/python scripts/gen_authz_matrix.py          # write it
.venv/bin/python scripts/gen_authz_matrix.py --check  # exit 1 when the committed file is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.authz import render  # noqa: E402

DOC = ROOT / "docs" / "authorization.md"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is stale: run python scripts/gen_authz_matrix.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
