"""The store on its own: transactions and the change log, compaction, filters and search over the
integer key, the hub's tables, requests, backup and restore."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import make_entry
from node.model import search
from node.model.rules import EntryFilter, Matches
from node.errors import Unavailable
from node.model.request import Request
from node.model.sync import Cursor
from node.store import Store, backup, entries as entries_mod, restore

AT = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def stored(provider_code: str = "130100005", seq: int = 1, **overrides):
    """An entry as a node stores it: with origin, version and times set."""
    fields = dict(origin="hebei", version=1, published_at=AT, updated_at=AT)
    fields.update(overrides)
    return make_entry(provider_code, seq, **fields)


def put(store: Store, *entries) -> list[int]:
    with store.transaction() as tx:
        return tx.put_entries(entries, log=True)


def codes(entries) -> list[str]:
    return [e.resource_code for e in entries]


def test_an_entry_reads_back_as_written(store):
    entry = stored()
    put(store, entry)
    assert store.get_entry(entry.resource_code) == entry
    assert store.get_entry("130100005/000999") is None


def test_each_logged_write_appends_one_change_with_the_next_seq(store):
    assert put(store, stored(seq=1), stored(seq=2)) == [1, 2]
    assert put(store, stored(seq=1, version=2, withdrawn=True)) == [3]
    assert [(c.seq, c.key, c.version, c.op) for c in store.changes_after(0, 10)] == [
        (1, "130100005/000001", 1, "upsert"), (2, "130100005/000002", 1, "upsert"),
        (3, "130100005/000001", 2, "withdraw"),
    ]
    assert store.head_seq() == 3
    assert store.count_entries() == (2, 1)


def test_a_transaction_that_raises_leaves_no_entry_and_no_change(store):
    def entries_then_failure():
        yield from (stored(seq=n) for n in range(1, 600))  # more than one pipelined chunk
        raise ValueError("entry 600 is invalid")

    with pytest.raises(ValueError):
        with store.transaction() as tx:
            tx.put_entries(entries_then_failure(), log=True)
    assert store.count_entries() == (0, 0)
    assert store.head_seq() == 0 and store.changes_after(0, 10) == []
    assert store.search(search.query_phrase("企业"), EntryFilter(), 0, 10) == Matches([], 0)


def test_compaction_keeps_the_newest_changes_and_raises_the_floor(store):
    put(store, *(stored(seq=n) for n in range(1, 11)))
    assert store.log_floor() == 0
    assert store.compact(keep=3) == 7
    assert store.log_floor() == 7
    assert [c.seq for c in store.changes_after(0, 100)] == [8, 9, 10]
    assert store.head_seq() == 10  # seqs are never reused
    assert store.compact(keep=100) == 7  # the floor never goes down


def test_a_region_filter_covers_its_sub_regions(store):
    put(store, stored("130100005", 1), stored("130102001", 1), stored("130200003", 1), stored("440300002", 1))
    province = store.list_entries(EntryFilter(region_code="130000"), -1, 100)
    assert codes(province) == ["130100005/000001", "130102001/000001", "130200003/000001"]
    prefecture = store.list_entries(EntryFilter(region_code="130100"), -1, 100)
    assert codes(prefecture) == ["130100005/000001", "130102001/000001"]
    county = store.list_entries(EntryFilter(region_code="130102"), -1, 100)
    assert codes(county) == ["130102001/000001"]


def test_a_provider_filter_keeps_that_providers_entries_only(store):
    put(store, stored("130100005", 1), stored("130100005", 2), stored("130100006", 1))
    assert codes(store.list_entries(EntryFilter(provider_code="130100005"), -1, 100)) == [
        "130100005/000001", "130100005/000002"]


def test_listing_pages_by_id_and_skips_withdrawn_entries_and_other_values(store):
    put(store, *(stored(seq=n) for n in range(1, 6)), stored(seq=6, withdrawn=True),
        stored(seq=7, share_type="conditional"), stored(seq=8, origin="beijing"))
    unconditional = EntryFilter(share_type="unconditional", origin="hebei")
    first = store.list_entries(unconditional, -1, 3)
    assert codes(first) == ["130100005/000001", "130100005/000002", "130100005/000003"]
    rest = store.list_entries(unconditional, 130100005000003, 10)
    assert codes(rest) == ["130100005/000004", "130100005/000005"]
    assert codes(store.list_entries(EntryFilter(updated_since=datetime(2027, 1, 1, tzinfo=timezone.utc)), -1, 10)) == []


def test_search_puts_name_matches_first_and_applies_the_filter(store):
    put(store,
        stored(seq=1, name="道路运输许可", keywords=("户籍",)),  # matches outside its name only
        stored(seq=2, name="户籍人口信息"),
        stored("440300002", 1, name="户籍迁移记录"),
        stored(seq=3, name="户籍登记", withdrawn=True))
    match = search.query_phrase("户籍")
    found = store.search(match, EntryFilter(), 0, 10)
    assert (found.total, found.total_is_lower_bound) == (3, False)
    assert set(codes(found.entries[:2])) == {"130100005/000002", "440300002/000001"}  # ranked among themselves
    assert codes(found.entries[2:]) == ["130100005/000001"]
    in_hebei = store.search(match, EntryFilter(region_code="130000"), 0, 10)
    assert (codes(in_hebei.entries), in_hebei.total) == (["130100005/000002", "130100005/000001"], 2)
    second_page = store.search(match, EntryFilter(region_code="130000"), 1, 10)
    assert codes(second_page.entries) == ["130100005/000001"]


def walk(store: Store, where: EntryFilter, page: int = 20) -> list[str]:
    """Every code a search for 户籍 serves, page after page, as the catalog pages it."""
    seen: list[str] = []
    while True:
        found = store.search(search.query_phrase("户籍"), where, len(seen), page)
        seen += codes(found.entries)
        if not found.entries or len(seen) >= found.total:
            return seen


@pytest.fixture
def capped(store, monkeypatch):
    """The store with a search cap of 50, and 30 entries whose name matches 户籍 (the first two in
    Guangdong) between 40 that match it elsewhere only."""
    monkeypatch.setattr(entries_mod, "TOTAL_CAP", 50)
    named = [stored("440300002" if n <= 2 else "130100005", n, name=f"户籍人口信息{n}") for n in range(1, 31)]
    put(store, *named, *(stored(seq=n, keywords=("户籍",)) for n in range(31, 71)))
    return store


@pytest.mark.parametrize("where", [EntryFilter(), EntryFilter(category="base")], ids=["plain", "filtered join"])
def test_search_counts_to_the_cap_and_serves_its_first_matches_name_matches_first(capped, where):
    found = capped.search(search.query_phrase("户籍"), where, 0, 20)
    assert (found.total, found.total_is_lower_bound) == (50, True)
    seen = walk(capped, where)
    assert len(seen) == len(set(seen)) == 50
    assert all("户籍" in e.name for e in capped.get_entries(seen[:30]).values())  # the name tier, ranked
    assert seen[30:] == [f"130100005/{n:06d}" for n in range(31, 51)]  # then the others in code order
    assert capped.search(search.query_phrase("户籍"), where, 50, 20).entries == []  # past the cap: no more


def test_under_the_cap_the_total_is_exact(capped):
    in_guangdong = capped.search(search.query_phrase("户籍"), EntryFilter(region_code="440000"), 0, 20)
    assert (in_guangdong.total, in_guangdong.total_is_lower_bound) == (2, False)
    with capped.transaction() as tx:  # withdrawing 21 of the others leaves 49 matches
        tx.put_entries([stored(seq=n, version=2, withdrawn=True) for n in range(50, 71)], log=True)
    found = capped.search(search.query_phrase("户籍"), EntryFilter(), 0, 20)
    assert (found.total, found.total_is_lower_bound) == (49, False)
    assert len(set(walk(capped, EntryFilter()))) == 49


def test_a_name_tier_past_the_cap_comes_in_code_order(capped, monkeypatch):
    monkeypatch.setattr(entries_mod, "TOTAL_CAP", 20)
    found = capped.search(search.query_phrase("户籍"), EntryFilter(), 0, 20)
    assert (found.total, found.total_is_lower_bound) == (20, True)
    assert codes(found.entries) == [f"130100005/{n:06d}" for n in range(3, 23)]



@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(named=st.integers(0, 12), elsewhere=st.integers(0, 12), cap=st.integers(1, 15), page=st.integers(1, 7))
def test_any_search_serves_its_first_matches_up_to_the_cap_name_matches_first(
        tmp_path_factory, monkeypatch, named, elsewhere, cap, page):
    monkeypatch.setattr(entries_mod, "TOTAL_CAP", cap)
    store = Store(tmp_path_factory.mktemp("search") / "node.db", synchronous="off")
    try:
        put(store, *(stored(seq=n, name=f"户籍人口信息{n}") for n in range(1, named + 1)),
            *(stored(seq=100 + n, keywords=("户籍",)) for n in range(1, elsewhere + 1)))
        matches = named + elsewhere
        found = store.search(search.query_phrase("户籍"), EntryFilter(), 0, page)
        assert (found.total, found.total_is_lower_bound) == (min(matches, cap), matches > cap)
        seen = [int(code[-6:]) for code in walk(store, EntryFilter(), page)]
        assert len(seen) == len(set(seen)) == min(matches, cap)
        assert [n > 100 for n in seen] == sorted(n > 100 for n in seen)  # name matches first
        if named > cap:  # too many to rank: code order
            assert seen == list(range(1, cap + 1))
    finally:
        store.close()

def test_a_digest_changes_with_any_version(store):
    put(store, stored(seq=1), stored(seq=2))
    before = store.digest(origin="hebei")
    assert before[0] == 2
    put(store, stored(seq=2, version=2, name="新名称"))
    after = store.digest(origin="hebei")
    assert after[0] == 2 and after[1] != before[1]
    assert store.digest(origin="beijing")[0] == 0


def test_peer_cursors_conflicts_and_the_outbox(store):
    with store.transaction() as tx:
        tx.update_peer("hebei", seq=5, epoch="e1")
        tx.add_conflicts([("hebei", "130100005/000001", "beijing", "held by another origin", "t1")] * 2)
        tx.enqueue("r1", "hebei", 2)
        tx.enqueue("r1", "hebei", 1)  # an older version never replaces a newer one
    assert store.peer("hebei").cursor == Cursor("e1", 5)
    assert store.peer("guangdong") is None
    assert store.conflict_counts() == {"hebei": (1, 0)}
    assert store.due_deliveries(now=1e12) == [("r1", "hebei", 2, 0)]
    with store.transaction() as tx:
        tx.delivered("r1", "hebei", 2)
    assert store.due_deliveries(now=1e12) == [] and store.outbox_summary() == {}


def test_a_request_version_is_stored_and_logged(store):
    request = Request(
        request_id="r1", consumer_code="440300002", consumer_node="guangdong", resource_code="130100005/000001",
        owner_code="130100005", owner_node="hebei", purpose="核验", basis="条例", data_items=("企业名称",),
        share_type="conditional", state="submitted", reason="", version=1, created_at=AT, updated_at=AT)
    with store.transaction() as tx:
        assert tx.put_requests([request], log=True) == [1]
    assert store.get_requests(["r1"]) == {"r1": request}
    assert store.requests_of_node("hebei") == [request] == store.all_requests()
    assert [(c.kind, c.key, c.op) for c in store.changes_after(0, 10)] == [("request", "r1", "submitted")]


def test_backup_and_restore_keep_the_entries_under_a_new_epoch(tmp_path):
    live = Store(tmp_path / "live.db", synchronous="normal")
    entries = [stored(seq=n) for n in range(1, 4)]
    put(live, *entries)
    old_epoch = live.epoch
    backup(live.path, str(tmp_path / "backup.db"))
    live.close()

    new_epoch = restore(str(tmp_path / "backup.db"), str(tmp_path / "restored" / "node.db"))
    restored = Store(tmp_path / "restored" / "node.db", synchronous="normal")
    try:
        assert restored.epoch == new_epoch != old_epoch
        assert restored.get_entries(codes(entries)) == {e.resource_code: e for e in entries}
        assert restored.head_seq() == 3
    finally:
        restored.close()


@pytest.fixture
def usual_umask():
    """The umask most accounts have (022), under which SQLite alone creates a file anyone can read."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(top) -> dict[str, int]:
    return {str(p.relative_to(top)): stat.S_IMODE(p.stat().st_mode) for p in sorted(top.rglob("*"))}


