"""Corrections (校核纠错) through real nodes over mutual TLS: Hebei's department, holding a grant
for Shenzhen's entry at Guangdong's node, files a correction on one record; the hub routes it to
Guangdong, whose department answers; the answer comes back. The record's key reaches the owner's
node only: the hub's database never holds it. Every refusal is a clear status and changes nothing."""

from __future__ import annotations

import dataclasses
import pathlib
from datetime import datetime

import grpc
import pytest

from clock_support import Clock
from exchange_support import CONSUMER, OWNER, source_rows
from node.model.calendar import CHINA
from node.proto import corrections_pb2, corrections_pb2_grpc
from node.server import Node
from node.sharing.seals import CORRECTIONS
from signed_support import DEADLINE, MPS_DEPARTMENT, Member
from signed_support import federation  # noqa: F401 (fixture)

UNCONDITIONAL = "440300002/000001"


def corrections(member: Member, department: str) -> corrections_pb2_grpc.CorrectionsStub:
    return corrections_pb2_grpc.CorrectionsStub(member.channel(department))


def held(member: Member, correction_id: str):
    return member.node.store.get_corrections([correction_id]).get(correction_id)


def state_at(member: Member, correction_id: str) -> str:
    found = held(member, correction_id)
    return found.state if found else ""


def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), caught.value.details()


def database_bytes(member: Member) -> bytes:
    """Everything the node's SQLite file holds on disk, its write-ahead log included."""
    path = pathlib.Path(member.node.config.database)
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


@pytest.fixture(scope="module")
def granted(federation) -> str:
    """Hebei's department holds a grant for Shenzhen's unconditional entry (it received the data)."""
    return federation.request(CONSUMER, UNCONDITIONAL, ("企业名称", "统一社会信用代码"))


@pytest.fixture(scope="module")
def key_value(federation) -> str:
    return source_rows(federation.source, ["统一社会信用代码"])[7][0]


def file(federation, key_value: str, items=("企业名称",), **fields) -> corrections_pb2.Correction:
    request = dict(filer_code=CONSUMER, resource_code=UNCONDITIONAL, data_items=list(items),
                   key={"统一社会信用代码": key_value}, kind="wrong_value", evidence="营业执照上的企业名称与共享数据不一致")
    request.update(fields)
    return corrections(federation.members["hebei"], CONSUMER).FileCorrection(
        corrections_pb2.FileCorrectionRequest(**request), timeout=DEADLINE)


def routed(federation, correction_id: str, states=("open",)) -> None:
    hebei, guangdong = federation.members["hebei"], federation.members["guangdong"]
    federation.settle(lambda: state_at(guangdong, correction_id) in states and state_at(hebei, correction_id) in states,
                      f"{correction_id} {'/'.join(states)} at Guangdong and back at Hebei")


def owner_score(hub: Member) -> tuple[int, int, int, int]:
    """The owner department's corrections as the hub's scorecard counts them: received, answered,
    in time, corrected."""
    from node.sharing.scorecard import scorecard

    departments, _ = scorecard(hub.node.store, hub.node.config.calendar, datetime.now(CHINA))
    row = next((d for d in departments if d.department_code == OWNER), None)
    return (row.corrections_received, row.corrections_answered, row.corrections_in_time,
            row.corrections_corrected) if row else (0, 0, 0, 0)


