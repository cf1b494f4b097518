"""The data exchange's speed and memory: rows per second delivered to the consumer through the
hub (consumer's node -> hub -> owner's node, each its own process, mutual TLS and a token, the
client writing CSV), against reading the same rows straight from the owner's SQLite file and
writing the same CSV, in the same run, as a ratio (goal: at least 33%); and the memory (RSS) of
each node while it streams a table of a million rows (goal: flat, not growing with the table).

    python bench/exchange_bench.py [--rows 1000000] [--rounds 2]

Each way runs `rounds` times, alternating; the best of each is compared.
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import threading
import time

import yaml

from common import Timer, enterprise_entry, report, scratch

from harness.processes import resident_kib
from harness.runner import Federation
from node.exchange.client import fetch_to_file
from node.proto import sharing_pb2

OWNER, CONSUMER = "440000005", "130000001"
ITEMS = (("统一社会信用代码", "string"), ("企业名称", "string"), ("法定代表人", "string"), ("成立日期", "date"),
         ("注册资本", "decimal"), ("住所", "string"))
WANTED = ["统一社会信用代码", "企业名称", "法定代表人", "成立日期", "注册资本"]
COMPOSE = {
    "name": "exchange-bench", "defaults": {"interval": 1, "notify": True},
    "hub": {"id": "national", "departments": [{"code": "100000001", "name": "国家数据局"}]},
    "nodes": [
        {"id": "hebei", "role": "provincial", "region_code": "130000",
         "departments": [{"code": CONSUMER, "name": "河北省公安厅"}]},
        {"id": "guangdong", "role": "provincial", "region_code": "440000",
         "departments": [{"code": OWNER, "name": "广东省市场监督管理局"}]},
    ],
}


class MemoryWatch:
    """Samples the RSS of each node process while a fetch runs, keyed by the rows received so far."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.rows = 0
        self.samples: list[tuple[int, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.before = {name: resident_kib(pid) for name, pid in self.pids.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self.samples.append((self.rows, {name: resident_kib(pid) for name, pid in self.pids.items()}))

    def at_quarters(self, total: int) -> dict[str, list[int]]:
        """Each node's RSS (KiB) when a quarter, a half, three quarters and all of the rows had arrived."""
        out = {name: [] for name in self.pids}
        for quarter in (1, 2, 3, 4):
            seen = [s for rows, s in self.samples if rows >= total * quarter // 4 * 0.98] or [self.samples[-1][1]]
            for name in self.pids:
                out[name].append(seen[0][name])
        return out


def direct(source: str, table: str, out) -> float:
    """The baseline: the granted columns read straight from the owner's file, written as CSV."""
    with Timer() as t:
        db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        with open(out, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(WANTED)
            cursor = db.execute(f"SELECT {', '.join(WANTED)} FROM {table} ORDER BY rowid")
            while rows := cursor.fetchmany(1000):
                writer.writerows(rows)
        db.close()
    return t.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the mounted table")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with scratch() as folder:
        compose = folder / "exchange-bench.yaml"
        compose.write_text(yaml.safe_dump(COMPOSE, allow_unicode=True))
        fed = Federation.up(compose, folder / "fed")
        try:
            entry = enterprise_entry(OWNER, ITEMS)
            fed.publish("guangdong", [entry])
            with Timer() as made:
                source = fed.mount_data("guangdong", entry, args.rows, seed="bench")
            table = "t440000005_000001"
            consumer = fed.sharing("hebei", CONSUMER)
            filed = consumer.SubmitRequest(sharing_pb2.SubmitRequestRequest(
                consumer_code=CONSUMER, resource_code=entry.resource_code, purpose="市场主体监管",
                basis="《市场主体登记管理条例》", data_items=WANTED), timeout=30)
            deadline = time.monotonic() + 60
            while consumer.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id),
                                      timeout=10).state != "granted":
                if time.monotonic() > deadline:
                    raise SystemExit("the request was not granted within 60 s")
                time.sleep(0.2)
            channel = fed.channel("hebei", CONSUMER)
            pids = {name: fed.node(name)["pid"] for name in ("guangdong", "national", "hebei")}
            direct_rates, hub_rates, watches = [], [], []
            for run in range(args.rounds):
                direct_rates.append(args.rows / direct(source, table, folder / f"direct-{run}.csv"))
                out = folder / f"fetched-{run}.csv"
                with MemoryWatch(pids) as watch:
                    def progress(rows, expected, watch=watch):
                        watch.rows = rows
                    with Timer() as t:
                        result = fetch_to_file(channel, filed.request_id, CONSUMER, out, progress=progress)
                assert result.rows == args.rows and result.verified
                assert out.read_bytes() == (folder / f"direct-{run}.csv").read_bytes(), "the CSVs differ"
                hub_rates.append(args.rows / t.seconds)
                watches.append(watch)
                out.unlink()
        finally:
            fed.down(purge=True)
    best_direct, best_hub = max(direct_rates), max(hub_rates)
    rows = [
        ("table", f"{args.rows:,} rows x {len(WANTED)} granted columns of {len(ITEMS)} (made and mounted in "
                  f"{made.seconds:.0f}s); same CSV bytes both ways"),
        ("direct: SQLite file -> CSV", f"{best_direct:,.0f} rows/s  (runs: {', '.join(f'{r:,.0f}' for r in direct_rates)})"),
        ("through the hub -> CSV", f"{best_hub:,.0f} rows/s  (runs: {', '.join(f'{r:,.0f}' for r in hub_rates)})"),
        ("through the hub / direct", f"{best_hub / best_direct:.0%}  (goal >= 33%)"),
    ]
    watch = watches[-1]
    quarters = watch.at_quarters(args.rows)
    for name in pids:
        peak = max(s[name] for _, s in watch.samples) if watch.samples else 0
        rows.append((f"RSS {name} (MiB)", f"before {watch.before[name] / 1024:.0f}; at 25/50/75/100% of the rows "
                     f"{' / '.join(f'{v / 1024:.0f}' for v in quarters[name])}; peak {peak / 1024:.0f}"))
    report(f"the exchange: {args.rows:,} rows fetched by Hebei's 公安厅 from Guangdong's 市场监管局 through the hub "
           f"(mutual TLS); best of {args.rounds} runs each", rows)


if __name__ == "__main__":
    main()