def test_a_new_database_its_wal_its_backup_and_their_directories_are_the_owners_alone(tmp_path, usual_umask):
    store = Store(tmp_path / "state" / "node.db", synchronous="normal")
    try:
        put(store, stored())
        with store.reading() as conn:
            conn.execute("SELECT count(*) FROM entries").fetchall()
        backup(store.path, str(tmp_path / "state" / "backup.db"))
        assert modes(tmp_path) == {"state": 0o700, "state/backup.db": 0o600, "state/node.db": 0o600,
                                   "state/node.db-shm": 0o600, "state/node.db-wal": 0o600}
    finally:
        store.close()
    restore(str(tmp_path / "state" / "backup.db"), str(tmp_path / "restored" / "node.db"))
    assert modes(tmp_path / "restored") == {"node.db": 0o600}
    assert stat.S_IMODE((tmp_path / "restored").stat().st_mode) == 0o700


def test_a_snapshot_left_unfinished_does_not_outlive_close_and_the_file_restores_in_its_place(tmp_path):
    # A Snapshot call whose client went away leaves its generator suspended mid-stream; the
    # node stops and its database is restored from a backup, as an operator does.
    path = str(tmp_path / "node.db")
    live = Store(path, synchronous="normal")
    put(live, *(stored(seq=n) for n in range(1, 4)))
    backup(path, str(tmp_path / "backup.db"))
    put(live, *(stored(seq=n) for n in range(4, 7)))
    stream = live.snapshot_slices("", 2)
    first, _ = next(stream)
    assert codes(first) == ["130100005/000001", "130100005/000002"]
    live.close()

    new_epoch = restore(str(tmp_path / "backup.db"), path)  # was: disk I/O error
    restored = Store(path, synchronous="normal")
    try:
        put(restored, stored(seq=9))
        assert restored.epoch == new_epoch and restored.count_entries()[1] == 4
        with pytest.raises(Unavailable):  # the old stream says why it ended, never reads the new file
            next(stream)
    finally:
        restored.close()


