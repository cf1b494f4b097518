"""The node every role runs: the core shared by the national hub, provincial and ministry nodes.

Rooms, each a subpackage that opens with what lives there and what it may import:

    catalog/   the entry and its rules, region codes, search tokens, publishing at a node
    store/     the SQLite file: transactions, change log, epoch, migrations, each concern's tables
    source/    the source side of the cascade: PullChanges, Snapshot, digests; Notify to the hub
    hub/       the hub side: peer channels, pull schedule, apply, verify, operator view, courier
    sharing/   sharing requests: the merge rule, deadlines, the workflow, the scorecard
    api/       the gRPC edge: servicers, serde, error -> status mapping
    cli/       the `cascade` command, one module per command group

and beside them: config (YAML -> frozen dataclasses), roles (what differs by role), server
(the Node that builds and wires every part), errors, logs, paging, times.
Data flows one way: api -> catalog / sharing / source / hub -> store.
"""
