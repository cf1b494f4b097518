"""The real `cascade` command in its own process: start-up, bad configs, graceful stop, SIGKILL."""

import random
import sqlite3
import subprocess
import sys
import threading

import grpc
import pytest
import yaml

from conftest import ROOT, make_entry, wait_until
from node import wire
from node.proto import catalog_pb2, catalog_pb2_grpc
from processes import NodeProcess


def hebei_config(tmp_path):
    return {
        "node": {"id": "hebei", "role": "provincial", "region_code": "130000"},
        "database": str(tmp_path / "hebei.db"),
        "departments": [{"code": "130100005", "name": "石家庄市数据和政务服务局"}],
        "log": {"format": "json"},
        "insecure": True,
    }


def cascade(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT, **kwargs)


def test_sigkill_during_bulk_load_loses_no_acknowledged_entry(tmp_path):
    proc = NodeProcess(tmp_path, hebei_config(tmp_path)).start()
    acknowledged: list[list[str]] = []
    in_flight: list[list[str]] = []
    held_at = random.randint(5, 20)  # calls acknowledged before the one the kill cuts
    mid_call, killed = threading.Event(), threading.Event()
    stopped: list[str] = []  # why the loader stopped

    def requests(batch, call):
        for i, entry in enumerate(batch):
            if call == held_at and i == len(batch) // 2:
                # Half this call's entries are at the node, the rest still to come: the kill
                # lands inside an open bulk call however slow the machine is.
                mid_call.set()
                killed.wait()
                return
            yield catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(entry))

    def load():
        with grpc.insecure_channel(proc.address) as channel:
            stub = catalog_pb2_grpc.CatalogStub(channel)
            for call in range(10_000):
                batch = [make_entry(seq=call * 100 + i + 1) for i in range(100)]
                in_flight.append([e.resource_code for e in batch])
                try:
                    stub.PublishEntries(requests(batch, call), timeout=60)
                except grpc.RpcError as exc:
                    stopped.append(f"call {call}: {exc.code().name} {exc.details()}")
                    return
                acknowledged.append(in_flight.pop())

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    try:
        wait_until(lambda: (mid_call.is_set(), len(acknowledged), stopped), 120,
                   f"the loader to have {held_at} calls acknowledged and the next one half sent",
                   until=lambda seen: seen[0] or seen[2])
        assert not stopped, f"the loader stopped before the kill: {stopped}"
        proc.kill()
    finally:
        killed.set()
        proc.stop()  # only if the test failed before the kill
    loader.join(30)
    assert not loader.is_alive(), "the call cut by the kill did not end within 30 s"
    seen = f"{len(acknowledged)} calls acknowledged, {len(in_flight)} cut"
    assert len(acknowledged) == held_at and len(in_flight) == 1, f"{seen}: the kill did not land inside the held call"

    proc.start()  # the same database, restarted
    proc.stop()
    db = sqlite3.connect(tmp_path / "hebei.db")
    stored = {row[0] for row in db.execute("SELECT resource_code FROM entries")}
    for codes in acknowledged:
        assert set(codes) <= stored
    for codes in in_flight:  # the call cut by the kill: all or nothing
        assert set(codes) <= stored or not set(codes) & stored
    seqs = [row[0] for row in db.execute("SELECT seq FROM changes ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap
    assert len(seqs) == len(stored)


def test_sigterm_stops_gracefully(tmp_path):
    proc = NodeProcess(tmp_path, hebei_config(tmp_path)).start()
    code = proc.stop(timeout=60)
    assert code == 0, f"exit code {code}" + (" (not stopped within 60 s of SIGTERM: killed)" if code == -9 else "")
    events = [yaml.safe_load(line)["event"] for line in proc.log_path.read_text().splitlines() if line.startswith("{")]
    started = events.index("node.started")  # before it only the first start's audit key (node/security/audit_key.py)
    assert set(events[:started]) <= {"node.audit_key_created"} and events[-1] == "node.stopped"


@pytest.mark.parametrize("change, key, rule", [
    (lambda c: c.update(colour="red"), "colour", "unknown key"),
    (lambda c: c["node"].pop("role"), "node.role", "is required"),
    (lambda c: c["node"].update(role="county"), "node.role", "must be one of"),
    (lambda c: c["node"].update(region_code="999999"), "node.region_code", "GB/T 2260"),
    (lambda c: c["departments"][0].update(code="440000001"), "departments[0].code", "region"),
    (lambda c: c.update(listen="localhost"), "listen", "HOST:PORT"),
    (lambda c: c.update(peers=[{"id": "x"}]), "peers", "only a national node"),
    (lambda c: c.pop("insecure"), "tls", "is required"),
    (lambda c: c.update(tls={"cert": "nowhere.pem", "key": "nowhere.key", "ca": "ca.pem"}), "insecure", "must not be true"),
    (lambda c: c.update(insecure=False, tls={"cert": "nowhere.pem", "key": "k", "ca": "c"}), "tls.cert", "names no readable file"),
])
def test_bad_config_stops_start_up_naming_file_key_and_rule(tmp_path, change, key, rule):
    config = dict(hebei_config(tmp_path), listen="127.0.0.1:0")
    change(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    for args in (["node", "check-config", str(path)], ["node", "run", "--config", str(path)]):
        result = cascade(*args, timeout=30)
        assert result.returncode == 2
        assert f"{path}: {key}: " in result.stderr and rule in result.stderr


def test_bundled_configs_are_valid_once_node_init_made_their_files(tmp_path):
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if "node" not in data:
            continue  # a federation compose file, checked by the harness tests
        copy = tmp_path / "configs" / path.name  # its relative paths land in tmp_path, not in the checkout
        copy.parent.mkdir(exist_ok=True)
        copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        before = cascade("node", "check-config", str(copy), timeout=30)
        assert before.returncode == 2 and "tls.cert: names no readable file" in before.stderr
        made = cascade("node", "init", "--config", str(copy), timeout=60)
        assert made.returncode == 0, made.stderr
        assert "created a local CA" in made.stdout and "department tokens" in made.stdout
        assert "the node's audit key" in made.stdout
        result = cascade("node", "check-config", str(copy), timeout=30)
        assert result.returncode == 0, result.stderr
        assert cascade("node", "init", "--config", str(copy), timeout=60).stdout.startswith("nothing to create")


def test_cli_publishes_searches_and_withdraws(tmp_path):
    proc = NodeProcess(tmp_path, dict(hebei_config(tmp_path), departments=[{"code": "130000001", "name": "河北省公安厅"}])).start()
    try:
        target = ["--target", proc.address]
        result = cascade("entry", "publish", str(ROOT / "configs" / "examples" / "entry.yaml"), *target)
        assert result.returncode == 0 and "created 130000001/000001 version 1" in result.stdout
        result = cascade("entry", "search", "人口", *target)
        assert "全员人口基础信息" in result.stdout and "1 shown of 1" in result.stdout
        result = cascade("entry", "get", "130000001/000001", *target)
        assert yaml.safe_load(result.stdout)["share_condition"]
        result = cascade("entry", "withdraw", "130000001/000001", *target)
        assert "withdrawn 130000001/000001 version 2" in result.stdout
        result = cascade("entry", "get", "130000001/000009", *target)
        assert result.returncode == 1 and "NOT_FOUND" in result.stderr
        result = cascade("status", *target)
        assert "hebei (provincial" in result.stdout and "seq 2" in result.stdout
    finally:
        proc.stop()
