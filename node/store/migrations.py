"""Schema migrations: plain functions applied in order at start, tracked by PRAGMA user_version."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


def m001_catalog(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db.execute("""
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY,          -- the 15 digits of resource_code
            resource_code TEXT NOT NULL,
            origin TEXT NOT NULL,
            version INTEGER NOT NULL,
            withdrawn INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            name TEXT NOT NULL, summary TEXT NOT NULL,
            provider_code TEXT NOT NULL, provider_name TEXT NOT NULL, region_code TEXT NOT NULL,
            category TEXT NOT NULL, share_type TEXT NOT NULL, share_condition TEXT NOT NULL,
            not_shared_basis TEXT NOT NULL, share_method TEXT NOT NULL, open_type TEXT NOT NULL,
            update_cycle TEXT NOT NULL, source_system TEXT NOT NULL,
            data_items TEXT NOT NULL, keywords TEXT NOT NULL,
            published_at TEXT, updated_at TEXT
        )""")
    db.execute("CREATE INDEX entries_origin ON entries(origin, id)")
    db.execute("CREATE INDEX entries_updated ON entries(updated_at)")
    # Change log: AUTOINCREMENT so that a seq is never reused, even after compaction.
    db.execute("""
        CREATE TABLE changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,
            op TEXT NOT NULL, at TEXT
        )""")
    db.execute("CREATE VIRTUAL TABLE entry_fts USING fts5(name, body, tokenize = 'unicode61')")


def m002_peers(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE peers (
            node_id TEXT PRIMARY KEY,
            epoch TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL DEFAULT 0,
            head_seq INTEGER NOT NULL DEFAULT 0,
            last_success TEXT, last_attempt TEXT, last_error TEXT NOT NULL DEFAULT '',
            failures INTEGER NOT NULL DEFAULT 0,
            resync_epoch TEXT NOT NULL DEFAULT '', resync_after TEXT,
            resync_seq INTEGER, resyncs INTEGER NOT NULL DEFAULT 0,
            entries_at_peer INTEGER NOT NULL DEFAULT -1
        )""")
    db.execute("""
        CREATE TABLE conflicts (
            peer TEXT NOT NULL, resource_code TEXT NOT NULL, held_by TEXT NOT NULL,
            reason TEXT NOT NULL, at TEXT NOT NULL,
            PRIMARY KEY (peer, resource_code)
        )""")


