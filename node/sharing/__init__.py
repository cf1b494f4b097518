"""Sharing requests (供需对接): the request and its merge rule, working-day deadlines, the
workflow at a node (file, arrive, decide, withdraw) and the scorecard.

May import: node.model.rules, node.store, node.errors, node.paging. Never gRPC.
"""
