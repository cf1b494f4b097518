"""The guard in front of every call: a chain of gRPC server interceptors, one concern each, in
the order a call meets them (chain.py):

    timing.py         every call counted and timed, refusals included (node/metrics feeds on it)
    decoding.py       request bytes that do not decode: INVALID_ARGUMENT, not INTERNAL
    identity.py       who is calling: the client certificate, the bearer token
    authorization.py  whether the table (node/security/authz.py) lets them, request and reply
    slots.py          how many calls each caller may have under way, per budget; fetches per department
    watchdog.py       streams that go idle are cancelled
    denials.py        every refusal on the audit trail; the caller named on what the call writes

What an interceptor learns of the call (who is calling, the rule that let them in) reaches the
ones after it and the servicers through context variables (call.py, node.security.audit).

May import: node.security, node.errors, node.background, node.api.status_codes, grpc; the store is
handed in.
"""

from node.api.interceptors.chain import Guard, chain

__all__ = ["Guard", "chain"]
