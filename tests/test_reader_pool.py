"""A node's reads share a bounded set of reader connections (node/store/database.py MAX_READERS):
however many threads read, the node holds no more open connections to its file, and each read
still sees one committed state."""

from __future__ import annotations

import os
import threading

from conftest import make_entry
from node.catalog.publishing import Catalog
from node.store import Store
from node.store.database import MAX_READERS


def open_files(path) -> int:
    """Descriptors of this process open on the database file itself (each connection holds one)."""
    target = os.path.realpath(path)
    return sum(os.path.realpath(f"/proc/self/fd/{fd}") == target for fd in os.listdir("/proc/self/fd"))


def test_many_threads_reading_at_once_open_at_most_the_pools_connections(tmp_path):
    store = Store(tmp_path / "node.db", synchronous="normal")
    try:
        Catalog(store, "hebei", {"130100005"}).publish([make_entry(seq=i) for i in range(1, 6)])
        threads = 4 * MAX_READERS
        together = threading.Barrier(threads)
        found, peak, lock = [], [0], threading.Lock()

        def read():
            together.wait(timeout=30)
            with store.reading() as conn:
                with store.reading() as inner:  # nested: the same connection and snapshot
                    assert inner is conn
                count = store.count_entries()  # a read inside a read
                with lock:
                    peak[0] = max(peak[0], open_files(tmp_path / "node.db"))
            found.append(count)

        workers = [threading.Thread(target=read) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert found == [(5, 5)] * threads
        assert peak[0] <= MAX_READERS + 1  # the readers and the writer
    finally:
        store.close()
