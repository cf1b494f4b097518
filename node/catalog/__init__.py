"""The catalog at one node: publishing (codes, versions, ownership, tombstones), reading,
listing and searching entries (`publishing.py`), and responsibility lists in and out of Excel and
CSV (`lists/`). The entry itself and its rules are plain data in node/model
(the field's rules: docs/domain.md).

What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py.
"""