def test_a_correction_reaches_the_owner_who_answers_and_the_answer_comes_back(federation, granted, key_value):
    hebei, guangdong, hub = federation.members["hebei"], federation.members["guangdong"], federation.hub
    before = owner_score(hub)
    filed = file(federation, key_value)
    assert (filed.state, filed.owner_node, dict(filed.key)) == ("filed", "guangdong", {})
    routed(federation, filed.correction_id)

    # The owner department reads the key at its node; the filer and the hub see only its name.
    at_owner = corrections(guangdong, OWNER).GetCorrection(corrections_pb2.GetCorrectionRequest(
        correction_id=filed.correction_id, department_code=OWNER), timeout=DEADLINE)
    assert dict(at_owner.key) == {"统一社会信用代码": key_value} and at_owner.deadline
    at_filer = corrections(hebei, CONSUMER).GetCorrection(corrections_pb2.GetCorrectionRequest(
        correction_id=filed.correction_id, department_code=CONSUMER), timeout=DEADLINE)
    assert dict(at_filer.key) == {} and list(at_filer.key_items) == ["统一社会信用代码"]
    assert state_at(hub, filed.correction_id) == "open"
    assert key_value.encode() not in database_bytes(hub), "the hub's database holds the record's key"
    assert key_value.encode() not in database_bytes(hebei), "the filer's node keeps the key it sealed"

    answered = corrections(guangdong, OWNER).AnswerCorrection(corrections_pb2.AnswerCorrectionRequest(
        correction_id=filed.correction_id, department_code=OWNER, outcome="corrected"), timeout=DEADLINE)
    assert answered.state == "corrected" and answered.version == 3
    routed(federation, filed.correction_id, ("corrected",))
    back = held(hebei, filed.correction_id)
    assert [e.state for e in back.history] == ["filed", "open", "corrected"] and back.signer == "guangdong"
    federation.settle(lambda: state_at(hub, filed.correction_id) == "corrected", "the answer at the hub")
    # The hub's scorecard: one more received, answered in time and corrected for the owner.
    assert tuple(a - b for a, b in zip(owner_score(hub), before)) == (1, 1, 1, 1)

    # A second answer: a clear status, nothing changed anywhere.
    code, details = refused(lambda: corrections(guangdong, OWNER).AnswerCorrection(
        corrections_pb2.AnswerCorrectionRequest(correction_id=filed.correction_id, department_code=OWNER,
                                                outcome="no_fault", reason="数据无误"), timeout=DEADLINE))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "corrected, not open" in details
    assert held(guangdong, filed.correction_id).version == 3


@pytest.mark.parametrize("change, status, names", [
    (dict(items=("注册地址",)), grpc.StatusCode.INVALID_ARGUMENT, "data_items[0]"),
    (dict(key={"身份证号": "x"}), grpc.StatusCode.INVALID_ARGUMENT, "key[0]"),
    (dict(kind="typo"), grpc.StatusCode.INVALID_ARGUMENT, "kind"),
    (dict(evidence=" "), grpc.StatusCode.INVALID_ARGUMENT, "evidence"),
    (dict(key={}), grpc.StatusCode.INVALID_ARGUMENT, "key"),
    (dict(resource_code="440300002/000003"), grpc.StatusCode.NOT_FOUND, "resource_code"),
    (dict(resource_code="440300002/000002"), grpc.StatusCode.FAILED_PRECONDITION, "no granted request"),
])
def test_a_bad_correction_is_refused_at_filing_naming_the_field(federation, granted, key_value, change, status,
                                                                 names):
    hebei = federation.members["hebei"]
    before = len(hebei.node.store.all_corrections())
    code, details = refused(lambda: file(federation, key_value, **change))
    assert code == status and names in details, details
    assert len(hebei.node.store.all_corrections()) == before


