"""The source side of the cascade, at every node: the change log served as batches after a
cursor, consistent snapshots for a resync, digests, and the link to the node's hub (Notify).

What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py.
"""
