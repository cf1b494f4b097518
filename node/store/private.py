"""A node's state created for its owner alone: the database file 0600 (SQLite gives its -wal and
-shm files the database's mode), the directories made for it 0700. A database holds the hashes
of department tokens, sharing requests and the audit trail: nothing for other accounts on the
machine to read. Files and directories that exist already are left as their owner set them."""

from __future__ import annotations

import os
import pathlib

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_dirs(path: str | os.PathLike) -> None:
    """Like `mkdir -p`, each directory it creates owner-only."""
    path = pathlib.Path(path)
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)  # exist_ok: another process may make it first


def create_file(path: str | os.PathLike) -> None:
    """Creates an empty owner-only file at PATH (and its directories), unless one is there: an
    empty file is an empty SQLite database, which SQLite then fills without changing its mode."""
    make_dirs(pathlib.Path(path).parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
