"""The `federation` pytest fixture: a real federation from a compose file, torn down after the
test whatever happens.

    def test_partition(federation):
        fed = federation("configs/federation-small.yaml", sync={"call_deadline": 3})
        fed.seed()
        fed.partition("guangdong")
        ...
        fed.wait_converged()
"""

from __future__ import annotations

import pathlib

import pytest
import yaml

from harness.runner import ROOT, Federation


@pytest.fixture
def federation(tmp_path):
    """federation(compose_file, portal=False, **defaults) -> Federation, up and healthy; `defaults`
    override the compose file's `defaults` (interval, notify, sync: {...}). The web portal starts
    only for a test that asks for it (portal=True), whatever the compose file says. Every
    federation is brought down and its state directory removed at teardown, also when the test
    fails."""
    started: list[Federation] = []

    def up(compose_file: str | pathlib.Path, portal: bool = False, **defaults) -> Federation:
        path = pathlib.Path(compose_file)
        if not path.is_absolute():
            path = ROOT / path
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if defaults or bool(data.get("portal")) != portal:
            data["portal"] = portal
            merged = dict(data.get("defaults") or {})
            for key, value in defaults.items():
                merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
            data["defaults"] = merged
            path = tmp_path / f"{len(started)}-{path.name}"
            path.write_text(yaml.safe_dump(data, allow_unicode=True))
        state = tmp_path / f"federation-{len(started)}"
        try:
            fed = Federation.up(path, state)
        except BaseException:
            Federation(state).down(purge=True)
            raise
        started.append(fed)
        return fed

    yield up
    for fed in started:
        fed.down(purge=True)