def m003_requests(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE requests (
            request_id TEXT PRIMARY KEY,
            consumer_code TEXT NOT NULL, consumer_node TEXT NOT NULL,
            owner_code TEXT NOT NULL, owner_node TEXT NOT NULL,
            resource_code TEXT NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deadline TEXT NOT NULL,
            body TEXT NOT NULL                -- the whole request, history included, as JSON
        )""")
    db.execute("CREATE INDEX requests_consumer ON requests(consumer_code, created_at)")
    db.execute("CREATE INDEX requests_owner ON requests(owner_code, created_at)")
    db.execute("CREATE INDEX requests_state ON requests(state, deadline)")
    # The hub's outbox: request versions still to deliver to a node, retried until acknowledged.
    db.execute("""
        CREATE TABLE outbox (
            request_id TEXT NOT NULL, target TEXT NOT NULL, version INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (request_id, target)
        )""")


def m004_peer_live_entries(db: sqlite_utils.Database) -> None:
    """The hub keeps each peer's count of live entries as it applies, instead of counting per status call."""
    db.execute("ALTER TABLE peers ADD COLUMN live_entries INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE peers SET live_entries = "
               "(SELECT count(*) FROM entries WHERE origin = peers.node_id AND withdrawn = 0)")


def m005_security(db: sqlite_utils.Database) -> None:
    """Department tokens (stored hashed) and the hash-chained audit trail."""
    from node.security import audit, tokens

    tokens.create_tables(db.conn)
    audit.create_tables(db.conn)


def m006_exchange(db: sqlite_utils.Database) -> None:
    """Sources mounted on entries (never in the change log: credentials and paths stay at the
    node) and the record of every exchange this node took part in."""
    db.execute("""
        CREATE TABLE mounts (
            resource_code TEXT PRIMARY KEY,
            kind TEXT NOT NULL, location TEXT NOT NULL, table_name TEXT NOT NULL,
            columns TEXT NOT NULL,            -- [[data item, source column], ...] where they differ
            credential TEXT NOT NULL,         -- the name of a credential in the node config, never the secret
            mounted_at TEXT NOT NULL, mounted_by TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE exchanges (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id TEXT NOT NULL, role TEXT NOT NULL,    -- consumer, hub or owner
            consumer_code TEXT NOT NULL, owner_code TEXT NOT NULL, resource_code TEXT NOT NULL,
            start_offset INTEGER NOT NULL, rows INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
            started TEXT NOT NULL, finished TEXT, outcome TEXT NOT NULL, detail TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX exchanges_request ON exchanges(request_id, id)")


# What the entry_counts triggers do with a row (NEW or OLD) that enters or leaves an origin's count.
_COUNT_IN = """
    INSERT INTO entry_counts (origin, total, live) VALUES (NEW.origin, 1, NEW.withdrawn = 0)
    ON CONFLICT (origin) DO UPDATE SET total = total + 1, live = live + excluded.live;"""
_COUNT_OUT = """
    UPDATE entry_counts SET total = total - 1, live = live - (OLD.withdrawn = 0) WHERE origin = OLD.origin;"""


def m007_entry_counts(db: sqlite_utils.Database) -> None:
    """Each origin's count of entries and of live ones, kept by triggers as rows are written, so
    that a status call, a metrics scrape or a pull's last batch reads a few rows instead of
    scanning every entry (a quarter of a second at 500,000 entries, seconds at millions).
    Entries are written with an upsert (node/store/rows.py), which fires the update trigger.
    The hub's own count per peer (m004) gives way to these."""
    db.execute("""
        CREATE TABLE entry_counts (
            origin TEXT PRIMARY KEY,
            total INTEGER NOT NULL,
            live INTEGER NOT NULL
        ) WITHOUT ROWID""")
    db.execute("INSERT INTO entry_counts SELECT origin, count(*), sum(withdrawn = 0) FROM entries GROUP BY origin")
    db.execute(f"CREATE TRIGGER entries_count_insert AFTER INSERT ON entries BEGIN {_COUNT_IN} END")
    db.execute(f"CREATE TRIGGER entries_count_delete AFTER DELETE ON entries BEGIN {_COUNT_OUT} END")
    db.execute(f"""
        CREATE TRIGGER entries_count_update AFTER UPDATE OF origin, withdrawn ON entries
        WHEN OLD.origin IS NOT NEW.origin OR OLD.withdrawn IS NOT NEW.withdrawn BEGIN {_COUNT_OUT} {_COUNT_IN} END""")
    db.execute("ALTER TABLE peers DROP COLUMN live_entries")


def m008_audit_denials(db: sqlite_utils.Database) -> None:
    """Refusals on the audit trail by method, so that Status counts refused request versions
    (node/sharing/workflow.py REFUSED_VERSION) without scanning a trail that grows with every
    write. Partial: refusals are a sliver of the trail."""
    db.execute("CREATE INDEX IF NOT EXISTS audit_denied ON audit(method) WHERE outcome = 'denied'")



def m009_calls(db: sqlite_utils.Database) -> None:
    """A mount's key items and personal items; and the counts of query and verify calls, one row
    per request, part, mode and hour (not one per call: a service window makes thousands an hour),
    pruned after the node's retention."""
    db.execute("ALTER TABLE mounts ADD COLUMN keys TEXT NOT NULL DEFAULT '[]'")  # [data item, ...]
    db.execute("ALTER TABLE mounts ADD COLUMN personal TEXT NOT NULL DEFAULT '[]'")  # [[item, rule], ...]
    db.execute("""
        CREATE TABLE calls (
            request_id TEXT NOT NULL, role TEXT NOT NULL, mode TEXT NOT NULL,
            hour TEXT NOT NULL,               -- YYYY-MM-DDTHH, UTC
            calls INTEGER NOT NULL, keys INTEGER NOT NULL, hits INTEGER NOT NULL, not_found INTEGER NOT NULL,
            mismatches INTEGER NOT NULL, refusals INTEGER NOT NULL, millis INTEGER NOT NULL,
            PRIMARY KEY (request_id, role, mode, hour)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX calls_hour ON calls(hour)")


def m010_grant_calls(db: sqlite_utils.Database) -> None:
    """The calls counted against a grant's daily quota at the owner's node, one row per call (only
    grants with a quota have any), by the client's call id, so that a retried call is counted once
    even across a restart; days before yesterday are dropped as the day turns."""
    db.execute("""
        CREATE TABLE grant_calls (
            request_id TEXT NOT NULL, call_id TEXT NOT NULL,
            day TEXT NOT NULL,                -- YYYY-MM-DD, Beijing
            calls INTEGER NOT NULL,           -- keys of a batch, else 1
            PRIMARY KEY (request_id, call_id)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX grant_calls_day ON grant_calls(request_id, day)")


def m011_elements(db: sqlite_utils.Database) -> None:
    """An entry's `derived_from` (the authoritative entry it copies) and `quality` (its last
    format check, as JSON, "" when never checked). The registry of data elements lives in meta."""
    columns = db["entries"].columns_dict  # a file rolled back to an older version may keep them
    for column in ("derived_from", "quality"):
        if column not in columns:
            db.execute(f"ALTER TABLE entries ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")



def m012_corrections(db: sqlite_utils.Database) -> None:
    """Correction notices (node/model/correction.py), shaped like requests; the record keys the
    owner's node opened, apart (no change log names them); and the kind of document an outbox row
    carries (a request version or a correction version), so that one courier delivers both."""
    db.execute("""
        CREATE TABLE corrections (
            correction_id TEXT PRIMARY KEY,
            filer_code TEXT NOT NULL, filer_node TEXT NOT NULL,
            owner_code TEXT NOT NULL, owner_node TEXT NOT NULL,
            resource_code TEXT NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deadline TEXT NOT NULL,
            body TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX corrections_filer ON corrections(filer_code, created_at)")
    db.execute("CREATE INDEX corrections_owner ON corrections(owner_code, created_at)")
    db.execute("CREATE INDEX corrections_state ON corrections(state, deadline)")
    db.execute("CREATE TABLE correction_keys (correction_id TEXT PRIMARY KEY, key TEXT NOT NULL)")
    db.execute("ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'request'")
    # The hub's cross-source checks keep verdicts only: a keyed digest of each discrepancy filed
    # (so a record found again is not filed twice; the digest's secret never leaves the hub), and
    # each run's counts.
    db.execute("""
        CREATE TABLE crosscheck_findings (
            digest TEXT PRIMARY KEY, correction_id TEXT NOT NULL, found_at TEXT NOT NULL
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE crosscheck_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            check_name TEXT NOT NULL, resource_code TEXT NOT NULL, at TEXT NOT NULL,
            checked INTEGER NOT NULL, mismatches INTEGER NOT NULL, not_found INTEGER NOT NULL,
            filed INTEGER NOT NULL, seconds REAL NOT NULL, detail TEXT NOT NULL
        )""")



def m013_search_filter_tokens(db: sqlite_utils.Database) -> None:
    """The search index gains a column of each entry's filter values as tokens (node/model/search.py
    `filter_tokens`), so that a search or a listing under category, share type, update cycle or
    open type walks the index alone and stops at the page's end; and an index of one-character
    prefixes, so that a one-character query ("人*") reads one list instead of merging the lists of
    every bigram it starts. An FTS5 table takes no new column: it is made again from the old one.
    And an index of the live entries' keys, for counts under a provider or a region."""
    from node.model.search import FILTER_TAGS

    _remake_search_index(db, tuple((name,) for name in FILTER_TAGS))
    # The keys of live entries alone: a count under a provider or region only reads these, not the
    # rows (an entry's row with its data items is kilobytes: counting 10,000 of them took 150 ms).
    db.execute("CREATE INDEX IF NOT EXISTS entries_live ON entries(id) WHERE withdrawn = 0")


def m014_search24_filter_combinations(db: sqlite_utils.Database) -> None:
    """The search index's filter column holds a token for each combination of an entry's filter
    values (node/model/search.py `COMBINATIONS`), so that a search under two or three of them reads
    one list as long as its answer instead of intersecting a list per value, each a third or an
    eighth of the catalog (15-20 ms at 1,000,000 entries, three times a search)."""
    from node.model.search import COMBINATIONS

    _remake_search_index(db, COMBINATIONS)


def _remake_search_index(db: sqlite_utils.Database, combinations: tuple[tuple[str, ...], ...]) -> None:
    """The search index made again from the old one and the entries table, its filter column
    holding these combinations (an FTS5 table takes no new column nor an update of one column
    alone; on a large hub this takes minutes and room for a second copy of the index)."""
    from node.model.search import filter_tokens_sql

    db.execute("CREATE VIRTUAL TABLE entry_fts_new USING fts5(name, body, tags, tokenize = 'unicode61', prefix = '1')")
    db.execute(f"INSERT INTO entry_fts_new(rowid, name, body, tags) SELECT f.rowid, f.name, f.body, "
               f"{filter_tokens_sql('e.', combinations)} FROM entry_fts f JOIN entries e ON e.id = f.rowid")
    db.execute("DROP TABLE entry_fts")
    db.execute("ALTER TABLE entry_fts_new RENAME TO entry_fts")


# What the entry_mix triggers do with a row (NEW or OLD) that enters or leaves its count.
_MIX_IN = """
    INSERT INTO entry_mix (origin, provider_code, share_type, total, live, provider_name)
    VALUES (NEW.origin, NEW.provider_code, NEW.share_type, 1, NEW.withdrawn = 0, NEW.provider_name)
    ON CONFLICT (origin, provider_code, share_type) DO UPDATE SET
        total = total + 1, live = live + excluded.live, provider_name = excluded.provider_name;"""
_MIX_OUT = """
    UPDATE entry_mix SET total = total - 1, live = live - (OLD.withdrawn = 0)
    WHERE origin = OLD.origin AND provider_code = OLD.provider_code AND share_type = OLD.share_type;"""


def m015_entry_mix(db: sqlite_utils.Database) -> None:
    """The counts of m007 kept finer: per origin, department and sharing type (with the
    department's latest name), so that the scorecard reads a few hundred rows instead of
    grouping every entry, which took seconds at 1,000,000 entries and up to a minute at
    3,000,000 with a cold cache, every time the portal refreshed its card. Still one count
    written per entry written; `entry_counts` becomes a view summing it per origin. Made again
    from the entries whatever the file holds (a file whose version was set back keeps them)."""
    for trigger in ("insert", "delete", "update"):
        db.execute(f"DROP TRIGGER IF EXISTS entries_count_{trigger}")
        db.execute(f"DROP TRIGGER IF EXISTS entries_mix_{trigger}")
    kind = db.execute("SELECT type FROM sqlite_master WHERE name = 'entry_counts'").fetchone()
    if kind:
        db.execute(f"DROP {'VIEW' if kind[0] == 'view' else 'TABLE'} entry_counts")
    db.execute("DROP TABLE IF EXISTS entry_mix")
    db.execute("""
        CREATE TABLE entry_mix (
            origin TEXT NOT NULL,
            provider_code TEXT NOT NULL,
            share_type TEXT NOT NULL,
            total INTEGER NOT NULL,
            live INTEGER NOT NULL,
            provider_name TEXT NOT NULL,
            PRIMARY KEY (origin, provider_code, share_type)
        ) WITHOUT ROWID""")
    db.execute("INSERT INTO entry_mix SELECT origin, provider_code, share_type, count(*), sum(withdrawn = 0), "
               "max(provider_name) FROM entries GROUP BY origin, provider_code, share_type")
    db.execute("CREATE VIEW entry_counts AS SELECT origin, sum(total) AS total, sum(live) AS live FROM entry_mix "
               "GROUP BY origin")
    db.execute(f"CREATE TRIGGER entries_mix_insert AFTER INSERT ON entries BEGIN {_MIX_IN} END")
    db.execute(f"CREATE TRIGGER entries_mix_delete AFTER DELETE ON entries BEGIN {_MIX_OUT} END")
    db.execute(f"""
        CREATE TRIGGER entries_mix_update AFTER UPDATE OF origin, withdrawn, provider_code, share_type, provider_name
        ON entries WHEN OLD.origin IS NOT NEW.origin OR OLD.withdrawn IS NOT NEW.withdrawn
            OR OLD.provider_code IS NOT NEW.provider_code OR OLD.share_type IS NOT NEW.share_type
            OR OLD.provider_name IS NOT NEW.provider_name
        BEGIN {_MIX_OUT} {_MIX_IN} END""")


MIGRATIONS = [m001_catalog, m002_peers, m003_requests, m004_peer_live_entries, m005_security, m006_exchange,
              m007_entry_counts, m008_audit_denials, m009_calls, m010_grant_calls, m011_elements, m012_corrections,
              m013_search_filter_tokens, m014_search24_filter_combinations, m015_entry_mix]


def migrate(conn: sqlite3.Connection) -> int:
    """Applies every migration the file has not seen yet, each in its own transaction.
    sqlite_utils (and numpy, which it loads when it is installed) is imported only when one is
    due: a node that starts on a current file does not pay a sixth of a second for it."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current >= len(MIGRATIONS):
        return len(MIGRATIONS)
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    for number, step in enumerate(MIGRATIONS, start=1):
        if number <= current:
            continue
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            step(db)
            db.conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")
    return len(MIGRATIONS)
