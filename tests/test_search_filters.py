"""Every filter a search or a listing offers (region, provider, category, share type, update
cycle, open type; and origin), in any combination, with a query or without one, answers what a
plain SQL reference over the entries table answers: the same entries, in the same order, with the
same total, page after page. The fast paths read the search index alone; this is the proof that
speed did not change an answer."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import make_entry
from node.model import regions, rules, search
from node.model.rules import EntryFilter
from node.store import Store, entries as entries_mod, tiers as tiers_mod
from node.store.kept import UntilCommit
from node.times import format_time

AT = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
DAYS = [AT + timedelta(days=n) for n in range(3)]
PROVIDERS = ["130100005", "130100007", "130200001", "440300002", "440100003", "100000001"]
REGIONS = ["130000", "130100", "130200", "440000", "440300", "100000"]
WORDS = ["人口", "户籍", "企业", "法人", "登记", "社保", "医疗", "交通", "住房", "证照"]
QUERIES = ["人口", "户籍人口", "人", "企", "登记信息", "社保缴费", "证", "gdp", "信息"]
PLAIN = ["category", "share_type", "update_cycle", "open_type"]
CHOICES = {"category": rules.CATEGORIES, "share_type": rules.SHARE_TYPES, "update_cycle": rules.UPDATE_CYCLES,
           "open_type": rules.OPEN_TYPES}


def catalog(rng: random.Random) -> list:
    """Some 360 entries of six providers with random filter values and names from a few words;
    a tenth withdrawn again, and a few of those published again."""
    out = []
    for n in range(360):
        provider = PROVIDERS[n % len(PROVIDERS)]
        name = "".join(rng.sample(WORDS, rng.randint(1, 3))) + "信息"
        keywords = tuple(rng.sample(WORDS + ["GDP2024"], 2))
        out.append(make_entry(provider, n + 1, name=name, keywords=keywords, origin=rng.choice(["hebei", "guangdong"]),
                              version=1, published_at=AT, updated_at=rng.choice(DAYS),
                              summary=rng.choice(["全省登记信息", "缴费与待遇", "人口统计"]),
                              **{field: rng.choice(CHOICES[field]) for field in PLAIN}))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = random.Random(24)
    entries = catalog(rng)
    s = Store(tmp_path_factory.mktemp("filters") / "node.db", synchronous="off")
    with s.transaction() as tx:
        tx.put_entries(entries, log=True)
    gone = rng.sample(entries, 36)
    with s.transaction() as tx:
        tx.put_entries([dataclasses.replace(e, withdrawn=True, version=2) for e in gone], log=True)
    with s.transaction() as tx:  # a few come back; a few more go and come back in one write
        tx.put_entries([dataclasses.replace(e, version=3) for e in gone[:6]], log=True)
        again = entries[-6:]
        tx.put_entries([dataclasses.replace(e, withdrawn=True, version=2) for e in again]
                       + [dataclasses.replace(e, version=3) for e in again], log=True)
    yield s
    s.close()


FILTERS = st.fixed_dictionaries({}, optional={
    "provider_code": st.sampled_from(PROVIDERS), "region_code": st.sampled_from(REGIONS),
    "origin": st.sampled_from(["hebei", "guangdong"]), "updated_since": st.sampled_from(DAYS),
    **{field: st.sampled_from(CHOICES[field]) for field in PLAIN}})


def reference_where(where: EntryFilter) -> tuple[str, list]:
    """The filter as plain SQL on the entries table, written out without the store's helpers."""
    clauses, params = ["e.withdrawn = 0"], []
    if where.provider_code:
        clauses.append("e.provider_code = ?")
        params.append(where.provider_code)
    if where.region_code:
        prefix = regions.prefix(where.region_code)  # the domain's rule: a province holds its prefectures
        clauses.append("substr(e.resource_code, 1, ?) = ?")
        params += [len(prefix), prefix]
    for field in PLAIN + ["origin"]:
        if getattr(where, field):
            clauses.append(f"e.{field} = ?")
            params.append(getattr(where, field))
    if where.updated_since:
        clauses.append("e.updated_at >= ?")
        params.append(format_time(where.updated_since))
    return " AND ".join(clauses), params


