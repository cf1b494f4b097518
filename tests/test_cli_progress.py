"""Progress of long work, off a terminal: plain lines a log can keep."""

from node.progress import progress, sending


def test_a_line_every_tenth_and_none_when_hidden(capsys):
    with progress("import", 1000) as advance:
        for _ in range(40):
            advance(25)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"import: {n}/1000 entries ({n // 10}%)" for n in range(100, 1001, 100)]
    with progress("publish", 3, show=False) as advance:
        advance(3)
    assert capsys.readouterr().err == ""


def test_one_blocking_call_says_when_it_starts_and_ends(capsys):
    with progress("sync now every peer"):
        pass
    started, done = capsys.readouterr().err.splitlines()
    assert started == "sync now every peer: started" and done.startswith("sync now every peer: done in ")


def test_a_stream_counts_the_entries_of_each_message_it_sends():
    class Chunk:
        def __init__(self, n):
            self.entries = [None] * n

    counted = []
    assert len(list(sending([Chunk(500), Chunk(120)], counted.append))) == 2
    assert counted == [500, 120]
