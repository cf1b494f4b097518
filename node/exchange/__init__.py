"""The data exchange (共享交换): sources mounted on entries, the owner's node streaming the
granted rows of a request, or answering one record by its key (query, verify), the relay
through the hub, and the record of every exchange and call.

    access.py     each department's own places and credentials, checked at mounting and at every open
    sources.py    reading a source: SQLite table or view, CSV, XLSX, HTTP JSON; one protocol
    mounts.py     mounting a source on an entry (checks, coverage of the data items), config mounts
    digest.py     the hash of a result's rows, the same at the owner and at the consumer
    provider.py   the owner's node: check the request, project and filter, stream chunks from an offset
    relay.py      FetchData at any node: the consumer's node and the hub pass the stream on, the owner serves it
    records.py    the record of each exchange at each node it passes
    lookup.py     a key looked up without a scan: SQLite index, CSV/XLSX lookup index, HTTP URL template
    kept.py       SQLite sources of keyed mounts kept open between look-ups, checked again at each
    answers.py    Query and Verify at the owner's node: rows by key (masked), verdicts by claim
    calls.py      Query and Verify at any node: the path of FetchData, one unary call a hop
    usage.py      the counts of query and verify calls per request and hour; key hashes on the audit trail
    client.py     the consumer's side: rows to a CSV or JSON-lines file, resumed, retried, hash checked
    freshness.py  whether each mounted source is updated as often as its entry promises (更新及时率)

Mount, Grant and ExchangeRecord are plain data in node/model/exchange.py.
What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py.
"""
