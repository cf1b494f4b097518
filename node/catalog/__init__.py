"""The catalog: the entry and its rules (docs/domain.md), region codes, search tokens, and publishing
and reading entries at one node.

May import: node.errors, node.paging, node.times, node.store. Never gRPC.
"""