def test_a_closed_store_refuses_work(tmp_path):
    store = Store(tmp_path / "node.db", synchronous="normal")
    store.close()
    with pytest.raises(Unavailable):
        store.count_entries()
    with pytest.raises(Unavailable):
        with store.transaction():
            pass


# Each write: (origin, provider, sequence number, withdrawn); the same code written again is an
# update, possibly by another origin (as a snapshot's truth can hand a code over).
WRITES = st.lists(st.tuples(st.sampled_from(["hebei", "shanxi", "national"]),
                            st.sampled_from(["130100005", "140100002"]), st.integers(1, 6), st.booleans(),
                            st.sampled_from(["unconditional", "conditional", "not_shared"]),
                            st.sampled_from(["市场监督管理局", "市场监管局"])),
                  max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(WRITES, max_size=4))
def test_the_kept_entry_counts_equal_a_count_of_the_rows(tmp_path_factory, batches):
    store = Store(tmp_path_factory.mktemp("counts") / "node.db")
    try:
        for writes in batches:
            put(store, *(stored(provider, seq, origin=origin, withdrawn=withdrawn, share_type=share_type,
                                provider_name=name, share_condition="须说明用途", not_shared_basis="依据")
                         for origin, provider, seq, withdrawn, share_type, name in writes))
        rows = store.conn.execute("SELECT origin, withdrawn FROM entries").fetchall()
        for origin in ("hebei", "shanxi", "national", None):
            mine = [w for o, w in rows if origin in (None, o)]
            assert store.count_entries(origin) == (len(mine), mine.count(0))
            assert store.count_live(EntryFilter(origin=origin or "")) == (mine.count(0), False)
            assert store.count_live(EntryFilter(origin=origin or "", category="base")) == (mine.count(0), False)
        live = {o: sum(1 for oo, w in rows if oo == o and not w) for o, _ in rows}
        assert {o: n for o, n in store.live_by_origin().items() if n or o in live} == live
        # The scorecard's mix, kept per origin, department and sharing type.
        mix = store.conn.execute("SELECT origin, provider_code, share_type, count(*) FROM entries WHERE withdrawn = 0 "
                                 "GROUP BY 1, 2, 3").fetchall()
        assert sorted((o, c, t, n) for o, c, _, t, n in store.entry_mix()) == sorted(mix)
    finally:
        store.close()


