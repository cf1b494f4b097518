"""Plain data and the rules on it, with no I/O: what every other room of the node speaks.

    rules.py     the catalog entry, its data items and the rules they must meet (docs/domain.md)
    regions.py   region codes (GB/T 2260) and which node may hold which
    search.py    search tokens: CJK bigrams and Latin/digit words, for the store's FTS5 index
    request.py   the sharing request, its states and history, the merge rule, arrival, routing
    calendar.py  working days for deadlines: the State Council's, from the chinesecalendar package
    exchange.py  a mounted source, what a grant lets out, the record of one exchange
    sync.py      the cascade: cursor, change-log row, batch, snapshot slice, the hub's peer row
                 and what an operator sees of a peer, digests and verdicts

What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py.
"""
