"""Department tokens on their own: issuing, checking, revoking, expiring, and the cache in front of SQLite."""

from __future__ import annotations

import sqlite3
import string
import threading
from concurrent import futures
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings, strategies as st

from node.security import tokens
from security_support import NOW
from security_support import db  # noqa: F401 (fixtures)


# --- department tokens -------------------------------------------------------------------------

def test_an_issued_token_checks_out_with_its_grant(db):
    token, info = tokens.issue(db, "130100005", now=NOW, note="市场监管局 publishing system")
    assert token.startswith(f"cct_{info.token_id}_")
    assert info.scopes == tokens.DEPARTMENT_SCOPES
    assert tokens.check(db, token, now=NOW) == info
    assert tokens.list_tokens(db) == [info]


def test_the_store_never_holds_the_secret(db):
    token, _ = tokens.issue(db, "130100005", now=NOW)
    secret = token.split("_", 2)[2]
    for row in db.execute("SELECT * FROM tokens"):
        assert not any(secret in str(value) for value in row)


def test_a_revoked_token_is_refused(db):
    token, info = tokens.issue(db, "130100005", now=NOW)
    assert tokens.revoke(db, info.token_id, now=NOW)
    assert not tokens.revoke(db, info.token_id, now=NOW)
    assert not tokens.revoke(db, "00000000", now=NOW)
    with pytest.raises(tokens.InvalidToken) as refusal:
        tokens.check(db, token, now=NOW)
    assert refusal.value.reason == "revoked"
    assert tokens.list_tokens(db)[0].revoked_at == NOW


def test_an_expired_token_is_refused(db):
    token, info = tokens.issue(db, "130100005", expires_days=30, now=NOW)
    assert tokens.check(db, token, now=NOW + timedelta(days=29)) == info
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.check(db, token, now=NOW + timedelta(days=30))


def test_malformed_and_unknown_tokens_are_refused(db):
    token, info = tokens.issue(db, "130100005", now=NOW)
    other_secret = tokens.issue(db, "130100006", now=NOW)[0].split("_", 2)[2]
    cases = {
        "": "malformed", "cct_": "malformed", f"Bearer {token}": "malformed", token + "\n": "malformed",
        token[:-1]: "malformed", token.upper(): "malformed",
        f"cct_{info.token_id}_{other_secret}": "unknown",  # right id, wrong secret
        f"cct_ffffffff_{token.split('_', 2)[2]}": "unknown",
    }
    for candidate, reason in cases.items():
        with pytest.raises(tokens.InvalidToken) as refusal:
            tokens.check(db, candidate, now=NOW)
        assert refusal.value.reason == reason, candidate


@pytest.mark.parametrize("code, scopes", [
    ("13010000", tokens.DEPARTMENT_SCOPES), ("1301000050", tokens.DEPARTMENT_SCOPES),
    ("١٣٠١٠٠٠٠٥", tokens.DEPARTMENT_SCOPES),  # nine digits, but not ASCII ones
    ("130100005", {"publish", "operator"}), ("130100005", {"admin"}), ("130100005", set()),
    ("", {"operator", "read"}), ("", tokens.DEPARTMENT_SCOPES),
])
def test_a_grant_that_breaks_the_rules_is_not_issued(db, code, scopes):
    with pytest.raises(ValueError):
        tokens.issue(db, code, scopes, now=NOW)
    assert tokens.list_tokens(db) == []


def test_an_operator_token_has_no_department(db):
    token, info = tokens.issue(db, tokens.OPERATOR, {"operator"}, now=NOW)
    assert tokens.check(db, token, now=NOW).is_operator


_ISSUED_DB = sqlite3.connect(":memory:")
tokens.create_tables(_ISSUED_DB)
_ISSUED = [tokens.issue(_ISSUED_DB, f"13010000{i}", now=NOW)[0] for i in range(3)]
_TOKEN_CHARS = string.ascii_letters + string.digits + "_-"


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.text(),
    st.from_regex(tokens.TOKEN, fullmatch=True),
    st.builds(lambda token, at, char: token[:at] + char + token[at + 1:],
              st.sampled_from(_ISSUED), st.integers(0, 55), st.sampled_from(_TOKEN_CHARS)),
))
def test_anything_but_an_issued_token_is_refused(candidate):
    assume(candidate not in _ISSUED)
    with pytest.raises(tokens.InvalidToken):
        tokens.check(_ISSUED_DB, candidate, now=NOW)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_cache_spares_sqlite_yet_a_revocation_lands_within_its_ttl(db):
    token, info = tokens.issue(db, "130100005")
    lookups = []

    def check(candidate):
        lookups.append(candidate)
        return tokens.check(db, candidate)

    clock = FakeClock()
    cache = tokens.TokenCache(check, ttl=2.0, clock=clock)
    assert cache.check(token) == info
    tokens.revoke(db, info.token_id)
    clock.now += 1.9
    assert cache.check(token) == info
    assert len(lookups) == 1
    clock.now += 0.2
    with pytest.raises(tokens.InvalidToken, match="revoked"):
        cache.check(token)
    with pytest.raises(tokens.InvalidToken, match="malformed"):
        cache.check("nonsense")
    with pytest.raises(tokens.InvalidToken, match="malformed"):
        cache.check("nonsense")
    assert lookups.count("nonsense") == 1


def test_the_cache_checks_expiry_on_every_hit():
    expiring = tokens.TokenInfo("0badc0de", "130100005", tokens.DEPARTMENT_SCOPES, created_at=NOW,
                                expires_at=datetime.now(timezone.utc) + timedelta(seconds=0.05))
    cache = tokens.TokenCache(lambda candidate: expiring, ttl=60)
    assert cache.check("t") == expiring
    threading.Event().wait(0.1)
    with pytest.raises(tokens.InvalidToken, match="expired"):
        cache.check("t")


def test_the_cache_serves_many_threads():
    info = tokens.TokenInfo("0badc0de", "130100005", tokens.DEPARTMENT_SCOPES, created_at=NOW)
    lookups = []
    cache = tokens.TokenCache(lambda candidate: lookups.append(candidate) or info, ttl=60, max_entries=50)
    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(cache.check, [f"t{i % 40}" for i in range(2000)]))
    assert set(results) == {info}
    assert len(lookups) < 2000
