"""The gRPC edge: one servicer per service (`*_service.py`) that decodes a request (node/wire.py),
calls the domain and encodes the answer; domain errors mapped to status codes in one place
(`status_codes.py`); the guard in front of every call. Nothing imports node.api but node.server.

What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py.
"""