def test_a_database_from_before_the_kept_counts_gets_them_when_it_opens(tmp_path):
    path = tmp_path / "old.db"
    store = Store(path)
    put(store, stored(seq=1), stored(seq=2, withdrawn=True), stored("140100002", 1, origin="shanxi"))
    store.close()
    with sqlite3.connect(path) as conn:  # back to the schema of migration 6, as an older release left it
        conn.executescript("DROP VIEW entry_counts; DROP TABLE entry_mix; DROP TRIGGER entries_mix_insert; "
                           "DROP TRIGGER entries_mix_delete; DROP TRIGGER entries_mix_update; "
                           "ALTER TABLE peers ADD COLUMN live_entries INTEGER NOT NULL DEFAULT 0; "
                           "ALTER TABLE mounts DROP COLUMN keys; ALTER TABLE mounts DROP COLUMN personal; "
                           "DROP TABLE calls; DROP TABLE grant_calls; DROP TABLE corrections; "
                           "DROP TABLE correction_keys; DROP TABLE crosscheck_findings; DROP TABLE crosscheck_runs; "
                           "ALTER TABLE outbox DROP COLUMN kind; PRAGMA user_version = 6")
    store = Store(path)
    try:
        assert store.count_entries() == (3, 2) and store.count_entries("hebei") == (2, 1)
        assert sorted(row[:2] + row[3:] for row in store.entry_mix()) == [
            ("hebei", "130100005", "unconditional", 1), ("shanxi", "140100002", "unconditional", 1)]
        assert codes(store.list_entries(EntryFilter(category="base"), -1, 10)) == ["130100005/000001", "140100002/000001"]
        put(store, stored(seq=3))
        assert store.count_entries("hebei") == (3, 2)
    finally:
        store.close()
