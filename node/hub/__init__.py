"""The hub side of the cascade, at the national node: one shared set of peer channels, the pull
schedule, applying pulled batches and snapshot slices exactly once, verifying digests, the
operator's view of every peer, and the courier that delivers requests between nodes.

May import: node.store, node.catalog, node.source (its dataclasses), node.sharing,
node.wire (to decode what a peer streams), node.proto, node.config.
"""
