"""The source side of the cascade, at every node: the change log served as batches after a
cursor, consistent snapshots for a resync, digests, and the link to the node's hub (Notify).

May import: node.store, node.catalog, node.errors, node.proto (the uplink only).
"""
