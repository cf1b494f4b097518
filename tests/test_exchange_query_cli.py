"""`cascade data query`, `verify` (one record, and a file of claims in, a file of verdicts out),
`calls`, and `mount --key --personal`, against real nodes."""

from __future__ import annotations

import csv
import threading

import grpc
import pytest
from click.testing import CliRunner

from cli import main
from cli.verify_file import verify_file
from exchange_support import CONSUMER, source_rows
from test_exchange_query import PERSON_ITEMS, PERSONS, fed, granted  # noqa: F401 (fixture)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cascade_data_query_and_verify_one_record(fed):
    request_id = granted(fed, "440300002/000010", PERSON_ITEMS)
    target = ["--target", fed.peers["hebei"].node.address]
    found = run("data", "query", request_id, "--consumer", CONSUMER, "--by", f"公民身份号码={PERSONS[0][0]}", *target)
    assert found.exit_code == 0, found.output
    assert "440305********123X" in found.output and "张**" in found.output and "张三丰" not in found.output
    missing = run("data", "query", request_id, "--consumer", CONSUMER, "--by", "公民身份号码=110101190001011234",
                  *target)
    assert missing.exit_code == 3 and "not found" in missing.output
    right = run("data", "verify", request_id, "--consumer", CONSUMER, "--by", f"公民身份号码={PERSONS[0][0].lower()}",
                "--claim", "姓名=张三丰", "--claim", "联系电话=13812345678", *target)
    assert right.exit_code == 0 and "姓名: match" in right.output and "overall: match" in right.output
    wrong = run("data", "verify", request_id, "--consumer", CONSUMER, "--by", f"公民身份号码={PERSONS[0][0]}",
                "--claim", "姓名=张三", *target)
    assert wrong.exit_code == 3 and "姓名: mismatch" in wrong.output
    bad = run("data", "verify", request_id, "--consumer", CONSUMER, "--by", "姓名=张三丰", "--claim", "姓名=张三丰",
              *target)
    assert bad.exit_code == 1 and "INVALID_ARGUMENT: key[姓名]: is not a key" in bad.output
    for command in ("calls", "exchanges"):  # the calls per hour, alone or after the fetches
        shown = run("data", command, "--request", request_id, "--target", fed.peers["guangdong"].node.address)
        assert shown.exit_code == 0, shown.output
        rows = [line.split() for line in shown.output.splitlines() if request_id in line]
        [verify_row], [query_row] = ([r for r in rows if r[3] == mode] for mode in ("verify", "query"))
        # hour, request, part, mode, calls, keys, hits, not found, mismatches, refusals
        assert verify_row[1:10] == [request_id, "owner", "verify", "3", "2", "1", "0", "1", "1"], verify_row
        assert query_row[1:10] == [request_id, "owner", "query", "2", "2", "1", "1", "0", "0"], query_row


def test_cascade_data_verify_a_file_of_claims(fed, tmp_path):
    request_id = granted(fed, "440300002/000001", ("企业名称", "法定代表人"))
    source = source_rows(fed.source, ("统一社会信用代码", "企业名称", "法定代表人"))
    claims, expected = tmp_path / "claims.csv", []
    with open(claims, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["统一社会信用代码", "企业名称", "法定代表人"])
        for i, (code, name, person) in enumerate(source):
            if i % 3 == 0:
                writer.writerow([code, name, person])
                expected.append([code, "match", "match", "match"])
            elif i % 3 == 1:
                writer.writerow([code, name, person + "某"])
                expected.append([code, "match", "mismatch", "mismatch"])
            else:
                writer.writerow([code[:-1] + "#", name, ""])  # a wrong check character: a question all the same
                expected.append([code[:-1] + "#", "not_found", "", "not_found"])
    out = tmp_path / "verdicts.csv"
    done = run("data", "verify", request_id, "--consumer", CONSUMER, "--by", "统一社会信用代码", "--in", claims,
               "--out", out, "--batch", 7, "--target", fed.peers["hebei"].node.address)
    assert done.exit_code == 0, done.output
    assert f"{len(source):,} lines, {len(source) // 3:,} match" in done.output
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["统一社会信用代码", "企业名称", "法定代表人", "overall"] and rows[1:] == expected
    assert not any(person in out.read_text(encoding="utf-8") for _, _, person in source)  # verdicts, never values


def test_a_refused_batch_stops_the_file_where_it_is_with_every_line_before_it_written(fed, tmp_path):
    """Two batches are on their way at once; the verdicts are still written in the file's order,
    and a batch refused (here a claim on an item the grant leaves out, in the third batch) ends
    the run with every line before it in the verdicts file and none after."""
    request_id = granted(fed, "440300002/000001", ("企业名称", "法定代表人"))
    source = source_rows(fed.source, ("统一社会信用代码", "企业名称", "法定代表人"))[:40]
    claims = tmp_path / "claims.csv"
    with open(claims, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["统一社会信用代码", "企业名称", "注册资本"])
        for i, (code, name, _) in enumerate(source):
            writer.writerow([code, name, "100" if i == 16 else ""])  # 注册资本 is not granted
    out = tmp_path / "verdicts.csv"
    done = run("data", "verify", request_id, "--consumer", CONSUMER, "--by", "统一社会信用代码", "--in", claims,
               "--out", out, "--batch", 7, "--target", fed.peers["hebei"].node.address)
    assert done.exit_code == 1, done.output
    assert "PERMISSION_DENIED" in done.output and "(lines before 16 are in" in done.output, done.output
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert [row[0] for row in rows[1:]] == [code for code, _, _ in source[:14]]
    assert all(row[-1] == "match" for row in rows[1:])


class _Refusal(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode):
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "refused"


def test_a_refused_batch_ends_the_run_without_waiting_out_the_next_batch_s_retries(tmp_path):
    """The batch after a refused one is on its way and being retried (its link broke): the run
    ends, naming the call id to run again with, and that batch is not retried on for its minute."""
    asked, first_refused = [], threading.Event()

    class Node:
        def Verify(self, message, timeout=None):
            asked.append(message.call_id)
            if message.call_id.endswith("-1"):
                first_refused.wait(10)  # the second batch is on its way and retrying by now
                raise _Refusal(grpc.StatusCode.PERMISSION_DENIED)
            first_refused.set()
            raise _Refusal(grpc.StatusCode.UNAVAILABLE)

    claims = tmp_path / "claims.csv"
    claims.write_text("统一社会信用代码,企业名称\n" + "".join(f"91{i:016d},某公司\n" for i in range(10)), encoding="utf-8")
    with pytest.raises(SystemExit) as ended:
        verify_file(Node(), "hebei-1", CONSUMER, ["统一社会信用代码"], str(claims), str(tmp_path / "v.csv"), 5,
                    call_id="hall-7", retry_for=30)
    assert ended.value.code == 1
    # Retried on for its 30 s, the second batch would be asked about a dozen times (backoff from
    # 0.2 s doubling to 5 s); given up, once or twice (8 would take 6 s of the run's own delay).
    assert asked.count("hall-7-1") == 1 and 1 <= asked.count("hall-7-2") < 8, asked
