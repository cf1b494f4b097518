"""The chain in the order a call meets it, built once for the node, and the watchdog it starts
and stops with the server."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from node.api.interceptors.authorization import Authorization
from node.api.interceptors.decoding import Decoding
from node.api.interceptors.denials import DenialAudit, Denials
from node.api.interceptors.identity import Identity
from node.api.interceptors.slots import Slots
from node.api.interceptors.timing import Timing
from node.api.interceptors.watchdog import IdleStreams, IdleWatchdog
from node.config import Config
from node.security import authz
from node.store import Store


def chain(config: Config, store: Store, workers: int, log, observe: Callable[[str, str, float], None] | None = None,
          ) -> tuple[list[grpc.ServerInterceptor], IdleWatchdog, Denials]:
    """The interceptors, first met first, the watchdog the idle one reports to, and the denial
    audit they share (flushed when the node stops).

    config: the node's Config (its tls, hub and peers, limits).
    workers: threads of the server's pool. observe(method, status code name, seconds): told of
    every call when the node has metrics on.
    """
    denials = Denials(store, log, fold_seconds=config.limits.denial_fold_seconds)
    secure = config.tls is not None
    policy = authz.Policy(config.hub_id, (p.id for p in config.peers), data_authority=config.data_authority,
                          departments=(d.code for d in config.departments)) if secure else None
    watchdog = IdleWatchdog(config.limits.idle_stream_seconds, log)
    interceptors = [
        *([Timing(observe)] if observe is not None else []),  # first: refusals are timed and counted too
        Decoding(),  # what: bytes that are no request end here, as INVALID_ARGUMENT
        Identity(secure, store, denials, config.node_id),  # who: the certificate, the token
        Authorization(policy, denials),  # may they: the table
        # how many at once: only callers let in
        Slots(config.limits.max_calls_per_caller, config.limits.max_fetches_per_department, workers, denials,
              per_caller_keyed=config.limits.max_keyed_calls_per_caller),
        IdleStreams(watchdog),  # how long a stream may idle
        DenialAudit(denials),  # last, around the servicer: the domain's refusals, the actor of its writes
    ]
    return interceptors, watchdog, denials


class Guard:
    """The chain the node's server is built with (`interceptors`), and start()/stop() for its watchdog."""

    def __init__(self, config: Config, store: Store, workers: int, log,
                 observe: Callable[[str, str, float], None] | None = None):
        self.interceptors, self.watchdog, self.denials = chain(config, store, workers, log, observe)

    def start(self) -> None:
        self.watchdog.start()

    def stop(self) -> None:
        """After the server has stopped, before the store closes: the folded refusals go on the trail."""
        self.watchdog.stop()
        self.denials.flush()
