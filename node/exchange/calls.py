"""Query and Verify at any node, in its part of the path, exactly as FetchData goes
(node/exchange/relay.py): the consumer's node checks that the request is one of its
department's and passes the call to its hub; the hub checks that the calling node is the
request's consumer's and passes it to the owner's node; the owner's node answers
(node/exchange/answers.py). Each hop calls the next over the channel it already holds, and
counts the call (node/exchange/usage.py): a refusal as a refusal, never as served.

    consumer department -> its node -> hub -> owner's node -> the source's index
"""

from __future__ import annotations

import hashlib
import time
from typing import Callable, Mapping

import grpc

from node.errors import FailedPrecondition, InvalidRequest, NotFound, PermissionDenied, Unavailable
from node.exchange.coalesce import Coalescer, single
from node.exchange.answers import MATCH, MISMATCH, NOT_FOUND, Answers
from node.exchange.relay import BROKEN, Exchange, Upstream
from node.exchange.usage import CallBook
from node.model.request import Request
from node.proto import exchange_pb2

QUERY = "/node.proto.Exchange/Query"
VERIFY = "/node.proto.Exchange/Verify"
MESSAGES = {"query": (QUERY, exchange_pb2.QueryRequest, exchange_pb2.QueryResponse),
            "verify": (VERIFY, exchange_pb2.VerifyClaimsRequest, exchange_pb2.VerifyClaimsResponse)}


def _unary(mode: str) -> Callable[[grpc.Channel], Callable]:
    path, request, response = MESSAGES[mode]
    return lambda channel: channel.unary_unary(path, request_serializer=request.SerializeToString,
                                               response_deserializer=response.FromString)


def query_keys(message: exchange_pb2.QueryRequest) -> list[dict[str, str]]:
    if message.key and message.keys:
        raise InvalidRequest("keys", "ask by `key` or by `keys`, not both")
    return [plain(k.items) for k in message.keys] if message.keys else [plain(message.key)] if message.key else []


def verify_claims(message: exchange_pb2.VerifyClaimsRequest) -> list[tuple[dict[str, str], dict[str, str]]]:
    if (message.key or message.claims) and message.batch:
        raise InvalidRequest("batch", "send `key` and `claims`, or `batch`, not both")
    if message.batch:
        return [(plain(c.key), plain(c.claims)) for c in message.batch]
    return [(plain(message.key), plain(message.claims))] if message.key or message.claims else []


def plain(field) -> dict[str, str]:
    """A message's map field as a dict. dict(field) goes through the Mapping ABC, a Python call
    per item; on the owner's node, for every claim of every batch, that cost a tenth of a batch."""
    return {name: field[name] for name in field}


def calls_in(message) -> int:
    """How many calls a message is: one, or one per key of a batch the consumer's node made of
    single calls (node/exchange/coalesce.py)."""
    return len(message.call_ids) or 1


def tally(mode: str, reply) -> dict[str, int]:
    """What a reply served: keys asked, hits, not found, mismatches."""
    if mode == "query":
        found = [len(a.rows) > 0 for a in reply.answers] if reply.answers else [len(reply.rows) > 0]
        return dict(keys=len(found), hits=sum(found), not_found=len(found) - sum(found))
    overall = [v.overall for v in reply.verdicts] if reply.verdicts else [reply.overall]
    return dict(keys=len(overall), hits=overall.count(MATCH), not_found=overall.count(NOT_FOUND),
                mismatches=overall.count(MISMATCH))


