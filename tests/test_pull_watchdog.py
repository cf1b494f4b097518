"""The hub's pull watchdog: a pull still running past its deadline shows as `overdue` in Status
(with how far past), is logged once with where it waits, and clears when the pull ends. The
middle is held open by a long write at the hub: the pull has its batch and waits for the writer."""

from conftest import PEERS, make_entry, wait_until
from node import wire
from node.proto import admin_pb2, catalog_pb2

DEADLINE = 1.0


class RecordingLog:
    """The scheduler's log, with its warnings also kept for the test to read."""

    def __init__(self, log):
        self.log = log
        self.warnings: list[tuple[str, dict]] = []

    def warning(self, event, **fields):
        self.warnings.append((event, fields))
        self.log.warning(event, **fields)

    def __getattr__(self, name):
        return getattr(self.log, name)


def test_a_pull_held_past_its_deadline_is_shown_overdue_and_logged_once(cluster):
    c = cluster(peers={"hebei": PEERS["hebei"]},
                hub_extra={"sync": {"call_deadline": DEADLINE, "backoff_initial": 0.05, "backoff_max": 0.5}})
    c.sync()  # the first pull, made at start, is out of the way
    scheduler = c.hub.node.scheduler
    log = scheduler.log = RecordingLog(scheduler.log)
    c.peers["hebei"].catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(make_entry())))

    with c.hub.node.store.transaction():  # a long write at the hub: the pull's batch waits for the writer
        c.hub.admin.SyncNow(admin_pb2.SyncNowRequest(peer="hebei"))
        held = wait_until(lambda: c.status()["hebei"], 30, "Status to show the pull of Hebei overdue",
                          until=lambda s: s.state == "overdue")
        assert held.pulling and held.overdue_seconds > 0 and held.pulling_seconds > DEADLINE
        overdue = wait_until(lambda: [f for e, f in log.warnings if e == "sync.pull_overdue"], 10,
                             "the watchdog's log line")
        # held on for two deadlines more: still one line
        wait_until(lambda: c.status()["hebei"].overdue_seconds, 30, "the pull to stay held",
                   until=lambda seconds: seconds > 2 * DEADLINE)
        assert len([e for e, _ in log.warnings if e == "sync.pull_overdue"]) == 1
        (line,) = overdue
        assert line["peer"] == "hebei" and line["deadline_seconds"] == DEADLINE
        assert "transaction (database.py" in line["waiting_in"] and "puller.py" in line["waiting_in"]

    done = wait_until(lambda: c.status()["hebei"], 30, "the pull to finish once the writer is free",
                      until=lambda s: not s.pulling)
    assert done.state != "overdue" and done.overdue_seconds == 0
