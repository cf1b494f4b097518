"""Progress of long work, off a terminal: plain lines a log can keep, for the CLI's commands,
the harness and the simulator alike."""

from node.progress import Progress, progress, sending


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


def test_a_run_over_simulated_time_says_each_tenth_what_is_going_on_and_notes_between(capsys):
    day = 86400
    shown = Progress("smoke", 10 * day, unit=None, live=False)
    for hour in range(0, 10 * 24 + 1, 6):
        shown.update(hour * 3600, text=f"day {hour // 24}")
        if hour == 48:
            shown.note("2026-03-04 09:00 fault begin: partition hebei")
    shown.close()
    shown.close()  # a run closes it after playing and again on its way out: said once
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == ["smoke: 10% day 1", "smoke: 20% day 2", "2026-03-04 09:00 fault begin: partition hebei"]
    assert lines[-1] == "smoke: 100% day 10" and len(lines) == 11


def test_a_fetch_learns_its_total_on_the_way(capsys):
    shown = Progress("req-7", unit="rows", live=False)
    shown.update(0, 2000)
    shown.update(1000, 2000)
    shown.update(2000, 2000)
    shown.close()
    assert capsys.readouterr().err.splitlines() == ["req-7: started", "req-7: 1000/2000 rows (50%)",
                                                    "req-7: 2000/2000 rows (100%)"]
