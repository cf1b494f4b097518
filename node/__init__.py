"""The node every role runs: the core shared by the national hub, provincial and ministry nodes.

Rooms, each a subpackage that opens with what lives there (what each may import: the table of
rooms in docs/architecture.md, kept by tests/test_layering.py):

    model/     plain data and its rules: the entry, regions, search tokens, the request and its
               merge rule, working days, mounts and grants, the cascade's cursor, batch and peer
    store/     the SQLite file: transactions, change log, epoch, migrations, each concern's tables
    wire.py    protobuf messages to and from the plain data, the one codec
    catalog/   publishing and reading entries at a node, responsibility lists in and out
    sharing/   sharing requests at a node: the workflow, the outbox rows of the hub, the scorecard
    exchange/  the data exchange: mounted sources, grants, FetchData relayed through the hub
    source/    the source side of the cascade: PullChanges, Snapshot, digests; the link to the hub
    hub/       the hub side: peer channels, pull schedule, apply, verify, operator view, courier,
               cross-source checks
    security/  PKI, TLS credentials, department tokens, the authorization table, the audit trail
    metrics/   Prometheus metrics
    api/       the gRPC edge: servicers, error -> status mapping, the guard before every call

and beside them: config (YAML -> frozen dataclasses), crosschecks (a hub's cross-source checks
as configured) and config_rules (the Reader and value
checks it shares with compose files), roles (what differs by role), server (the Node that
builds and wires every part), and the foundations every room may use: background (the loop
every job runs), csvcells, errors, logs, paging, progress, times, workers. The `cascade` command is the
top-level package cli/, outside the node.
Data flows one way: api -> catalog / sharing / exchange / source / hub -> store -> model.
"""