def reference_search(store: Store, query: str, where: EntryFilter, cap: int, rank_cap: int) -> tuple[list[str], int]:
    """Every match in the order a search serves it (name matches first: ranked by bm25 while there
    are at most `cap` and `rank_cap`, else in code order; then the others in code order), cut at
    the cap, and the total before the cut."""
    match = search.query_phrase(query)
    cond, params = reference_where(where)

    def tier(expr: str, order: str) -> list[str]:
        rows = store.conn.execute(
            f"SELECT e.resource_code FROM entry_fts JOIN entries e ON e.id = entry_fts.rowid "
            f"WHERE entry_fts MATCH ? AND {cond} ORDER BY {order}", [expr, *params])
        return [r[0] for r in rows]

    named = tier(f"name : {match}", "e.id")
    # The index itself checked against the entries table: a name matches where it holds the query.
    rows = store.conn.execute(f"SELECT e.resource_code FROM entries e WHERE instr(e.name, ?) AND {cond}",
                              [query, *params])
    assert set(named) == {r[0] for r in rows}, "the search index does not hold exactly the live entries"
    if len(named) <= min(cap, rank_cap):
        named = tier(f"name : {match}", "bm25(entry_fts, 1.0, 1.0, 0.0), e.id")
    others = tier(f"body : {match} NOT name : {match}", "e.id")
    everything = named + others
    return everything[:cap], len(everything)


def reference_listing(store: Store, where: EntryFilter) -> list[str]:
    cond, params = reference_where(where)
    return [r[0] for r in store.conn.execute(f"SELECT resource_code FROM entries e WHERE {cond} ORDER BY e.id", params)]


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=FILTERS, query=st.sampled_from(QUERIES), page=st.integers(1, 40), cap=st.sampled_from([7, 10_000]),
       rank_cap=st.sampled_from([5, 1_000]), jump=st.integers(0, 120), kept=st.booleans())
def test_a_filtered_search_serves_what_the_reference_serves(store, fields, query, page, cap, rank_cap, jump, kept):
    where = EntryFilter(**fields)
    expected, total = reference_search(store, query, where, cap, rank_cap)
    # kept: the query's whole name tier kept in memory (node/store/tiers.py), or read under the
    # filter from the index each time, as a tier too large to keep is.
    with mock.patch.object(entries_mod, "TOTAL_CAP", cap), mock.patch.object(entries_mod, "RANK_CAP", rank_cap), \
            mock.patch.object(tiers_mod, "KEPT_TIER", 1_000 if kept else -1), \
            mock.patch.object(store, "name_tiers", store.name_tiers if kept else UntilCommit(1)):
        seen, offset = [], 0
        while True:
            found = store.search(search.query_phrase(query), where, offset, page)
            assert (found.total, found.total_is_lower_bound) == (min(total, cap), total > cap)
            seen += [e.resource_code for e in found.entries]
            offset += len(found.entries)
            if not found.entries or offset >= found.total:
                break
        # A page asked for directly (a link to page n, past the name tier or past the end).
        direct = store.search(search.query_phrase(query), where, jump, page)
    assert seen == expected
    assert [e.resource_code for e in direct.entries] == expected[jump : min(jump + page, cap)]


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=FILTERS, page=st.integers(1, 60), cap=st.sampled_from([7, 10_000]))
def test_a_filtered_listing_serves_what_the_reference_serves(store, fields, page, cap):
    where = EntryFilter(**fields)
    expected = reference_listing(store, where)
    seen, after = [], -1
    while True:
        entries = store.list_entries(where, after, page)
        seen += [e.resource_code for e in entries]
        if len(entries) < page:
            break
        after = int(entries[-1].resource_code.replace("/", ""))
    assert seen == expected
    assert all(not e.withdrawn for e in store.get_entries(seen).values())
    with mock.patch.object(entries_mod, "TOTAL_CAP", cap):
        counted = store.count_live(where)
    if fields.keys() - {"origin"}:  # counted as far as the cap
        assert counted == (min(len(expected), cap), len(expected) > cap)
    else:  # kept by triggers: exact
        assert counted == (len(expected), False)


