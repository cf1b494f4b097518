"""The hub's cross-source check: records checked per second through the hub (goal: 5,000/s),
each node its own process over mutual TLS. The MPS holds the authoritative population source,
Guangdong a copy with a few injected errors; the hub's job (node/hub/crosscheck.py) fetches the
copy's key and 姓名 through the hub and verifies them at the MPS in batches of 1,000, through the
hub. Beside it, the same comparison as a direct keyed SQLite lookup in one process, the baseline
a check without a federation would cost, and the ratio of the two.

    flock /work/wt/heavy.lock python bench/crosscheck_bench.py [--rows 100000] [--errors 100]

The figure is the job's own timing of the copy's check (crosscheck_runs.seconds at the hub):
the fetch of the window, the verify calls and the corrections filed.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import time

import yaml

from common import Timer, report, scratch

from harness import compose as compose_mod, data
from harness.runner import Federation
from node import wire
from node.model.rules import DataItem, Entry
from node.proto import catalog_pb2, catalog_pb2_grpc, exchange_pb2, exchange_pb2_grpc

AUTHORITY, COPY = "100000011", "440000003"
ITEMS = (("公民身份号码", "string"), ("姓名", "string"))


def compose(rows: int) -> dict:
    return {
        "name": "crosscheck-bench", "defaults": {"interval": 1, "notify": True},
        "hub": {"id": "national", "departments": [{"code": "100000001", "name": "国家数据局"}],
                "crosschecks": {"department": "100000001", "checks": [{
                    "name": "姓名-by-公民身份号码", "element": "姓名", "key": "公民身份号码",
                    "authority": f"{AUTHORITY}/000001", "copies": [f"{COPY}/000001"], "sample": rows, "every": 1}]}},
        "nodes": [
            {"id": "mps", "role": "ministry", "region_code": "100000", "departments": [{"code": AUTHORITY, "name": "公安部"}]},
            {"id": "guangdong", "role": "provincial", "region_code": "440000",
             "departments": [{"code": COPY, "name": "广东省人力资源和社会保障厅"}]},
        ],
    }


def publish(fed: Federation, node_id: str, department: str, path) -> None:
    entry = Entry(resource_code=f"{department}/000001", name="人口信息", summary="人口信息", provider_code=department,
                  provider_name="部门", region_code=department[:6], category="base",
                  data_items=tuple(DataItem(n, t, 0, key=n == "公民身份号码") for n, t in ITEMS),
                  share_type="unconditional",
                  share_method="database", open_type="not_open", update_cycle="daily")
    catalog_pb2_grpc.CatalogStub(fed.channel(node_id, department)).PublishEntry(
        catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)), timeout=60)
    exchange_pb2_grpc.ExchangeStub(fed.channel(node_id, department)).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=entry.resource_code, kind="sqlite", location=str(path), table="people", keys=["公民身份号码"],
        index="create"), timeout=120)


def baseline(authority, copy) -> float:
    """Records a second compared by a keyed lookup in the authority's SQLite file, in one process."""
    with sqlite3.connect(authority) as source, sqlite3.connect(copy) as held:
        records = held.execute('SELECT "公民身份号码", "姓名" FROM people').fetchall()
        with Timer() as t:
            wrong = 0
            for key, name in records:
                found = source.execute('SELECT "姓名" FROM people WHERE "公民身份号码" = ?', (key,)).fetchone()
                wrong += found is None or found[0] != name
    return len(records) / t.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="people in the copy (and the authority)")
    parser.add_argument("--errors", type=int, default=100, help="names changed in the copy")
    args = parser.parse_args()
    with scratch() as folder:
        path = folder / "crosscheck-bench.yaml"
        path.write_text(yaml.safe_dump(compose(args.rows), allow_unicode=True))
        fed = Federation.up(path, folder / "fed")
        try:
            places = {}
            for node_id, department in (("mps", AUTHORITY), ("guangdong", COPY)):
                place = compose_mod.department_sources(fed.state["nodes"][node_id]["database"], department)
                place.mkdir(parents=True, exist_ok=True)
                places[department] = place / "people.db"
            data.write_sqlite(places[AUTHORITY], "people", ITEMS, args.rows, seed="bench", province="440000")
            shutil.copy(places[AUTHORITY], places[COPY])
            with sqlite3.connect(places[COPY]) as db:
                db.execute('UPDATE people SET "姓名" = "姓名" || \'某\' WHERE rowid % ? = 0',
                           (max(1, args.rows // args.errors),))
            publish(fed, "mps", AUTHORITY, places[AUTHORITY])
            publish(fed, "guangdong", COPY, places[COPY])
            hub_db = fed.state["nodes"]["national"]["database"]
            deadline, run = time.monotonic() + 600, None
            while run is None and time.monotonic() < deadline:
                time.sleep(0.5)
                with sqlite3.connect(f"file:{hub_db}?mode=ro", uri=True) as db:
                    run = db.execute("SELECT checked, mismatches, filed, seconds FROM crosscheck_runs "
                                     "WHERE checked > 0 ORDER BY id LIMIT 1").fetchone()
            if run is None:
                raise SystemExit("no cross-check run checked a record within 600 s")
            direct = baseline(places[AUTHORITY], places[COPY])
        finally:
            fed.down(purge=True)
    checked, mismatches, filed, seconds = run
    rate = checked / seconds
    report("Cross-source check through the hub (hub, MPS, Guangdong: three processes, mutual TLS)", [
        ("copy", f"{args.rows:,} people, {args.errors} names changed"),
        ("checked", f"{checked:,} records in {seconds:.2f} s; {mismatches} mismatches, {filed} corrections filed"),
        ("through the hub", f"{rate:,.0f} records/s  (goal >= 5,000/s)"),
        ("direct SQLite keyed lookup", f"{direct:,.0f} records/s  (one process, no federation)"),
        ("ratio", f"{rate / direct:.2f} of the direct lookup"),
    ])


if __name__ == "__main__":
    main()
