"""Shared pieces of the benchmarks: timing, percentiles, a temporary folder, printing."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def enterprise_entry(owner: str, items) -> "Entry":
    """The enterprise register of a Guangdong department, unconditionally shared by database, with
    the given (name, type) items, looked up by its credit code: the entry the exchange and call
    benchmarks mount a table on."""
    from node.model.rules import DataItem, Entry

    return Entry(resource_code=f"{owner}/000001", name="广东省企业法人登记信息", summary="全省企业法人登记信息",
                 provider_code=owner, provider_name="广东省市场监督管理局", region_code="440000", category="base",
                 data_items=tuple(DataItem(n, t, 0, key=n == "统一社会信用代码") for n, t in items),
                 share_type="unconditional",
                 share_method="database", open_type="not_open", update_cycle="daily")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


READERS_HELP = ("the hub's store.readers (with --hub): 0 to answer every search in its own process (node/api/"
                "readers.py); by default the node's own choice")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and of the processes it started that still run."""
    from harness.processes import children

    total = cpu_seconds(pid)
    for child in children(pid):
        try:
            total += cpu_seconds(child)
        except OSError:
            pass
    return total


def wait_warm(admin, cold: bool) -> str:
    """Waits until the hub's cache warmer has read its file (`cascade status`'s cache line says
    warm), unless `cold`; the line to print either way. An operator's hub serves at once after a
    restart, but its searches may wait on the disk until then: measured apart with --cold."""
    from node.proto import admin_pb2

    started = time.monotonic()
    while True:
        cache = admin.Status(admin_pb2.StatusRequest(), timeout=30).cache
        if cold or cache.state != "warming":
            break
        time.sleep(1.0)
    read = f"{cache.tables_done}/{cache.tables} tables, {cache.mib_read:,} MiB in {cache.seconds:.0f}s"
    if cold:
        return f"measured from a cold start: the cache warmer is {cache.state or 'off'} ({read})"
    return f"waited {time.monotonic() - started:.0f}s for the cache warmer: {cache.state or 'off'} ({read})"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


@contextlib.contextmanager
def scratch():
    folder = pathlib.Path(tempfile.mkdtemp(prefix="cascade-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


def full_federation_compose(folder, name: str, *, interval: float, notify: bool, provinces_only: bool = False,
                            sync: dict | None = None, entries_per_department: int | None = None,
                            secure: bool = True, peers: int | None = None) -> str:
    """configs/federation-full.yaml with the benchmark's interval, Notify, sync and security
    settings (and only the first `peers` nodes, when given)."""
    import yaml

    full = yaml.safe_load((ROOT / "configs" / "federation-full.yaml").read_text(encoding="utf-8"))
    full["name"] = name
    full["secure"] = secure
    if provinces_only:
        full["nodes"] = [n for n in full["nodes"] if n["role"] == "provincial"]
    if peers is not None:
        full["nodes"] = full["nodes"][:peers]
    for node in full["nodes"]:
        node["interval"] = interval
    full["defaults"] = {**full.get("defaults", {}), "interval": interval, "notify": notify}
    if sync:
        full["defaults"]["sync"] = {**full["defaults"].get("sync", {}), **sync}
    if entries_per_department is not None:
        full["seed"] = {"entries_per_department": entries_per_department}
    path = folder / f"{name}-{'notify' if notify else 'poll'}-{'tls' if secure else 'plain'}.yaml"
    path.write_text(yaml.safe_dump(full, allow_unicode=True))
    return str(path)


def raw_insert_rate(path, entries, chunk: int, *, log_changes: bool) -> float:
    """The baseline: the same rows, built before the clock starts, inserted with executemany into
    the node's schema (same indexes, same search index, synchronous=full), one transaction per
    chunk. With log_changes each entry also gets its change-log row (a node's write path);
    without, each chunk writes a peer cursor row instead (the hub's apply path)."""
    from node import store as store_mod
    from node.store.rows import INSERT_FTS, UPSERT_ENTRY

    st = store_mod.Store(path, synchronous="full")
    prepared = [store_mod.prepare(e) for e in entries]
    changes = [("entry", e.resource_code, e.version, "upsert", None) for e in entries]
    conn = st.conn
    with Timer() as t:
        for start in range(0, len(prepared), chunk):
            rows = prepared[start:start + chunk]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(UPSERT_ENTRY, [r[1] for r in rows])
            conn.executemany(INSERT_FTS, [r[2] for r in rows])
            if log_changes:
                conn.executemany("INSERT INTO changes(kind, key, version, op, at) VALUES (?, ?, ?, ?, ?)",
                                 changes[start:start + chunk])
            else:
                conn.execute("INSERT OR REPLACE INTO peers(node_id, seq) VALUES ('bench', ?)", (start + len(rows),))
            conn.execute("COMMIT")
    st.close()
    return len(entries) / t.seconds
