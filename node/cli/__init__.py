"""The `cascade` command: run a node, check a config, and talk to nodes as an operator.

One module a command group: node_commands (node run, check-config, backup, restore), entries
(entry ...), hub (status, sync now, verify), requests (requests ..., scorecard), data (data mount,
show, fetch: the exchange), security (pki, token, audit: files and the node's database, no
network); common holds what they share (errors,
the client options and the channel they describe, --config, load_config), tables the one table
printer. The compose harness (harness/cli.py) hangs under `cascade harness`.
lists adds `entry import` and `entry export` (responsibility lists as .xlsx or .csv) to the
entry group; node.progress shows the progress of long work (a bar on a terminal, lines in a log).

May import: node.config, node.catalog.rules, node.sharing.model, node.security.tokens and .audit;
inside the commands that need them (kept out of start-up so `--help` is quick), node.security.pki
and .client, node.store, and for the commands that call a node grpc, node.proto, node.api.serde
and node.exchange.client.
"""

from __future__ import annotations

import click

from node.cli import data, entries, hub, node_commands, requests, security
from node.cli import lists  # noqa: F401  (adds entry import and entry export)


@click.group()
def main() -> None:
    """catalog cascade: the 1+32+N government data catalog node and its tools."""


# the modules, not their commands, are imported: the `requests` group would hide its module
for _command in (node_commands.node, entries.entry, hub.status, hub.sync, hub.verify, requests.requests,
                 requests.scorecard, security.pki, security.token, security.audit_group, data.data):
    main.add_command(_command)


def _add_harness() -> None:
    """The compose harness ships in the same distribution; its commands hang under `cascade harness`."""
    from harness.cli import harness

    main.add_command(harness)


_add_harness()


def _add_portal() -> None:
    """The web portal ships in the same distribution; `cascade portal` serves it."""
    from portal.cli import portal

    main.add_command(portal)


_add_portal()


def _add_sim() -> None:
    """The simulator's command group (sim/ is imported only when a simulation runs)."""
    from node.cli.sim import sim

    main.add_command(sim)


_add_sim()
