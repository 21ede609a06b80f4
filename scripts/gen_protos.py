"""Generate Python code for every proto under protos/ into a target tree (default: libs/).

Usage: python scripts/gen_protos.py [OUT_DIR]
The committed output lives in libs/covenant/<domain>/v1/; tests regenerate into a
temporary directory and compare, so stale generated code fails the suite.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"


def proto_files() -> list[Path]:
    """All .proto files, in a stable order."""
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Run protoc for all protos into out_dir and return the generated files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = resources.files("grpc_tools") / "_proto"
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    generated: list[Path] = []
    for rel in files:
        pkg_dir = out_dir / Path(rel).parent
        # Make every directory on the way a regular package.
        d = pkg_dir
        while d != out_dir:
            init = d / "__init__.py"
            if not init.exists():
                init.write_text("")
            d = d.parent
        stem = Path(rel).stem
        generated += [
            pkg_dir / f"{stem}_pb2.py",
            pkg_dir / f"{stem}_pb2.pyi",
            pkg_dir / f"{stem}_pb2_grpc.py",
        ]
    return generated


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "libs"
    for path in generate(target):
        print(path.relative_to(target))
