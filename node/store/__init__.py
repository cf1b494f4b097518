"""The node's SQLite file: one writer at a time, the change log written in the same transaction
as the data, the epoch, migrations, and the tables of each concern (entries and search, the
hub's peers and outbox, requests). The store holds no domain rules.

May import: node.catalog.rules and node.catalog.search (row codecs), node.sharing.model,
node.errors, node.times. Never gRPC.
"""

from node.store.database import Change, Store, Transaction, backup, code_id, prepare, restore

__all__ = ["Change", "Store", "Transaction", "backup", "code_id", "prepare", "restore"]