def test_only_the_owner_answers_with_a_reason_where_one_is_due(federation, granted, key_value):
    hebei, guangdong = federation.members["hebei"], federation.members["guangdong"]
    filed = file(federation, key_value, kind="outdated")
    routed(federation, filed.correction_id)
    answer = lambda member, department, outcome, reason="": corrections(member, department).AnswerCorrection(  # noqa: E731
        corrections_pb2.AnswerCorrectionRequest(correction_id=filed.correction_id, department_code=department,
                                                outcome=outcome, reason=reason), timeout=DEADLINE)
    code, details = refused(lambda: answer(hebei, CONSUMER, "no_fault", "我方认为无误"))
    assert code == grpc.StatusCode.PERMISSION_DENIED and f"only {OWNER}" in details
    code, details = refused(lambda: answer(guangdong, OWNER, "no_fault"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "reason" in details
    code, details = refused(lambda: answer(guangdong, OWNER, "fixed"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "outcome" in details
    assert state_at(guangdong, filed.correction_id) == state_at(hebei, filed.correction_id) == "open"
    rejected = answer(guangdong, OWNER, "rejected", "查无此记录: 该统一社会信用代码不在本单位登记信息中")
    assert rejected.state == "rejected"
    routed(federation, filed.correction_id, ("rejected",))
    assert held(hebei, filed.correction_id).reason.startswith("查无此记录")


def test_an_answer_forged_by_the_filers_node_is_refused_and_the_owner_still_answers(federation, granted, key_value):
    hebei, guangdong, hub = federation.members["hebei"], federation.members["guangdong"], federation.hub
    filed = file(federation, key_value)
    routed(federation, filed.correction_id)
    opened = held(hebei, filed.correction_id)
    # Hebei answers in the owner's name, signed with its own key, into its own database.
    forged = hebei.node.seal.sign(opened.advanced("no_fault", OWNER, opened.updated_at, "无误"), CORRECTIONS)
    with hebei.node.store.transaction() as tx:
        tx.put_corrections([forged], log=True)
    federation.settle(lambda: any(r.object == filed.correction_id for r in hub.denied(filed.correction_id)),
                      "the hub's refusal of the forged answer")
    assert state_at(hub, filed.correction_id) == state_at(guangdong, filed.correction_id) == "open"


def test_an_open_correction_past_its_working_days_is_overdue(federation, granted, key_value):
    guangdong = federation.members["guangdong"]
    clock = Clock(datetime(2026, 12, 5, 10, 0, tzinfo=CHINA))  # a Saturday in Beijing
    original = guangdong.node.sharing.clock
    guangdong.node.sharing.clock = clock
    try:
        filed = file(federation, key_value, kind="missing")
        routed(federation, filed.correction_id)
        opened = held(guangdong, filed.correction_id)
        assert opened.deadline == "2026-12-11"  # five working days: Mon 7 to Fri 11 December
        listing = lambda: corrections(guangdong, OWNER).ListCorrections(  # noqa: E731
            corrections_pb2.ListCorrectionsRequest(owner_code=OWNER, overdue_only=True), timeout=DEADLINE)
        clock.at = datetime(2026, 12, 11, 23, 59, tzinfo=CHINA)
        assert filed.correction_id not in [c.correction_id for c in listing().corrections]
        clock.at = datetime(2026, 12, 12, 0, 0, tzinfo=CHINA)
        overdue = [c for c in listing().corrections if c.correction_id == filed.correction_id]
        assert len(overdue) == 1 and overdue[0].overdue
        assert guangdong.node.store.count_corrections("2026-12-12")[1] >= 1  # what cascade_corrections_overdue reads
    finally:
        guangdong.node.sharing.clock = original


def restart(member: Member) -> None:
    """The node stopped at once and started again on the same database and port."""
    address = member.node.address
    config = member.node.config
    member.node.stop(0)
    for channel in member.channels.values():
        channel.close()
    member.channels.clear()
    member.node = Node(dataclasses.replace(config, listen=address)).start()


def test_a_correction_survives_the_hub_and_the_owner_killed_mid_way(federation, granted, key_value):
    hebei, guangdong, hub = federation.members["hebei"], federation.members["guangdong"], federation.hub
    config, address = guangdong.node.config, guangdong.node.address
    guangdong.node.stop(0)  # the delivery cannot happen yet
    try:
        filed = file(federation, key_value)
        federation.settle(lambda: hub.node.store.outbox_summary().get("guangdong", (0, ""))[0] >= 1,
                          "the correction queued at the hub for Guangdong")
        assert state_at(hub, filed.correction_id) == "filed"
        restart(hub)  # with the delivery still queued in its outbox
    finally:
        guangdong.channels.clear()
        guangdong.node = Node(dataclasses.replace(config, listen=address)).start()
    routed(federation, filed.correction_id)
    assert [e.state for e in held(guangdong, filed.correction_id).history] == ["filed", "open"]  # opened once

    # The owner answers and is killed before the hub pulls the answer: it is in its change log.
    corrections(guangdong, OWNER).AnswerCorrection(corrections_pb2.AnswerCorrectionRequest(
        correction_id=filed.correction_id, department_code=OWNER, outcome="corrected"), timeout=DEADLINE)
    restart(guangdong)
    routed(federation, filed.correction_id, ("corrected",))
    assert held(hebei, filed.correction_id).version == held(hub, filed.correction_id).version == 3


def test_a_department_without_a_grant_cannot_file_and_another_node_gets_nothing(federation, granted, key_value):
    mps = federation.members["mps"]
    code, details = refused(lambda: corrections(mps, MPS_DEPARTMENT).FileCorrection(
        corrections_pb2.FileCorrectionRequest(filer_code=MPS_DEPARTMENT, resource_code=UNCONDITIONAL,
                                              data_items=["企业名称"], key={"统一社会信用代码": key_value},
                                              kind="wrong_value", evidence="不一致"), timeout=DEADLINE))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "no granted request" in details
    assert mps.node.store.all_corrections() == []


def cli(member: Member, department: str, *args: str):
    """`cascade ...` as a department's tool, over mutual TLS, with a token of its own."""
    from click.testing import CliRunner

    from cli import main
    from node.security import pki, tokens

    with member.node.store.transaction() as tx:
        token, _ = tokens.issue(tx.conn, department, tokens.DEPARTMENT_SCOPES)
    ca = member.ca
    return CliRunner().invoke(main, [*args, "--target", member.node.address, "--token", token,
                                     "--cert", str(ca / "tool.pem"), "--key", str(ca / "tool.key"),
                                     "--ca", str(ca / pki.CA_CERT), "--server-name", member.node.config.node_id])


def test_the_cli_files_lists_shows_and_answers(federation, granted, key_value):
    hebei, guangdong = federation.members["hebei"], federation.members["guangdong"]
    filed = cli(hebei, CONSUMER, "corrections", "file", "-q", "--filer", CONSUMER, "--resource", UNCONDITIONAL,
                "--item", "企业名称", "--record", f"统一社会信用代码={key_value}", "--kind", "missing",
                "--evidence", "企业名称为空")
    assert filed.exit_code == 0, filed.output
    correction_id = filed.output.strip()
    routed(federation, correction_id)
    listed = cli(guangdong, OWNER, "corrections", "list", "--owner", OWNER, "--state", "open")
    assert listed.exit_code == 0 and correction_id in listed.output, listed.output
    shown = cli(guangdong, OWNER, "corrections", "show", correction_id, "--department", OWNER)
    assert f"key: 统一社会信用代码={key_value}" in shown.output, shown.output
    shown = cli(hebei, CONSUMER, "corrections", "show", correction_id, "--department", CONSUMER)
    assert key_value not in shown.output and "sealed to guangdong" in shown.output, shown.output
    answered = cli(guangdong, OWNER, "corrections", "answer", correction_id, "--department", OWNER,
                   "--outcome", "no_fault", "--reason", "该企业名称在源系统中完整")
    assert answered.exit_code == 0 and "no_fault" in answered.output, answered.output
    again = cli(guangdong, OWNER, "corrections", "answer", correction_id, "--department", OWNER,
                "--outcome", "corrected")
    assert again.exit_code != 0 and "not open" in again.output, again.output


def test_a_filer_restored_from_an_older_copy_gets_its_corrections_back(federation, granted, key_value, tmp_path):
    from node.store import backup, restore

    hebei, guangdong = federation.members["hebei"], federation.members["guangdong"]
    backup(hebei.node.config.database, str(tmp_path / "hebei.backup"))
    filed = file(federation, key_value)
    routed(federation, filed.correction_id)
    corrections(guangdong, OWNER).AnswerCorrection(corrections_pb2.AnswerCorrectionRequest(
        correction_id=filed.correction_id, department_code=OWNER, outcome="corrected"), timeout=DEADLINE)
    routed(federation, filed.correction_id, ("corrected",))
    config, address = hebei.node.config, hebei.node.address
    hebei.node.stop(0)
    restore(str(tmp_path / "hebei.backup"), config.database)
    hebei.channels.clear()
    hebei.node = Node(dataclasses.replace(config, listen=address)).start()
    assert state_at(hebei, filed.correction_id) == ""  # the restored copy never saw it
    routed(federation, filed.correction_id, ("corrected",))  # the hub resyncs Hebei and delivers it again
    assert [e.state for e in held(hebei, filed.correction_id).history] == ["filed", "open", "corrected"]
