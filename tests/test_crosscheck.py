"""The hub's cross-source check through real nodes over mutual TLS: the MPS holds the
authoritative population source (姓名 by 公民身份号码), Guangdong a copy with known injected
errors. The check asks for its grants, samples the copy, verifies in batches at the MPS, and files
exactly the injected errors as corrections to Guangdong, once; the hub keeps verdicts only."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import sqlite3

import pytest

from conftest import make_entry
from exchange_support import OWNER
from harness import data
from node import config as config_mod, wire
from node.crosschecks import CrossCheck, CrossChecks
from node.errors import ConfigError
from node.hub.crosscheck import CrossCheckJob
from node.model.rules import DataItem
from node.proto import catalog_pb2, catalog_pb2_grpc, exchange_pb2, exchange_pb2_grpc
from signed_support import DEADLINE, MPS_DEPARTMENT
from signed_support import federation  # noqa: F401 (fixture)

ITEMS = (("公民身份号码", "string"), ("姓名", "string"))
PEOPLE = 300
WRONG = (3, 41, 42, 150, 299)  # rows of the copy whose 姓名 differs from the authority's
AUTHORITY, COPY = f"{MPS_DEPARTMENT}/000001", f"{OWNER}/000010"
HUB_DEPARTMENT = "100000001"
CHECK = CrossCheck(name="姓名-by-公民身份号码", element="姓名", key="公民身份号码", authority=AUTHORITY,
                   copies=(COPY,), sample=1000)


def publish_and_mount(member, department: str, seq: int, name: str, source: pathlib.Path) -> None:
    entry = make_entry(department, seq, name=name, share_type="unconditional", share_method="database",
                       data_items=tuple(DataItem(n, kind, 0, key=n == "公民身份号码") for n, kind in ITEMS))
    catalog_pb2_grpc.CatalogStub(member.channel(department)).PublishEntry(
        catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)), timeout=DEADLINE)
    exchange_pb2_grpc.ExchangeStub(member.channel(department)).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=entry.resource_code, kind="sqlite", location=str(source), table="people",
        keys=["公民身份号码"], index="create"), timeout=DEADLINE)


@pytest.fixture(scope="module")
def sources(federation) -> dict[str, str]:
    """The authority's people at the MPS, Guangdong's copy of them with WRONG names; the injected
    rows' ID numbers."""
    folder = pathlib.Path(federation.source).parent
    authority, copy = folder / "mps-people.db", folder / "guangdong-people.db"
    data.write_sqlite(str(authority), "people", ITEMS, PEOPLE, seed="crosscheck", province="440000")
    shutil.copy(authority, copy)
    injected = {}
    with sqlite3.connect(copy) as db:
        for row in WRONG:
            (key, name), = db.execute('SELECT "公民身份号码", "姓名" FROM people WHERE rowid = ?', (row + 1,))
            db.execute('UPDATE people SET "姓名" = ? WHERE rowid = ?', (name + "某", row + 1))
            injected[key] = name
    publish_and_mount(federation.members["mps"], MPS_DEPARTMENT, 1, "人口基础信息", authority)
    publish_and_mount(federation.members["guangdong"], OWNER, 10, "社会保障参保人员信息", copy)
    federation.sync()
    return injected


def job(federation) -> CrossCheckJob:
    hub = federation.hub.node
    return CrossCheckJob(CrossChecks(HUB_DEPARTMENT, (CHECK,)), hub.store, hub.sharing, hub.corrections,
                         fetch=lambda request_id, consumer, offset: hub.exchange.fetch(request_id, consumer, offset),
                         verify=lambda message: hub.calls.call("verify", message, timeout=60), log=hub.log,
                         clock=hub.clock)


def test_a_cross_check_finds_exactly_the_injected_errors_and_files_each_once(federation, sources):
    checker = job(federation)
    (first,) = checker.run_check(CHECK)  # no grants yet: the check asks for them
    assert first.checked == 0 and "waiting for the grant" in first.detail
    federation.settle(lambda: checker._grant(CHECK, AUTHORITY, "verify") and checker._grant(CHECK, COPY, "fetch"),
                      "the hub's data authority granted both")

    (result,) = checker.run_check(CHECK)
    assert (result.checked, result.mismatches, result.not_found, result.filed) == (PEOPLE, len(WRONG), 0, len(WRONG))
    guangdong, hub = federation.members["guangdong"], federation.hub
    federation.settle(lambda: all(guangdong.node.store.get_corrections([c]).get(c) for c in result.correction_ids),
                      "every correction at Guangdong")
    keys = {guangdong.node.store.correction_key(c)["公民身份号码"] for c in result.correction_ids}
    assert keys == set(sources), "the corrections name other records than the injected ones"
    opened = guangdong.node.store.get_corrections(result.correction_ids).values()
    assert {(c.state, c.filer_code, c.owner_code, c.data_items) for c in opened} == {("open", "hub", OWNER, ("姓名",))}

    # Found again on the next run: not filed twice. The hub holds verdicts, never a key or a name.
    (again,) = checker.run_check(CHECK)
    assert (again.mismatches, again.filed) == (len(WRONG), 0)
    path = pathlib.Path(hub.node.config.database)
    held = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    assert not [k for k in sources if k.encode() in held], "the hub's database holds a checked record's key"
    assert [run[3:7] for run in hub.node.store.crosscheck_runs(2)] == [(PEOPLE, len(WRONG), 0, 0),
                                                                      (PEOPLE, len(WRONG), 0, len(WRONG))]


