"""The hub side of the cascade, at the national node: one shared set of peer channels, the pull
schedule, applying pulled batches and snapshot slices exactly once, verifying digests, the
operator's view of every peer, the courier that drains the outbox to the nodes a request or a
correction concerns, and the cross-source checks (`crosscheck.py`).

What it may import: the README's table of rooms, kept by tests/test_layering.py.
"""
