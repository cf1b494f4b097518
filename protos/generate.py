"""Regenerates node/proto/*_pb2*.py from protos/node/proto/*.proto (run from anywhere)."""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"


def proto_files() -> list[pathlib.Path]:
    return sorted((PROTO_DIR / "node" / "proto").glob("*.proto"))


def generate(out_dir: pathlib.Path) -> None:
    """Writes the generated modules for every proto file under out_dir/node/proto."""
    import grpc_tools
    from grpc_tools import protoc

    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    (out_dir / "node" / "proto").mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(PROTO_DIR)) for p in proto_files()],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    generate(ROOT)
    print(f"generated {len(proto_files())} proto files into node/proto", file=sys.stderr)