def test_a_small_sample_checks_only_that_many_and_the_quota_stops_the_day(federation, sources):
    checker = job(federation)
    small = dataclasses.replace(CHECK, sample=40, quota=60)
    (first,) = checker.run_check(small)
    (second,) = checker.run_check(small)
    (third,) = checker.run_check(small)
    assert (first.checked, second.checked, third.checked) == (40, 20, 0)
    assert "quota of 60 records is used" in third.detail


def test_a_check_whose_authority_marks_no_key_says_why_it_waits(federation, sources):
    # An unconditional entry that marks no key item offers a fetch only: the verification the
    # check asks for is rejected on arrival, and each run's detail says so rather than only waiting.
    unkeyed = make_entry(MPS_DEPARTMENT, 2, name="人口基础信息副本", share_type="unconditional", share_method="database",
                         data_items=tuple(DataItem(n, kind, 0) for n, kind in ITEMS))
    catalog_pb2_grpc.CatalogStub(federation.members["mps"].channel(MPS_DEPARTMENT)).PublishEntry(
        catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(unkeyed)), timeout=DEADLINE)
    federation.sync()
    checker = job(federation)
    check = dataclasses.replace(CHECK, name="unkeyed", authority=unkeyed.resource_code)
    (first,) = checker.run_check(check)
    assert first.checked == 0 and "waiting for the grant" in first.detail
    federation.settle(lambda: "offers fetch only: it marks no key item" in checker.run_check(check)[0].detail,
                      "the run naming the authority's rejection")


@pytest.mark.parametrize("change, key", [
    ({"department": "999999999"}, "crosschecks.department"),
    ({"checks": [{"name": "x", "element": "姓名", "key": "公民身份号码", "authority": "bad", "copies": [COPY]}]},
     "crosschecks.checks[0].authority"),
    ({"checks": [{"name": "x", "element": "姓名", "key": "公民身份号码", "authority": AUTHORITY, "copies": []}]},
     "crosschecks.checks[0].copies"),
    ({"checks": [{"name": "x", "element": "姓名", "key": "公民身份号码", "authority": AUTHORITY, "copies": [COPY],
                  "sample": 0}]}, "crosschecks.checks[0].sample"),
])
def test_a_bad_cross_check_config_names_the_key(change, key, tmp_path):
    settings = {"node": {"id": "national", "role": "national", "region_code": "100000"},
                "listen": "127.0.0.1:0", "database": str(tmp_path / "n.db"), "insecure": True, "departments": [{"code": HUB_DEPARTMENT, "name": "国家数据局"}],
                "peers": [{"id": "hebei", "role": "provincial", "address": "127.0.0.1:1", "region_code": "130000"}],
                "crosschecks": {"department": HUB_DEPARTMENT, "checks": []} | change}
    with pytest.raises(ConfigError) as caught:
        config_mod.parse(settings, "<hub>")
    assert key in str(caught.value)


def test_a_correction_on_a_key_the_owner_cannot_find_is_rejected_saying_so(federation, sources):
    checker = job(federation)
    federation.settle(lambda: checker._grant(CHECK, COPY, "fetch"), "the hub's grant for the copy")
    hub, guangdong = federation.hub.node, federation.members["guangdong"]
    filed = hub.corrections.file_checked(checker._grant(CHECK, COPY, "fetch"), ["姓名"],
                                         {"公民身份号码": "11010119000101000X"}, "多源校核: 姓名 不一致")
    federation.settle(lambda: (hub.store.get_corrections([filed.correction_id])[filed.correction_id].state
                               == "rejected"), "the owner's refusal back at the hub")
    at_owner = guangdong.node.store.get_corrections([filed.correction_id])[filed.correction_id]
    assert at_owner.state == "rejected" and "no record with this 公民身份号码" in at_owner.reason


def test_a_hub_configured_with_checks_runs_the_job_and_other_nodes_refuse_them(tmp_path):
    from node.server import Node

    checks = {"department": HUB_DEPARTMENT, "checks": [{"name": "x", "element": "姓名", "key": "公民身份号码",
                                                         "authority": AUTHORITY, "copies": [COPY], "every": 3600}]}
    hub = {"node": {"id": "national", "role": "national", "region_code": "100000"}, "listen": "127.0.0.1:0",
           "database": str(tmp_path / "n.db"), "insecure": True,
           "departments": [{"code": HUB_DEPARTMENT, "name": "国家数据局"}],
           "peers": [{"id": "hebei", "role": "provincial", "address": "127.0.0.1:1", "region_code": "130000"}],
           "crosschecks": checks}
    node = Node(config_mod.parse(hub, "<hub>"))
    try:
        assert node.crosscheck is not None and node.crosscheck in node.jobs and node.crosscheck.enabled()
    finally:
        node.store.close()
    member = {"node": {"id": "hebei", "role": "provincial", "region_code": "130000"}, "listen": "127.0.0.1:0",
              "database": str(tmp_path / "h.db"), "insecure": True,
              "departments": [{"code": "130000002", "name": "河北省民政厅"}], "crosschecks": checks}
    with pytest.raises(ConfigError) as caught:
        config_mod.parse(member, "<hebei>")
    assert "only a hub" in str(caught.value)
