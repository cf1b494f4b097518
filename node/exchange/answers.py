"""The owner's node answering Query and Verify: a record looked up by its key in the mounted
source, through the same checks as a fetch (node/exchange/provider.py), read from the source's
index (SQLite) or the node's lookup index (CSV, XLSX), never by loading the table.

A key outside the grant's row filter finds nothing, exactly as a key that does not exist: the
filter is part of the look-up, so both paths are the same. A verification returns verdicts
only; the values it compares never leave the node."""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from node.errors import FailedPrecondition, InvalidRequest, PermissionDenied
from node.exchange.allowance import charges
from node.exchange.lookup import HttpKeyedSource, sqlite_lookup
from node.exchange.provider import Provider, masked_rows
from node.exchange.sources import SourceError, SourceRefused, SqliteSource
from node.model.exchange import Grant, Mount
from node.model.masking import same

MAX_KEYS = 1000  # keys (or claims) in one call: a larger list goes in several calls
MATCH, MISMATCH, NOT_FOUND = "match", "mismatch", "not_found"


@dataclasses.dataclass
class Verdict:
    results: dict[str, str]  # data item -> match, mismatch or not_found
    overall: str


def key_values(mount: Mount, key: Mapping[str, str], field: str = "key") -> tuple[str, ...]:
    """The key's values in the mount's key order; a key naming another item, or lacking one of
    the mount's, is refused with the keys the consumer may ask by."""
    for item in key:
        if item not in mount.keys:
            raise InvalidRequest(f"{field}[{item}]", f"is not a key of {mount.resource_code}: ask by "
                                                     f"{' + '.join(mount.keys)}")
    missing = [item for item in mount.keys if item not in key]
    if missing:
        raise InvalidRequest(field, f"lacks {', '.join(missing)}: {mount.resource_code} is asked by "
                                    f"{' + '.join(mount.keys)}")
    return tuple(key[item] for item in mount.keys)


def _check_count(n: int, field: str) -> None:
    if n == 0:
        raise InvalidRequest(field, "names no key")
    if n > MAX_KEYS:
        raise InvalidRequest(field, f"at most {MAX_KEYS} in one call (got {n}): send the rest in further calls")


class Answers:
    """Query and Verify at the owner's node."""

    def __init__(self, provider: Provider):
        self.provider = provider
        self.mounts = provider.mounts

    def _open(self, request_id: str, consumer_code: str, mode: str, calls: int, call_ids: Sequence[str]):
        if call_ids and len(call_ids) != calls:
            raise InvalidRequest("call_ids", f"one per key: {len(call_ids)} ids for {calls} keys")
        return self.provider.open_for(request_id, consumer_code, mode)

    def _lookup(self, mount: Mount, source, grant: Grant, columns: Sequence[str], keys: list[tuple[str, ...]]):
        key_columns = [mount.column_of(k) for k in mount.keys]
        try:
            if isinstance(source, SqliteSource):
                return sqlite_lookup(source, columns, key_columns, keys, grant.filter_column, grant.filter_prefix)
            if isinstance(source, HttpKeyedSource):
                return source.lookup(columns, key_columns, keys, grant.filter_column, grant.filter_prefix)
            return self.mounts.file_indexes.lookup(source, columns, key_columns, keys, grant.filter_column,
                                                   grant.filter_prefix)
        except SourceRefused as exc:
            raise FailedPrecondition("source_refused", f"the source of {mount.resource_code} is refused: {exc}") from None
        except SourceError as exc:
            raise FailedPrecondition("source_unreadable", f"the source of {mount.resource_code} cannot be read: "
                                                          f"{exc}") from None
        finally:
            source.close()

    def query(self, request_id: str, consumer_code: str,
              keys: Sequence[Mapping[str, str]],
              call_id: str = "", call_ids: Sequence[str] = ()) -> tuple[tuple[str, ...], list[list[tuple[str, ...]]]]:
        """The granted items (columns) and, per key, its rows inside the filter (none: not found),
        personal items masked."""
        _check_count(len(keys), "keys")
        request, grant, mount, source = self._open(request_id, consumer_code, "query", len(keys), call_ids)
        try:
            values = [key_values(mount, key, "key" if len(keys) == 1 else f"keys[{i}]") for i, key in enumerate(keys)]
            # Charged once the question is checked: a question refused counts nothing, and a
            # call over the quota or the rate reads nothing from the source.
            self.provider.charge(request, charges(len(keys), call_id, call_ids))
        except BaseException:
            source.close()
            raise
        answers = self._lookup(mount, source, grant, grant.source_columns, values)
        if grant.masked:
            answers = [masked_rows(rows, grant.masks) for rows in answers]
        return grant.items, answers

    def verify(self, request_id: str, consumer_code: str,
               claims: Sequence[tuple[Mapping[str, str], Mapping[str, str]]],
               call_id: str = "", call_ids: Sequence[str] = ()) -> list[Verdict]:
        """Per (key, claims): each claimed item's verdict against the record, and the overall one.
        A record matches when one of the key's rows matches every claim; else the first row's
        verdicts are given."""
        _check_count(len(claims), "batch")
        request, grant, mount, source = self._open(request_id, consumer_code, "verify", len(claims), call_ids)
        try:
            items: list[str] = []
            values = []
            def field(i: int) -> str:  # a claim's place, named only in a refusal
                return "" if len(claims) == 1 else f"batch[{i}]."

            for i, (key, claimed) in enumerate(claims):
                values.append(key_values(mount, key, field(i) + "key"))
                if not claimed:
                    raise InvalidRequest(field(i) + "claims", "claims no value")
                for item in claimed:
                    if item not in items:
                        if item not in request.items_out:
                            raise PermissionDenied(f"{field(i)}claims[{item}]: is not a granted item of request "
                                                   f"{request_id} (granted: {', '.join(request.items_out)})")
                        items.append(item)
            self.provider.charge(request, charges(len(claims), call_id, call_ids))  # as a query's
        except BaseException:
            source.close()
            raise
        answers = self._lookup(mount, source, grant, [mount.column_of(i) for i in items], values)
        verdicts = []
        for (_, claimed), rows in zip(claims, answers):
            if not rows:
                verdicts.append(Verdict({item: NOT_FOUND for item in claimed}, NOT_FOUND))
                continue
            best = None
            for row in rows:
                recorded = dict(zip(items, row))
                results = {item: MATCH if same(value, recorded[item]) else MISMATCH for item, value in claimed.items()}
                matched = MISMATCH not in results.values()
                if best is None or matched:
                    best = results
                if matched:
                    break
            verdicts.append(Verdict(best, MISMATCH if MISMATCH in best.values() else MATCH))
        return verdicts

    def has_record(self, resource_code: str, key: Mapping[str, str]) -> bool | None:
        """Whether this node's source of `resource_code` holds a record with this key, for a
        correction arriving on it (node/sharing/corrections.py); None when it cannot tell: no
        mount, a mount keyed by other items, or a source that cannot be read now."""
        mount = self.mounts.get(resource_code)
        if mount is None or not mount.keys or set(mount.keys) != set(key):
            return None
        try:
            source = self.mounts.open(mount)
        except (SourceError, SourceRefused):
            return None
        columns = tuple(mount.column_of(k) for k in mount.keys)
        try:
            rows = self._lookup(mount, source, Grant(tuple(mount.keys), columns), columns,
                                [tuple(key[k] for k in mount.keys)])
        except FailedPrecondition:
            return None
        return bool(rows and rows[0])
