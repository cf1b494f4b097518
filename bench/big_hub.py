"""A national hub of any size, quickly: the entries of 32 provinces (nine departments each, the
seed's generator: names, share types, categories, update cycles and open types as a seeded
federation has them) written straight into a hub's SQLite file, as the hub would hold them after
pulling its peers, then the hub started alone on that file (its peers do not answer).

    python bench/big_hub.py --entries 1000000 --out /tmp/big-hub    # build once; the benches take --hub DIR
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

import yaml
from common import ROOT

from harness.seed import entries_for
from node.model.regions import PINYIN

AT = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
DEPARTMENTS = 9
CHUNK = 20_000


def provinces() -> list[tuple[str, str]]:
    return [(code, pinyin) for code, pinyin in PINYIN.items() if code != "100000"]


def build(folder: pathlib.Path, entries: int) -> None:
    """The hub's file in `folder` with `entries` entries (skipped when it holds them already)."""
    from node.store import Store

    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "built.json"
    if done.exists() and json.loads(done.read_text())["entries"] == entries:
        return
    store = Store(folder / "hub.db", synchronous="off")
    started = time.perf_counter()
    places = provinces()
    per = -(-entries // (len(places) * DEPARTMENTS))
    written = 0
    try:
        batch = []
        for code, pinyin in places:
            for d in range(1, DEPARTMENTS + 1):
                provider = f"{code}{d:03d}"
                n = min(per, entries - written - len(batch))
                if n <= 0:
                    break
                for entry in entries_for(provider, f"{pinyin}部门{d}", n, seed="big-hub"):
                    batch.append(dataclasses.replace(entry, origin=pinyin, version=1, published_at=AT, updated_at=AT))
                    if len(batch) >= CHUNK:
                        with store.transaction() as tx:
                            tx.put_entries(batch, log=False)
                        written += len(batch)
                        batch = []
                        print(f"  {written:,} entries, {written / (time.perf_counter() - started):,.0f}/s", flush=True)
        if batch:
            with store.transaction() as tx:
                tx.put_entries(batch, log=False)
            written += len(batch)
    finally:
        store.close()
    done.write_text(json.dumps({"entries": written, "seconds": round(time.perf_counter() - started)}))


def start(folder: pathlib.Path, readers: str | None = None) -> tuple[subprocess.Popen, str]:
    """The hub on the file `build` made, alone; its address once it answers. `readers`: its
    `store.readers` (node/api/readers.py), when not the node's own choice."""
    import grpc

    from node.security.client import open_channel

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "node": {"id": "national", "role": "national", "region_code": "100000"},
        "listen": f"127.0.0.1:{port}", "insecure": True, "database": str(folder / "hub.db"),
        "departments": [{"code": "100000001", "name": "国家部门01"}],
        "peers": [{"id": pinyin, "role": "provincial", "address": "127.0.0.1:9", "region_code": code,
                   "interval": 3600} for code, pinyin in provinces()],
        "store": {"synchronous": "normal", **({"readers": int(readers)} if readers not in (None, "auto") else {})},
        "log": {"level": "warning", "format": "json"},
        "limits": {"max_message_bytes": 64 * 1024 * 1024},
    }
    path = folder / "hub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    proc = subprocess.Popen([sys.executable, "-m", "cli", "node", "run", "--config", str(path)], cwd=ROOT,
                            stderr=open(folder / "hub.log", "ab"))
    address = f"127.0.0.1:{port}"
    channel = open_channel(address)
    grpc.channel_ready_future(channel).result(timeout=300)
    channel.close()
    return proc, address


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, required=True)
    parser.add_argument("--out", required=True, help="the folder for the hub's file (kept for the benches)")
    args = parser.parse_args()
    build(pathlib.Path(args.out), args.entries)


if __name__ == "__main__":
    main()
