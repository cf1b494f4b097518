"""Properties of a correction's states: whatever the order in which copies travel between the
filer's node, the hub and the owner's node, delivered late, twice or out of order, every copy
ends the same, the owner's node opens each correction once and answers it at most once."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from conftest import make_entry
from node.model.calendar import Calendar
from node.model.correction import PRECEDENCE, Correction, newer
from node.model.request import Request
from node.sharing.corrections import Corrections
from node.store import Store

OWNER, FILER = "440300002", "130100005"
ENTRY = dataclasses.replace(make_entry(OWNER, 1), origin="guangdong", version=1)
AT = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)
GRANT = Request(request_id="hebei-1", consumer_code=FILER, consumer_node="hebei", resource_code=ENTRY.resource_code,
                owner_code=OWNER, owner_node="guangdong", purpose="p", basis="b", data_items=("企业名称",),
                share_type="unconditional", state="granted", reason="", version=2, created_at=AT, updated_at=AT)
# Where a copy made (or held) at a node travels next: through the hub, the one route between nodes.
ROUTES = {"hebei": ("national",), "guangdong": ("national",), "national": ("hebei", "guangdong")}

actions = st.lists(st.one_of(
    st.tuples(st.just("file")),
    st.tuples(st.just("answer"), st.sampled_from(("corrected", "no_fault", "rejected"))),
    st.tuples(st.just("capture"), st.sampled_from(sorted(ROUTES))),
    st.tuples(st.just("deliver"), st.integers(0, 50)),
), max_size=30)


class Federation:
    def __init__(self, folder: str):
        self.nodes = {}
        for node_id in ROUTES:
            store = Store(f"{folder}/{node_id}.db", synchronous="off")
            self.nodes[node_id] = Corrections(
                store, node_id, {"hebei": {FILER}, "guangdong": {OWNER}}.get(node_id, set()), Calendar(),
                lookup=lambda code: ENTRY, clock=lambda: AT, relays=node_id == "national")
        with self.nodes["guangdong"].store.transaction() as tx:
            tx.put_entries([ENTRY], log=False)
        self.in_flight: list[tuple[str, str, object]] = []  # (from, to, copy)

    def capture(self, node_id: str) -> None:
        for copy in self.nodes[node_id].store.all_corrections():
            self.in_flight += [(node_id, target, copy) for target in ROUTES[node_id]]

    def deliver(self, index: int) -> None:
        if self.in_flight:
            source, target, copy = self.in_flight.pop(index % len(self.in_flight))
            self.nodes[target].receive(copy, source)

    def settle(self) -> None:
        for _ in range(4):  # filer -> hub -> owner -> hub -> filer: four hops at most
            for node_id in ROUTES:
                self.capture(node_id)
            while self.in_flight:
                self.deliver(0)

    def close(self) -> None:
        for corrections in self.nodes.values():
            corrections.store.close()


@settings(max_examples=60, deadline=None)
@given(actions)
def test_copies_converge_and_each_correction_is_opened_once_and_answered_at_most_once(steps):
    folder = tempfile.mkdtemp(prefix="cascade-corrections-")
    fed = Federation(folder)
    try:
        for step in steps:
            if step[0] == "file":
                fed.nodes["hebei"].file_checked(GRANT, ["企业名称"], {"统一社会信用代码": "91440300MA5X"}, "不一致")
            elif step[0] == "answer":
                owner = fed.nodes["guangdong"]
                for held in owner.store.all_corrections():
                    if held.state == "open":
                        owner.answer(held.correction_id, OWNER, step[1], "理由")
                        break
            elif step[0] == "capture":
                fed.capture(step[1])
            else:
                fed.deliver(step[1])
        fed.settle()
        copies = {node_id: {c.correction_id: c for c in n.store.all_corrections()} for node_id, n in fed.nodes.items()}
        assert copies["hebei"].keys() == copies["national"].keys() == copies["guangdong"].keys()
        for correction_id, at_owner in copies["guangdong"].items():
            versions = {(copies[n][correction_id].version, copies[n][correction_id].state) for n in copies}
            assert len(versions) == 1, f"copies of {correction_id} differ: {versions}"
            states = [e.state for e in at_owner.history]
            assert states[:2] == ["filed", "open"] and states.count("open") == 1
            assert len(states) <= 3 and at_owner.version == len(states)
    finally:
        fed.close()
        shutil.rmtree(folder, ignore_errors=True)


versions = st.builds(lambda v, s, r: (v, s, r), st.integers(1, 4), st.sampled_from(sorted(PRECEDENCE)),
                     st.sampled_from(("", "a", "b")))


@given(st.lists(versions, min_size=1, max_size=8), st.randoms())
def test_the_merge_rule_keeps_the_same_copy_whatever_the_order(seen, rng):
    """`newer` picks one winner among any versions, in any order of arrival, applied any number of times."""
    made = [dataclasses.replace(_base(), version=v, state=s, reason=r) for v, s, r in seen]

    def winner(order):
        held = None
        for copy in order:
            if newer(copy, held):
                held = copy
        return (held.version, held.state, held.reason)

    shuffled = made + made[: len(made) // 2]
    rng.shuffle(shuffled)
    expected = max(seen, key=lambda t: (t[0], PRECEDENCE[t[1]], t[2]))
    assert winner(made) == winner(shuffled) == expected


def _base() -> Correction:
    return Correction(correction_id="hebei-x", filer_code=FILER, filer_node="hebei", resource_code=ENTRY.resource_code,
                      owner_code=OWNER, owner_node="guangdong", data_items=("企业名称",), kind="wrong_value",
                      evidence="e", key_items=("统一社会信用代码",), sealed_key=b"plain:{}", state="filed", reason="",
                      version=1, created_at=AT, updated_at=AT)
