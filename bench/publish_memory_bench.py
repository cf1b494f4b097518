"""Memory of a node taking one large bulk publish: a stream of large entries (one per message)
whose last entry is refused, so that nothing is stored. Prints the node process's resident
memory before the call, its peak during the call (VmHWM) and what it still holds after.

    python bench/publish_memory_bench.py [--entries 3000] [--item-chars 240] [--max-publish-bytes N]

--max-publish-bytes sets limits.max_publish_bytes (0: leave the node's default); set it above
the stream's size to see the memory of a call that is taken whole and refused at its end.
Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import subprocess
import time

from common import Timer, report, scratch

import grpc

from node import wire
from node.model.rules import DataItem, Entry
from node.proto import catalog_pb2, catalog_pb2_grpc
from node_bench import DEPARTMENTS, start_node

MiB = 1024 * 1024


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of the process, in bytes."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
    return found


def large_entry(seq: int, item_chars: int, provider: str = DEPARTMENTS[0]) -> catalog_pb2.PublishEntriesRequest:
    """An entry of about 500 * 3 * (item_chars + 40) bytes: 500 data items with long descriptions."""
    items = tuple(DataItem(f"数据项{seq}之{i}", "string", 100, description="说明" * (item_chars // 2))
                  for i in range(500))
    entry = Entry(resource_code=f"{provider}/{seq:06d}", name=f"企业法人登记信息{seq}", provider_code=provider,
                  provider_name="市场监督管理局", region_code=provider[:6], category="base", data_items=items,
                  share_type="unconditional", share_method="api", open_type="conditional_open", update_cycle="daily")
    return catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(entry))


def stream(entries: int, item_chars: int):
    for seq in range(1, entries):
        yield large_entry(seq, item_chars)
    yield large_entry(entries, item_chars, provider="440000001")  # not the node's: the whole call is refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=3000)
    parser.add_argument("--item-chars", type=int, default=236)
    parser.add_argument("--max-publish-bytes", type=int, default=0)
    args = parser.parse_args()
    size = large_entry(1, args.item_chars).ByteSize()
    limits = {"max_message_bytes": 64 * MiB}
    if args.max_publish_bytes:
        limits["max_publish_bytes"] = args.max_publish_bytes
    with scratch() as folder:
        proc, channel = start_node(folder, extra={"limits": limits})
        try:
            stub = catalog_pb2_grpc.CatalogStub(channel)
            before = memory(proc.pid)
            with Timer() as t:
                try:
                    stub.PublishEntries(stream(args.entries, args.item_chars), timeout=3600)
                    outcome = "OK (not refused!)"
                except grpc.RpcError as exc:
                    outcome = f"{exc.code().name}: {exc.details()[:100]}"
            time.sleep(1.0)  # let the call's thread finish giving back what it held
            after = memory(proc.pid)
            count = stub.ListEntries(catalog_pb2.ListEntriesRequest(with_total=True)).total
        finally:
            channel.close()
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    report(f"one PublishEntries of {args.entries} entries of {size / 1024:,.0f} KB "
           f"({args.entries * size / MiB:,.0f} MiB), the last refused", [
        ("outcome", outcome),
        ("entries stored", f"{count}"),
        ("seconds", f"{t.seconds:,.1f}"),
        ("RSS before", f"{before['VmRSS'] / MiB:,.0f} MiB"),
        ("peak RSS during (VmHWM)", f"{after['VmHWM'] / MiB:,.0f} MiB (+{(after['VmHWM'] - before['VmRSS']) / MiB:,.0f})"),
        ("RSS after", f"{after['VmRSS'] / MiB:,.0f} MiB (+{(after['VmRSS'] - before['VmRSS']) / MiB:,.0f})"),
    ])


if __name__ == "__main__":
    main()
