"""Sharing requests (供需对接) at a node: filing, arrival at the owner's node, decisions and
withdrawals (`workflow.py`), correction notices (校核纠错, `corrections.py`), the signing of both
(`seals.py`), and the scorecard. The request, its merge rule and the working-day
calendar are plain data in node/model. A relaying node (the hub) queues each new version in its
outbox in the same transaction; the hub's courier drains it.

What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py. Never gRPC.
"""
