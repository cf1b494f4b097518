"""The scorecard of a big hub: its entry mix (live entries per origin, department and sharing type,
which the portal's dashboard and overview read every 30 s) as the store keeps it, beside the
GROUP BY over every entry that it replaces, on the same file in the same run; and the whole
scorecard as `Admin.Scorecard` computes it.

    python bench/big_hub.py --entries 1000000 --out /tmp/big-hub
    python bench/scorecard_bench.py --hub /tmp/big-hub [--rounds 3]

Opening the file as the node does migrates it first if it is older (timed and printed): the
same as starting the hub on it would do. The first reading of the GROUP BY is on whatever the
operating system has cached of the file; both readings are printed.
"""

from __future__ import annotations

import argparse
import pathlib
import sqlite3
from datetime import datetime, timezone

from common import Timer, report

from node.model.calendar import Calendar
from node.sharing.scorecard import scorecard
from node.store import Store

GROUP_BY = ("SELECT origin, provider_code, max(provider_name), share_type, count(*) FROM entries "
            "WHERE withdrawn = 0 GROUP BY origin, provider_code, share_type")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hub", required=True, help="a folder with hub.db (bench/big_hub.py --out)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path = pathlib.Path(args.hub) / "hub.db"
    with Timer() as opened:
        store = Store(path)
    try:
        kept = []
        for _ in range(args.rounds):
            with Timer() as t:
                mix = store.entry_mix()
            kept.append(t.seconds)
        with Timer() as whole:
            departments, nodes = scorecard(store, Calendar(), datetime.now(timezone.utc))
    finally:
        store.close()
    grouped = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        for _ in range(2):
            with Timer() as t:
                rows = db.execute(GROUP_BY).fetchall()
            grouped.append(t.seconds)
    same = sorted(r[:2] + r[3:] for r in mix) == sorted(r[:2] + r[3:] for r in rows)
    entries = sum(r[4] for r in rows)
    report(f"The scorecard at {entries:,} live entries ({path})", [
        ("opening (migrations, if any)", f"{opened.seconds:.1f} s"),
        ("entry mix as kept", f"{len(mix):,} rows in " + " / ".join(f"{s * 1000:.2f}" for s in kept) + " ms"),
        ("the GROUP BY it replaces", " / ".join(f"{s:.2f}" for s in grouped) + " s (first, then again)"),
        ("ratio, GROUP BY (again) / kept", f"{grouped[-1] / max(min(kept), 1e-9):,.0f}x; the same rows: {same}"),
        ("whole scorecard", f"{whole.seconds * 1000:.0f} ms ({len(departments):,} departments, {len(nodes):,} nodes)"),
    ])
    if not same:
        raise SystemExit("the kept mix differs from the GROUP BY")


if __name__ == "__main__":
    main()
