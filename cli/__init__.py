"""The `cascade` command, the top of the house: it may import every package of the project and
none imports it. One module a command group:

    node_commands  node run, check-config, backup, restore (node init in init)
    entries        entry ...; lists adds entry import and entry export (.xlsx or .csv)
    hub            status, sync now, verify
    requests       requests ...; request_steps adds the lifecycle's steps (review, extend, ...)
    scorecard      scorecard [export]: the evaluation by period
    corrections    corrections file, answer, show, list
    data           data mount, show, fetch, query, verify, exchanges, calls: the exchange
    governance     element add, list, show; governance duplicates; data check (quality)
    security       pki, token, audit: files and the node's database, no network
    harness        the compose harness (harness/)
    portal         the web portal (portal/)
    sim            the simulator (sim/)
    deploy         a federation as a kustomize tree for Kubernetes (deploy/)

verify_file reads a file of claims and writes the verdicts for `data verify --in`.
common holds what they share (errors, the client options and the channel they describe, --config,
load_config), tables the one table printer; node/progress.py shows the progress of long work.
Modules that talk to nodes import grpc and node.proto inside their commands, so that `--help`
stays quick.
"""

from __future__ import annotations

import click

from cli import data, deploy, entries, harness, hub, node_commands, portal, requests, scorecard, security, sim
from cli import corrections, governance
from cli import lists  # noqa: F401  (adds entry import and entry export)
from cli import request_steps  # noqa: F401  (adds requests review, resubmit, extend, object, coordinate)


@click.group()
@click.version_option(package_name="catalog-cascade", prog_name="cascade", message="%(prog)s %(version)s")
def main() -> None:
    """catalog cascade: the 1+32+N government data catalog node and its tools."""


# the modules, not their commands, are imported: the `requests` group would hide its module
for _command in (node_commands.node, entries.entry, hub.status, hub.sync, hub.verify, requests.requests,
                 scorecard.scorecard, security.pki, security.token, security.audit_group, data.data,
                 harness.harness, portal.portal, sim.sim, deploy.deploy, governance.element,
                 governance.governance, corrections.corrections):
    main.add_command(_command)
