"""The merge rule over the whole lifecycle, at the model level: three copies of one request (the
consumer's node, the owner's node, the hub, which coordinates), each party taking the steps the
lifecycle gives it on the copy it holds while versions travel in any order, late or twice. Every
copy ends the same, no two different versions ever share a number (counter, maker), and every
version made is one its maker may make (`maker_refusal`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from node.model.request import EXTENDED, OPEN, Event, Request, maker_refusal, newer

CONSUMER, OWNER, HUB = "hebei", "guangdong", "national"
T0 = datetime(2026, 3, 2, 1, tzinfo=timezone.utc)


def first() -> Request:
    return Request(
        request_id="hebei-0123456789abcdef0123", consumer_code="130100005", consumer_node=CONSUMER,
        resource_code="440300002/000002", owner_code="440300002", owner_node=OWNER, purpose="办理企业开办",
        basis="《优化营商环境条例》", data_items=("企业名称",), share_type="conditional", state="submitted", reason="",
        version=1, created_at=T0, updated_at=T0, history=(Event(1, "submitted", "130100005", T0, "办理企业开办"),),
    ).made_by(CONSUMER)


def steps(node: str, held: Request) -> list[tuple[str, str]]:
    """The (state, step) each party may take on the copy it holds (node/sharing/ and docs/sharing.md)."""
    if node == CONSUMER:
        found = [("withdrawn", "withdrawn")] if held.state in OPEN else []
        if held.state == "rejected" and not held.steps("objected"):
            found.append(("objected", "objected"))
        return found
    if node == OWNER:
        if held.state == "submitted":
            return [("pending", "pending")]
        if held.state == "pending":
            return [("granted", "granted"), ("rejected", "rejected")] + (
                [] if held.steps(EXTENDED) else [("pending", EXTENDED)])
        return []
    return [("granted", "granted"), ("rejected", "rejected")] if held.state == "objected" else []


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_copies_converge_and_every_number_names_one_version(data):
    copies: dict[str, Request | None] = {CONSUMER: first(), OWNER: None, HUB: None}
    made = {(1, CONSUMER): copies[CONSUMER]}
    in_flight: list[tuple[str, Request]] = [(OWNER, copies[CONSUMER]), (HUB, copies[CONSUMER])]
    clock = iter(T0 + timedelta(minutes=i) for i in range(1, 10_000))
    for _ in range(data.draw(st.integers(0, 30), label="moves")):
        possible = [(node, step) for node, held in copies.items() if held is not None for step in steps(node, held)]
        if in_flight and (not possible or data.draw(st.booleans(), label="deliver")):
            target, version = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1), label="which"))
            if data.draw(st.booleans(), label="twice"):
                in_flight.append((target, version))  # delivered again later: the receiver ignores it
            if newer(version, copies[target]):
                copies[target] = version
            continue
        if not possible:
            break
        node, (state, step) = data.draw(st.sampled_from(possible), label="step")
        held = copies[node]
        version = held.advanced(state, node, next(clock), f"{step} at {node}", step=step).made_by(node)
        assert (version.version, node) not in made, f"two versions numbered {version.version}·{node}"
        assert maker_refusal(_signed_as(version), held, HUB) is None, (state, step, node)
        made[(version.version, node)] = version
        copies[node] = version
        in_flight += [(other, version) for other in copies if other != node]
    for target, version in in_flight:  # everything arrives in the end
        if newer(version, copies[target]):
            copies[target] = version
    assert copies[CONSUMER] == copies[OWNER] == copies[HUB], copies
    assert copies[CONSUMER] == _newest(list(made.values()))
    numbers = [e.number for e in copies[CONSUMER].history]
    assert len(numbers) == len(set(numbers))


def _newest(versions: list[Request]) -> Request:
    winner = versions[0]
    for version in versions[1:]:
        if newer(version, winner):
            winner = version
    return winner


def _signed_as(version: Request) -> Request:
    """The version as a secure maker signs it: the signer is the maker (the signature is not checked here)."""
    return dataclasses.replace(version, signer=version.maker)
