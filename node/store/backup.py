"""Backing up a live node's database and restoring a stopped node's from a backup (with a new
epoch, so that peers' cursors into the old history become stale)."""

from __future__ import annotations

import pathlib
import sqlite3

from node.store.database import Store
from node.store.private import create_file


def backup(source: str, dest: str) -> None:
    """A consistent copy of a live database (SQLite's online backup), owner-only when new."""
    create_file(dest)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def restore(backup_path: str, database: str) -> str:
    """Replaces a stopped node's database by a backup and gives it a new epoch; returns it."""
    for suffix in ("-wal", "-shm"):
        pathlib.Path(database + suffix).unlink(missing_ok=True)
    backup(backup_path, database)
    store = Store(database)
    try:
        return store.new_epoch()
    finally:
        store.close()
