"""The data exchange (共享交换): sources mounted on entries, the owner's node streaming the
granted rows of a request, the relay through the hub, and the record of every exchange.

    access.py     each department's own places and credentials, checked at mounting and at every open
    sources.py    reading a source: SQLite table or view, CSV, XLSX, HTTP JSON; one protocol
    mounts.py     mounting a source on an entry (checks, coverage of the data items), config mounts
    digest.py     the hash of a result's rows, the same at the owner and at the consumer
    provider.py   the owner's node: check the request, project and filter, stream chunks from an offset
    relay.py      FetchData at any node: the consumer's node and the hub pass the stream on, the owner serves it
    records.py    the record of each exchange at each node it passes
    client.py     the consumer's side: rows to a CSV or JSON-lines file, resumed, retried, hash checked

Mount, Grant and ExchangeRecord are plain data in node/model/exchange.py.
What it may import: the README's table of rooms, kept by tests/test_layering.py.
"""
