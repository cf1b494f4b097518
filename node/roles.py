"""The role registry: what a national, provincial or ministry node does differently.

Each role package (national/, provincial/, ministry/) defines one `ROLE`; everything else
is shared. Code asks the role, never compares role names.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    from node.server import Node


class Job(Protocol):
    """A background loop a role runs beside the gRPC server."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Role:
    name: str
    title: str
    # Background jobs this role runs, built once the node's store and server exist.
    jobs: Callable[["Node"], list[Job]]
    # Whether this node pulls from peers (and so answers operators' sync and verify calls).
    is_hub: bool = False


def get(name: str) -> Role:
    """The role of that name, from its package."""
    if name not in ("national", "provincial", "ministry"):
        raise KeyError(f"unknown role {name!r}")
    return importlib.import_module(name).ROLE
