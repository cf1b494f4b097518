"""The role registry: what a national, provincial or ministry node does differently.

Each role package (national/, provincial/, ministry/) defines one `ROLE`; everything else is
shared. Code asks the role (config: may it have peers? which region codes fit it? the node:
which background jobs run?), never compares role names.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable, Protocol

NAMES = ("national", "provincial", "ministry")


class Job(Protocol):
    """A background loop a role runs beside the gRPC server."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Jobs:
    """The background jobs a node has built; its role picks the ones that run."""

    compactor: Job  # keeps the change log short
    notifier: Job  # tells the hub after a local write (does nothing without a `hub:`)
    scheduler: Job | None = None  # the hub's pull schedule
    courier: Job | None = None  # the hub's deliveries of requests between nodes


@dataclasses.dataclass(frozen=True)
class Role:
    name: str
    title: str
    # The background jobs this role runs, chosen from those the node has built.
    jobs: Callable[[Jobs], list[Job]]
    # Why a region code does not fit a node of this role, or None when it does.
    region_rule: Callable[[str], str | None]
    # Whether this node is the hub: it pulls peers, routes requests between them and answers
    # operators' sync and verify calls.
    pulls_peers: bool = False


def get(name: str) -> Role:
    """The role of that name, from its package."""
    if name not in NAMES:
        raise KeyError(f"unknown role {name!r}")
    return importlib.import_module(name).ROLE


def hub_roles() -> tuple[str, ...]:
    return tuple(n for n in NAMES if get(n).pulls_peers)


def pulled_roles() -> tuple[str, ...]:
    """The roles whose nodes a hub pulls."""
    return tuple(n for n in NAMES if not get(n).pulls_peers)
