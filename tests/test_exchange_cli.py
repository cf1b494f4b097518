"""`cascade data fetch`, `mount` and `show`: rows written to a file, a cut-off fetch resumed, a source mounted."""

from __future__ import annotations

import re

from exchange_support import CONSUMER, ITEMS, ROWS, digest, entry, granted, source_rows
from exchange_support import fed  # noqa: F401 (fixture)
from harness import data
from test_sharing import publish


# --- the command line ------------------------------------------------------------------------------

def test_cascade_data_fetch_writes_the_rows_and_resumes_a_file_cut_short(fed, tmp_path):
    from click.testing import CliRunner

    from cli import main

    request_id = granted(fed, items=("统一社会信用代码", "企业名称"))
    target = ["--target", fed.peers["hebei"].node.address]
    out = tmp_path / "enterprises.csv"
    first = CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(out), *target])
    assert first.exit_code == 0, first.output
    expected = source_rows(fed.source, ["统一社会信用代码", "企业名称"])
    assert f"{ROWS:,} rows" in first.output and digest(expected) in first.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "统一社会信用代码,企业名称" and len(lines) == ROWS + 1
    # A fetch that broke off: 100 rows and half a line in the file. --resume keeps them, adds the rest.
    out.write_text("\n".join(lines[:101]) + "\n" + lines[101][:7], encoding="utf-8")
    again = CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(out),
                                      "--resume", *target])
    assert again.exit_code == 0, again.output
    assert "140 received now" in again.output and "resumed at 100" in again.output
    assert out.read_text(encoding="utf-8").splitlines() == lines
    refused = CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(out), *target])
    assert refused.exit_code == 2 and "--resume" in refused.output
    jsonl = tmp_path / "enterprises.jsonl"
    assert CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(jsonl),
                                     *target]).exit_code == 0
    import json

    assert [tuple(json.loads(line).values()) for line in jsonl.read_text(encoding="utf-8").splitlines()] == expected


def test_cascade_data_mount_and_show(fed, tmp_path):
    from click.testing import CliRunner

    from cli import main

    target = ["--target", fed.peers["guangdong"].node.address]
    path = tmp_path / "market.csv"
    data.write_csv(path, ITEMS, 12, province="440000")
    publish(fed.peers["guangdong"], entry(9, share_method="file"))
    made = CliRunner().invoke(main, ["data", "mount", "--resource", "440300002/000009", "--kind", "csv",
                                     "--location", str(path), *target])
    assert made.exit_code == 0, made.output
    assert "440300002/000009  csv" in made.output and "统一社会信用代码" in made.output
    shown = CliRunner().invoke(main, ["data", "show", "440300002/000009", *target])
    assert shown.exit_code == 0 and "source columns" in shown.output
    wrong = CliRunner().invoke(main, ["data", "mount", "--resource", "440300002/000009", "--kind", "sqlite",
                                      "--location", str(path), *target])
    assert wrong.exit_code == 1 and "INVALID_ARGUMENT: kind" in wrong.output


LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")  # the in-process nodes' log, on the same stdout


def test_quiet_commands_print_only_the_id_for_the_next_command(fed, tmp_path):
    """`REQ=$(cascade requests submit ... -q)` then `cascade data fetch "$REQ"`: no copying by hand."""
    from click.testing import CliRunner

    from cli import main

    hebei = ["--target", fed.peers["hebei"].node.address]
    submitted = CliRunner().invoke(main, ["requests", "submit", "--consumer", CONSUMER, "--resource", "440300002/000001",
                                          "--purpose", "核验", "--basis", "条例", "--item", "企业名称",
                                          "--wait", "30", "-q", *hebei])
    assert submitted.exit_code == 0, submitted.output
    printed = [line for line in submitted.stdout.splitlines() if not LOG_LINE.match(line)]
    assert len(printed) == 1 and printed[0].startswith("hebei-") and " " not in printed[0]
    request_id = printed[0]
    out = tmp_path / "names.csv"
    fetched = CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(out), *hebei])
    assert fetched.exit_code == 0, fetched.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == ROWS + 1

    guangdong = ["--target", fed.peers["guangdong"].node.address]
    path = tmp_path / "market.csv"
    data.write_csv(path, ITEMS, 3, province="440000")
    publish(fed.peers["guangdong"], entry(9, share_method="file"))
    mounted = CliRunner().invoke(main, ["data", "mount", "--resource", "440300002/000009", "--kind", "csv",
                                        "--location", str(path), "--quiet", *guangdong])
    assert mounted.exit_code == 0, mounted.output
    assert [line for line in mounted.stdout.splitlines() if not LOG_LINE.match(line)] == ["440300002/000009"]
