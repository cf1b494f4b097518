"""The node every role runs: the core shared by the national hub, provincial and ministry nodes.

Rooms, each a subpackage that opens with what lives there and what it may import:

    catalog/   the entry and its rules, region codes, search tokens, publishing at a node,
               responsibility lists in and out of Excel/CSV
    store/     the SQLite file: transactions, change log, epoch, migrations, each concern's tables
    source/    the source side of the cascade: PullChanges, Snapshot, digests; the link to the hub
    hub/       the hub side: peer channels, pull schedule, apply, verify, operator view, courier
    sharing/   sharing requests: the merge rule, deadlines, the workflow, the scorecard
    exchange/  the data exchange: mounted sources, grants, FetchData relayed through the hub
    security/  PKI, TLS credentials, department tokens, the authorization table, the audit trail
    metrics/   Prometheus metrics
    api/       the gRPC edge: servicers, serde, error -> status mapping, the guard before every call
    cli/       the `cascade` command, one module per command group

and beside them: config (YAML -> frozen dataclasses) and config_rules (the Reader and value
checks it shares with compose files), roles (what differs by role), server (the Node that
builds and wires every part), background (the loop every job runs), errors, logs, paging, times,
progress (a bar on a terminal, lines in a log: for the CLI, the harness and the simulator).
Data flows one way: api -> catalog / sharing / exchange / source / hub -> store.
"""
