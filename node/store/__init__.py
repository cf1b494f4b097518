"""The node's SQLite file: one writer at a time, the change log written in the same transaction
as the data, the epoch, migrations, and the tables of each concern (entries and search, the
hub's peers and outbox, requests). The store holds no domain rules.

    database.py    opening, the one writer, reads, meta and epoch, the change log; Store, Transaction
    entries.py     entry rows, writes, listing and search under an EntryFilter, digests, snapshots
    search.py      the SQL of searches and filtered listings: which index answers which filter
    tiers.py       name tiers of small queries, kept in memory until the next commit
    kept.py        what is kept in memory until the next commit (requests, name tiers)
    peers.py       the hub's tables: peers, conflicts, outbox
    requests.py    sharing requests
    corrections.py correction notices, the owner's opened keys, the cross-checks' findings and runs
    exchanges.py   mounts and the record of exchanges
    backup.py      backup and restore
    private.py     the database file and the directories made for it, created owner-only
    migrations.py  the schema, one plain function per version
    compactor.py   the job that keeps the change log short
    warming.py     the job that reads the search tables into the system's cache after start

May import: node.model.rules, node.model.regions and node.model.search (row codecs, filters),
node.model.request, node.model.correction, node.model.exchange, node.errors, node.times. Never gRPC.
"""

from node.store.backup import backup, restore
from node.store.database import Store, Transaction
from node.store.rows import Staged, StoredEntry, code_id, prepare, restamp, stage

__all__ = ["Staged", "Store", "StoredEntry", "Transaction", "backup", "code_id", "prepare", "restamp",
           "restore", "stage"]
