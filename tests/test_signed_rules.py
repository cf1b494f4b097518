"""Who may make which request version, and what a signature covers: the pure rule, the canonical
bytes, and the seal with real node keys from a federation CA (no servers)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from node import wire
from node.errors import InvalidRequest
from node.model.request import IMMUTABLE, STATES, Event, Request, canonical, maker_refusal
from node.security import pki
from node.security.signing import NodeKey, Verifier
from node.sharing.seals import Seal
from node.store import Store

T0 = datetime(2025, 3, 3, 1, 2, 3, 456789, tzinfo=timezone.utc)
NODES = ("hebei", "guangdong", "mps")


def request(version: int = 2, state: str = "pending", **fields) -> Request:
    base = dict(
        request_id="hebei-0123456789abcdef0123", consumer_code="130100005", consumer_node="hebei",
        resource_code="440300002/000002", owner_code="440300002", owner_node="guangdong", purpose="办理企业开办",
        basis="《优化营商环境条例》", data_items=("企业名称", "公民身份号码"), share_type="conditional", state=state,
        reason="conditional: 须说明办理事项", version=version, created_at=T0, updated_at=T0 + timedelta(minutes=1),
        deadline="2025-03-14", history=(Event(1, "submitted", "130100005", T0, "办理企业开办"),
                                        Event(2, "pending", "guangdong", T0 + timedelta(minutes=1), "conditional")),
    )
    return Request(**(base | fields))


# --- who may make what ----------------------------------------------------------------------------

def allowed(state: str, maker: str, version: int) -> bool:
    """The rule as an operator would state it."""
    if state in ("submitted", "withdrawn", "review", "returned", "objected"):
        return maker == "hebei"
    if state == "rejected" and version == 2 and maker == "hebei":
        return True  # answered at filing: the entry was unknown or withdrawn
    return maker == "guangdong"


@given(st.sampled_from(STATES), st.sampled_from(NODES + ("",)), st.integers(1, 9), st.booleans())
def test_only_the_consumers_node_files_and_withdraws_and_only_the_owners_node_answers(state, maker, version, held):
    version_made = request(version, state, signer=maker)
    previous = request(max(1, version - 1), "pending") if held else None
    assert (maker_refusal(version_made, previous) is None) == allowed(state, maker, version)


@given(st.sampled_from(IMMUTABLE), st.sampled_from(("granted", "withdrawn")))
def test_no_version_changes_what_the_first_one_fixed(field, state):
    held = request()
    changed = {"data_items": ("企业名称", "注册资本"), "created_at": T0 + timedelta(seconds=1)}.get(field, "x")
    maker = "guangdong" if state == "granted" else "hebei"
    made = dataclasses.replace(request(3, state, signer=maker), **{field: changed})
    why = maker_refusal(made, held)
    assert why is not None and (field in why or "consumer's node" in why)
    assert maker_refusal(request(3, state, signer=maker), held) is None


def test_the_request_id_names_the_consumers_node_and_only_the_owner_sets_a_scope():
    assert "does not name its consumer's node" in maker_refusal(
        request(3, "granted", signer="guangdong", request_id="mps-0123"), None)
    narrowed = request(3, "granted", signer="guangdong", filter_column="公民身份号码", filter_prefix="4403")
    assert maker_refusal(narrowed, request()) is None
    widened = dataclasses.replace(narrowed, state="withdrawn", version=4, signer="hebei", filter_column="",
                                  filter_prefix="")
    assert "scope" in maker_refusal(widened, narrowed)


@given(st.sampled_from(("modes", "daily_quota", "rate", "plain", "granted_items")))
def test_only_the_owners_node_sets_the_modes_and_limits_of_a_grant(field):
    limited = request(3, "granted", signer="guangdong", modes=("verify",), daily_quota=100, rate=2,
                      granted_items=("企业名称",))
    assert maker_refusal(limited, request()) is None
    wider = {"modes": ("fetch", "query", "verify"), "daily_quota": 0, "rate": 50, "plain": ("公民身份号码",),
             "granted_items": ()}[field]
    forged = dataclasses.replace(limited, state="withdrawn", version=4, signer="hebei", **{field: wider})
    assert "scope" in maker_refusal(forged, limited)


def test_a_version_with_the_default_modes_and_no_limits_keeps_the_bytes_signed_before_grants_named_them():
    assert b"modes" not in canonical(request()) and b"quota" not in canonical(request())
    assert b"plain" not in canonical(request()) and b"granted_items" not in canonical(request())


# --- the canonical bytes --------------------------------------------------------------------------

CHANGES = {
    "request_id": "hebei-x", "consumer_code": "130100006", "consumer_node": "mps", "resource_code": "440300002/000003",
    "owner_code": "440300003", "owner_node": "mps", "purpose": "另一事项", "basis": "另一依据",
    "data_items": ("公民身份号码", "企业名称"), "share_type": "unconditional", "state": "granted", "reason": "ok",
    "version": 3, "created_at": T0 + timedelta(microseconds=1), "updated_at": T0, "deadline": "2025-03-15",
    "filter_column": "企业名称", "filter_prefix": "深圳", "valid_until": "2099-12-31", "signer": "mps",
    "history": (Event(1, "submitted", "130100005", T0, "办理企业开办"),),
    "modes": ("verify",), "daily_quota": 1000, "rate": 5, "plain": ("公民身份号码",), "maker": "mps",
    "granted_items": ("企业名称",),
}


def test_every_field_but_the_signature_itself_is_covered():
    covered = {f.name for f in dataclasses.fields(Request)} - {"signature", "signer_cert"}
    assert covered == set(CHANGES)


@given(st.sampled_from(sorted(CHANGES)))
def test_any_change_of_any_field_changes_the_canonical_bytes(field):
    original = request()
    assert canonical(original) == canonical(dataclasses.replace(original))  # deterministic
    assert canonical(dataclasses.replace(original, **{field: CHANGES[field]})) != canonical(original)


@given(st.integers(0, 2), st.sampled_from(("version", "state", "actor", "at", "note")))
def test_any_change_of_the_history_changes_the_canonical_bytes(index, part):
    original = request(3, "granted", history=request().history + (Event(3, "granted", "440300002", T0, "ok"),))
    event = original.history[index]
    other = {"version": 9, "state": "rejected", "actor": "x", "at": T0 + timedelta(days=1), "note": "改"}[part]
    history = list(original.history)
    history[index] = dataclasses.replace(event, **{part: other})
    assert canonical(dataclasses.replace(original, history=tuple(history))) != canonical(original)


# --- the seal, with real node keys ----------------------------------------------------------------

@pytest.fixture(scope="module")
def seals(tmp_path_factory) -> dict[str, Seal]:
    ca = tmp_path_factory.mktemp("pki")
    pki.init_ca(ca)
    for name in NODES:
        pki.issue(ca, name)
    pki.issue(ca, "operator", kind="operator")
    elsewhere = ca / "elsewhere"
    pki.init_ca(elsewhere)
    pki.issue(elsewhere, "guangdong")
    verifier = Verifier(ca / pki.CA_CERT)
    made = {name: Seal(name, NodeKey(ca / f"{name}.pem", ca / f"{name}.key").sign, verifier.verify)
            for name in (*NODES, "operator")}
    made["impostor"] = Seal("guangdong", NodeKey(elsewhere / "guangdong.pem", elsewhere / "guangdong.key").sign,
                            verifier.verify)
    return made


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(CHANGES)))
def test_a_signed_version_with_any_field_changed_no_longer_checks(seals, field):
    signed = seals["guangdong"].sign(request())
    assert seals["hebei"].refusal(signed, None) is None
    tampered = dataclasses.replace(signed, **{field: CHANGES[field]})
    assert seals["hebei"].signed(tampered) is not None


def test_a_signature_checks_only_for_a_node_certificate_of_the_federation_naming_the_signer(seals):
    version = request()
    assert seals["hebei"].signed(version) == "unsigned"
    assert "not issued by the federation CA" in seals["hebei"].signed(seals["impostor"].sign(version))
    assert "operator certificate, not a node's" in seals["hebei"].signed(seals["operator"].sign(version))
    by_mps = seals["mps"].sign(version)
    claimed = dataclasses.replace(by_mps, signer="guangdong")
    assert "certificate of mps, not of guangdong" in seals["hebei"].signed(claimed)
    later = datetime.now(timezone.utc) + timedelta(days=9000)
    assert "not valid at" in seals["hebei"].signed(seals["guangdong"].sign(version), at=later)


def test_a_signature_survives_the_wire_and_the_store(seals, tmp_path):
    signed = seals["guangdong"].sign(request(3, "granted", filter_column="公民身份号码", filter_prefix="4403",
                                             valid_until="2099-12-31", granted_items=("公民身份号码",)))
    travelled = wire.request_from_proto(wire.request_to_proto(signed))
    assert travelled == signed and seals["hebei"].refusal(travelled, request()) is None
    store = Store(tmp_path / "node.db", synchronous="normal")
    try:
        with store.transaction() as tx:
            tx.put_requests([signed], log=True)
        kept = store.get_requests([signed.request_id])[signed.request_id]
    finally:
        store.close()
    assert kept == signed and seals["mps"].refusal(kept, None) is None


def test_a_copy_granting_an_item_that_was_not_asked_for_is_refused_on_arrival():
    message = wire.request_to_proto(request(3, "granted", granted_items=("法定代表人",)))
    with pytest.raises(InvalidRequest) as refused:
        wire.request_from_proto(message)
    assert str(refused.value).startswith("request.granted_items[0]: 法定代表人 is not a data item the request asks for")