def test_an_index_of_single_values_from_an_older_release_answers_combined_filters_once_it_opens(tmp_path):
    rng = random.Random(7)
    path = tmp_path / "old.db"
    s = Store(path, synchronous="off")
    entries = catalog(rng)[:80]
    with s.transaction() as tx:
        tx.put_entries(entries, log=True)
    s.close()
    singles = search.filter_tokens_sql("e.", tuple((name,) for name in search.FILTER_TAGS))
    with sqlite3.connect(path) as conn:  # the filter column as migration 13 left it: one token per value
        conn.execute(f"UPDATE entry_fts SET tags = (SELECT {singles} FROM entries e WHERE e.id = entry_fts.rowid)")
        conn.execute("PRAGMA user_version = 13")
    s = Store(path)
    try:
        where = EntryFilter(category=entries[0].category, share_type=entries[0].share_type,
                            open_type=entries[0].open_type)
        assert [e.resource_code for e in s.list_entries(where, -1, 100)] == reference_listing(s, where)
        expected, total = reference_search(s, "信息", where, 10_000, 1_000)
        assert total and [e.resource_code for e in s.search(search.query_phrase("信息"), where, 0, 100).entries] == expected
    finally:
        s.close()


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=FILTERS, query=st.sampled_from(["", *QUERIES]),
       cap=st.sampled_from([3, 1_000]), tally=st.sampled_from([0, 5, 1_000]))
def test_each_facet_value_counts_what_the_reference_finds_with_that_value_chosen(store, fields, query, cap, tally):
    where = EntryFilter(**fields)  # tallied from what the other filters keep, or counted value by value
    with mock.patch.object(entries_mod, "FACET_CAP", cap), mock.patch.object(entries_mod, "TALLY", tally):
        counted = store.facet_counts(search.query_phrase(query) if query else None, where)
    assert {(facet, value) for facet, value, _, _ in counted} == {
        (facet, value) for facet, values in search.FACETS.items() for value in values}
    for facet, value, count, lower in counted:
        chosen = dataclasses.replace(where, **{facet: value})
        found = (reference_search(store, query, chosen, 10**6, 0)[1] if query
                 else len(reference_listing(store, chosen)))
        assert (count, lower) == (min(found, cap), found > cap), (facet, value)


def test_a_kept_name_tier_follows_the_next_commit(tmp_path):
    s = Store(tmp_path / "node.db", synchronous="off")
    try:
        with s.transaction() as tx:
            tx.put_entries([make_entry(PROVIDERS[0], n, name="社保缴费信息", share_type="conditional") for n in (1, 2)],
                           log=True)
        match = search.query_phrase("社保")
        assert [e.resource_code for e in s.search(match, EntryFilter(), 0, 10).entries] == [
            f"{PROVIDERS[0]}/000001", f"{PROVIDERS[0]}/000002"]
        with s.transaction() as tx:  # one more match, one gone, one changed under a filter
            tx.put_entries([make_entry(PROVIDERS[0], 3, name="社保待遇", share_type="conditional"),
                            make_entry(PROVIDERS[0], 1, name="社保缴费信息", withdrawn=True, version=2),
                            make_entry(PROVIDERS[0], 2, name="社保缴费信息", share_type="unconditional", version=2)],
                           log=True)
        found = s.search(match, EntryFilter(share_type="conditional"), 0, 10)
        assert [e.resource_code for e in found.entries] == [f"{PROVIDERS[0]}/000003"] and found.total == 1
    finally:
        s.close()
