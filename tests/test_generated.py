"""The committed protobuf code is what protos/generate.py makes from the .proto files."""

import importlib.util

from conftest import ROOT


def test_generated_code_matches_protos(tmp_path):
    spec = importlib.util.spec_from_file_location("generate", ROOT / "protos" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    generate.generate(tmp_path)
    fresh = sorted(p.name for p in (tmp_path / "node" / "proto").glob("*_pb2*"))
    committed = sorted(p.name for p in (ROOT / "node" / "proto").glob("*_pb2*"))
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / "node" / "proto" / name).read_text() == (ROOT / "node" / "proto" / name).read_text(), (
            f"node/proto/{name} differs from what protos/generate.py makes: run python protos/generate.py"
        )
