"""The format check of a mounted source (`cascade data check`): rows per second and peak memory of
the check over an SQLite table of people (公民身份号码, 姓名, 出生日期, 民族, 联系电话, each with its
element's rule from the bundled registry), beside a plain SQLite scan of the same rows read the
same way (the baseline), in the same run. Goal: 1,000,000 rows in under 10 s, memory flat (the
peak the same at a tenth of the rows).

    python bench/quality_bench.py [--rows 1000000]

Each measurement runs in a process of its own, so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import subprocess
import sys
import time

from common import ROOT, report, scratch

from node.model import formats

COLUMNS = ("公民身份号码", "姓名", "出生日期", "民族", "联系电话")
SURNAMES, NATIONS = "王李张刘陈杨赵黄周吴", ("汉族", "回族", "满族", "壮族", "蒙古族")


def make_table(path, rows: int) -> tuple[int, int]:
    """The people table; returns (bad ID numbers, empty birth dates) it holds."""
    rng = random.Random(21)
    bad = empty = 0
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE people ({', '.join(c + ' TEXT' for c in COLUMNS)})")
        batch = []
        for n in range(rows):
            born = f"{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            first = f"1301{rng.randint(1, 9):02d}{born}{rng.randint(0, 999):03d}"
            number = first + formats.id_check_character(first)
            if n % 100 == 7:  # one in a hundred with a wrong check character
                number = first + ("0" if number[-1] != "0" else "1")
                bad += 1
            birth = f"{born[:4]}-{born[4:6]}-{born[6:]}"
            if n % 50 == 3:
                birth = None
                empty += 1
            batch.append((number, rng.choice(SURNAMES) + "某", birth, rng.choice(NATIONS),
                          f"13{rng.randint(0, 999_999_999):09d}"))
            if len(batch) == 50_000:
                db.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)", batch)
                batch.clear()
        db.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)", batch)
    return bad, empty


def measure(phase: str, path: str) -> dict:
    """One measurement in this process: the baseline scan or the check."""
    from datetime import datetime, timezone

    from node.catalog.elements import bundled_default
    from node.exchange import quality
    from node.exchange.sources import SqliteSource
    from node.model.exchange import Mount

    registry = bundled_default()
    items = [(c, registry.named(c).name, registry.named(c).rule) for c in COLUMNS]
    mount = Mount(resource_code="130000001/000001", kind="sqlite", location=path, table="people")
    source = SqliteSource(path, "people")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if phase == "baseline":
        rows = sum(len(batch) for batch in source.batches(list(COLUMNS), size=quality.BATCH))
        found = {}
    else:
        checked = quality.check_source(source, mount, items, datetime.now(timezone.utc))
        rows = checked.rows
        found = {i.item: [i.failed, i.empty] for i in checked.items}
    seconds = time.perf_counter() - start
    source.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "seconds": seconds, "rss_before_mib": before / 1024, "peak_rss_mib": peak / 1024,
            "found": found}


def run(phase: str, path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, "--path", str(path)], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=("baseline", "check"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(measure(args.phase, args.path)))
        return
    with scratch() as folder:
        small, large = folder / "small.db", folder / "large.db"
        start = time.perf_counter()
        bad, empty = make_table(large, args.rows)
        make_table(small, args.rows // 10)
        made = time.perf_counter() - start
        baseline, check, tenth = run("baseline", large), run("check", large), run("check", small)
    assert check["found"]["公民身份号码"] == [bad, 0] and check["found"]["出生日期"] == [0, empty], check["found"]
    rate = check["rows"] / check["seconds"]
    base_rate = baseline["rows"] / baseline["seconds"]
    report(f"format check of {args.rows:,} rows x {len(COLUMNS)} items (tables made in {made:.1f} s)", [
        ("check", f"{check['seconds']:.2f} s, {rate:,.0f} rows/s (goal: {args.rows:,} rows < 10 s)"),
        ("baseline: plain SQLite scan", f"{baseline['seconds']:.2f} s, {base_rate:,.0f} rows/s"),
        ("check / baseline time", f"{check['seconds'] / baseline['seconds']:.2f}x"),
        ("peak RSS: check", f"{check['peak_rss_mib']:.0f} MiB (after imports {check['rss_before_mib']:.0f} MiB)"),
        ("peak RSS: baseline", f"{baseline['peak_rss_mib']:.0f} MiB"),
        (f"peak RSS: check of {args.rows // 10:,} rows", f"{tenth['peak_rss_mib']:.0f} MiB (flat: the same as above)"),
        ("found", f"{bad:,} bad ID numbers, {empty:,} empty birth dates: exactly those put in"),
    ])


if __name__ == "__main__":
    main()
