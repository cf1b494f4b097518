"""The hub side of the cascade, at the national node: one shared set of peer channels, the pull
schedule, applying pulled batches and snapshot slices exactly once, verifying digests, the
operator's view of every peer, the courier that drains the outbox to the nodes a request or a
correction concerns, the cross-source checks (`crosscheck.py`), and the peers' own scorecard
figures gathered for the hub's (reports.py).

What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py.
"""
