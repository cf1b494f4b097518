"""The hub side of the cascade, at the national node: one shared set of peer channels, the pull
schedule, applying pulled batches and snapshot slices exactly once, verifying digests, the
operator's view of every peer, and the courier that drains the outbox to the nodes a request
concerns.

What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py.
"""