class Calls:
    """Query and Verify at this node: the path and the checks of `exchange` (its store, node,
    hub and channels), the answers of the owner's node, and the book of calls."""

    def __init__(self, exchange: Exchange, answers: Answers, book: CallBook):
        self.exchange = exchange
        self.answers = answers
        self.book = book
        self.coalescer = Coalescer(self._onward)  # to the next hop
        self.here = Coalescer(self._answer_here)  # to the owner's part, when the owner is this node

    def check_party(self, request_id: str, department_code: str) -> None:
        """That the department is a party (consumer or owner) of the request held here: a
        department sees the counts of its own requests' calls only."""
        if not request_id:
            raise InvalidRequest("request_id", "a department asks for the calls of one of its requests")
        request = self.exchange.store.get_request(request_id)
        if request is None or department_code not in (request.consumer_code, request.owner_code):
            raise NotFound(f"request_id: no request {request_id} of department {department_code} at node "
                           f"{self.exchange.node_id}")

    def call(self, mode: str, message, timeout: float | None = None):
        """The reply to a Query or Verify message (mode "query" or "verify") in this node's part."""
        ex = self.exchange
        role = "consumer" if not message.from_node else "hub" if ex.is_hub else "owner"

        def part():
            if role != "owner":
                return self._route(mode, message, ex.store.get_request(message.request_id), role, timeout)
            if message.from_node != ex.hub_id:
                raise PermissionDenied(f"from_node: only this node's hub ({ex.hub_id}) relays a {mode} here")
            return self._answer(mode, message)

        return self._counted(role, mode, message, part)

    def _counted(self, role: str, mode: str, message, part: Callable[[], object]):
        """part()'s reply, counted in this node's book under `role`: a refusal as a refusal."""
        started = time.monotonic()
        try:
            reply = part()
        except Exception:
            self.book.count(message.request_id, role, mode, calls=calls_in(message), refused=True,
                            seconds=time.monotonic() - started)
            raise
        self.book.count(message.request_id, role, mode, calls=calls_in(message), seconds=time.monotonic() - started,
                        **tally(mode, reply))
        return reply

    def _route(self, mode: str, message, request: Request | None, role: str, timeout):
        ex, request_id = self.exchange, message.request_id
        if role == "consumer":
            if request is None or request.consumer_node != ex.node_id:
                raise NotFound(f"request_id: no request {request_id} of a department of node {ex.node_id}")
        else:
            if request is None:
                raise NotFound(f"request_id: the hub has no request {request_id} (yet)")
            if message.from_node != request.consumer_node:
                raise PermissionDenied(f"from_node: request {request_id} is not one of node {message.from_node}'s")
        if message.consumer_code != request.consumer_code:
            raise PermissionDenied(f"consumer_code: {message.consumer_code or '(none)'} is not the consumer of "
                                   f"request {request_id}")
        if request.owner_node == ex.node_id:  # the owner is this node: its calls go on together to its own part
            if role == "consumer" and single(mode, message):
                return self.here.call(mode, message, timeout)
            return self._answer_here(mode, message)
        if ex.is_hub and not request.owner_node:
            raise FailedPrecondition("no_owner", f"request {request_id} has no owner's node")
        if not ex.is_hub and ex.hub_stub is None:
            raise Unavailable(f"node {ex.node_id} has no link to its hub (`hub:` in its config)")
        if role == "consumer" and single(mode, message):  # it may go on with others on the same grant
            return self.coalescer.call(mode, message, timeout)
        return self._onward(mode, message, timeout, request)

    def _answer_here(self, mode: str, message, timeout: float | None = None):
        """The owner's part at this node, for a department of its own; counted as the owner's too."""
        return self._counted("owner", mode, message, lambda: self._answer(mode, message))

    def _onward(self, mode: str, message, timeout: float | None, request: Request | None = None):
        """The reply of the next hop: the owner's node (from the hub, which names the request it
        read), else the hub."""
        ex = self.exchange
        if ex.is_hub:
            owner = request.owner_node
            call, hop = ex.peer_stub(owner, _unary(mode)), f"the owner's node {owner}"
        else:
            call, hop = ex.hub_stub(_unary(mode)), "the hub"
        onward = type(message)()
        onward.CopyFrom(message)
        onward.from_node = ex.node_id
        try:
            return call(onward, timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() in BROKEN:
                raise Unavailable(f"{hop} cannot be reached or broke off ({exc.code().name}: {exc.details()})") from None
            raise Upstream(exc.code(), exc.details() or exc.code().name) from None

    def _answer(self, mode: str, message):
        """The owner's part: the answer from the source, and the keys asked on the audit trail."""
        if mode == "query":
            keys = query_keys(message)
            audited = self._hashes(message, keys)  # a query's call ids are bound to its keys alone
            columns, answers = self.answers.query(message.request_id, message.consumer_code, keys,
                                                  *self._call_ids(message, audited))
            reply = exchange_pb2.QueryResponse(columns=columns)
            if message.keys:
                for rows in answers:
                    reply.answers.add().rows.extend(exchange_pb2.Row(values=r) for r in rows)
            else:
                reply.rows.extend(exchange_pb2.Row(values=r) for r in answers[0])
        else:
            claims = verify_claims(message)
            keys = [key for key, _ in claims]
            audited = self._hashes(message, keys)
            bound = []  # a verification's call ids are bound to its key and claims (no id sent: none to bind)
            if message.call_id or message.call_ids:
                bound = self._hashes(message, [{**key, **{f"claim {item}": value for item, value in claimed.items()}}
                                               for key, claimed in claims])
            verdicts = self.answers.verify(message.request_id, message.consumer_code, claims,
                                           *self._call_ids(message, bound))
            reply = exchange_pb2.VerifyClaimsResponse()
            if message.batch:
                for v in verdicts:
                    results = reply.verdicts.add(overall=v.overall).results
                    for item, result in v.results.items():  # add(results=...) goes through the Mapping ABC's update
                        results[item] = result
            else:
                reply.results.update(verdicts[0].results)
                reply.overall = verdicts[0].overall
        self.book.audit(message.request_id, message.consumer_code, mode, audited)
        return reply

    def _hashes(self, message, asked: list[Mapping[str, str]]) -> list[str]:
        return [self.book.key_hash(message.request_id, question) for question in asked]

    def _call_ids(self, message, hashes: list[str]) -> tuple[str, list[str]]:
        """The message's call id and call ids, each bound to what its call asks (`hashes`: the
        keyed hash of each key, and of its claims for a verification): a retry asks the same and
        counts once, while an id sent again with another question is a new call, charged as one.
        A single call is bound the same way whether it comes alone or in a batch the consumer's
        node made (`call_ids`), so that a call retried after its batch broke off, now alone or in
        another batch, is still the call that was counted."""
        if message.call_ids:
            return "", [f"{call_id}/{h}" for call_id, h in zip(message.call_ids, hashes)]
        if not message.call_id:
            return "", []
        if len(hashes) == 1:
            return f"{message.call_id}/{hashes[0]}", []
        return f"{message.call_id}/{hashlib.sha256(' '.join(hashes).encode()).hexdigest()[:16]}", []
