"""CSV the tools write: no cell a spreadsheet would run as a formula, and every value read back
as it was (node/csvcells.py, the data fetch's file)."""

from __future__ import annotations

import csv
import io

from hypothesis import given, strategies as st

from node.exchange.client import RowFile
from node.exchange.digest import RowsHash
from node.proto import exchange_pb2

FORMULA_START = "=+-@\t\r"
# Cells of an owner's data as a consumer might receive them: OWASP's examples, numbers, and
# values that already hold quotes.
RECEIVED = [
    ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0"],
    ["@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"],
    ["-12.5", "+3", "1e-3"],
    ["'=already quoted", "''-x", "'plain"],
    ["", "企业名称", "it's"],
]


def runs_in_a_spreadsheet(cell: str) -> bool:
    return bool(cell) and cell[0] in FORMULA_START


cells = st.text(st.sampled_from("=+-@\t\r'1.eE x名")) | st.text()


@given(cells)
def test_a_cell_reads_back_as_it_was_and_never_runs(cell):
    from node import csvcells

    written = csvcells.neutralise(cell)
    assert csvcells.restore(written) == cell
    if runs_in_a_spreadsheet(written):
        float(written)  # only a plain number may start with + or -


def test_what_a_spreadsheet_would_run_gets_a_quote_and_numbers_stay_numbers():
    from node import csvcells

    out = io.StringIO(newline="")
    csvcells.Writer(out, lineterminator="\r\n").writerows(RECEIVED)
    written = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert written[0] == ["'" + c for c in RECEIVED[0]]
    assert written[1] == ["'" + c for c in RECEIVED[1]]
    assert written[2] == RECEIVED[2]  # -12.5 is a number, not a formula
    assert written[3] == ["''=already quoted", "'''-x", "'plain"]
    assert [csvcells.restore_row(r) for r in written] == RECEIVED


def test_a_fetched_csv_runs_no_formula_and_resumes_with_the_same_hash(tmp_path):
    path = tmp_path / "rows.csv"
    target = RowFile(path)
    target.open(["名称", "-列"])
    chunk = exchange_pb2.DataChunk()
    for values in RECEIVED:
        chunk.rows.add(values=values[:2])
    target.write(chunk)
    target.close()
    with open(path, newline="", encoding="utf-8") as f:
        assert not [c for row in csv.reader(f) for c in row if runs_in_a_spreadsheet(c) and c not in ("-12.5", "+3")]
    received = RowsHash()
    received.add_chunk(chunk)
    again = RowFile(path)
    read = RowsHash()
    assert again.read_back(read) == len(RECEIVED)
    assert again.columns == ["名称", "-列"]
    assert read.hexdigest() == received.hexdigest()  # what a resumed fetch checks the result with
