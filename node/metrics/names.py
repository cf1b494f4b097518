"""Every metric a node exports, with its help text: one place for the code, the dashboard and
the alert rules to agree on (tests/test_metrics.py and tests/test_metrics_dashboard.py check that they do)."""

from __future__ import annotations

# name: (type, labels, help). Counters are named without `_total`: the client library adds it.
METRICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "cascade_node_info": ("gauge", ("node", "role", "region_code"), "The node's id, role and region; always 1."),
    "cascade_rpc_calls": ("counter", ("service", "method", "code"),
                          "gRPC calls this node has served, by service, method and status code."),
    "cascade_rpc_duration_seconds": ("histogram", ("service", "method"),
                                     "Seconds a gRPC call took, from the guard taking it to its last message."),
    "cascade_entries": ("gauge", ("state",), "Catalog entries this node holds: live, or withdrawn (tombstones)."),
    "cascade_change_log_head_seq": ("gauge", (), "Sequence number of the newest change in this node's change log."),
    "cascade_store_size_bytes": ("gauge", (), "Size of the node's SQLite file and its write-ahead log."),
    "cascade_requests": ("gauge", ("state",), "Sharing requests this node holds, by state."),
    "cascade_requests_overdue": ("gauge", (), "Sharing requests waiting past the deadline of their step "
                                              "(a review, the owner's answer, a coordination)."),
    "cascade_requests_escalated": ("gauge", (), "Owners' answers and coordinations past their deadline by the "
                                                "escalation margin (督办), held at this node."),
    "cascade_readers": ("gauge", ("state",), "Reader processes that answer searches and listings: wanted "
                                             "(store.readers), serving."),
    "cascade_reader_answers": ("counter", (), "Searches and listings the reader processes answered."),
    "cascade_keyed_calls": ("counter", ("role", "mode", "outcome"),
                            "Query and verify calls this node took part in since it started, by its part "
                            "(consumer, hub, owner), mode and outcome (answered, refused)."),
    "cascade_keyed_call_keys": ("counter", ("role", "mode", "result"),
                                "Keys asked in the answered query and verify calls, by the node's part, mode and "
                                "result: hit (found; a verification that matched), mismatch, not_found."),
    "cascade_corrections": ("gauge", ("state",), "Correction notices this node holds, by state."),
    "cascade_corrections_overdue": ("gauge", (), "Open correction notices past their answer deadline."),
    # The hub's view of each peer.
    "cascade_peer_cursor_seq": ("gauge", ("peer",), "Change-log sequence the hub has applied up to, per peer."),
    "cascade_peer_head_seq": ("gauge", ("peer",), "Newest change-log sequence the hub knows the peer has."),
    "cascade_peer_changes_behind": ("gauge", ("peer",), "Changes of the peer's log the hub has not pulled yet."),
    "cascade_peer_last_success_age_seconds": (
        "gauge", ("peer",), "Seconds since the last successful pull of the peer (since the hub started, "
                            "for a peer never pulled)."),
    "cascade_peer_pull_interval_seconds": ("gauge", ("peer",), "The peer's configured pull interval."),
    "cascade_peer_consecutive_failures": ("gauge", ("peer",), "Failed pulls of the peer since its last success."),
    "cascade_peer_backoff_seconds": ("gauge", ("peer",), "Current backoff before the next pull of a failing peer."),
    "cascade_peer_resyncs": ("counter", ("peer",), "Full resyncs of the peer from a snapshot."),
    "cascade_peer_refused_entries": ("gauge", ("peer",),
                                     "Entries of the peer refused for their origin, region or rules."),
    "cascade_peer_conflicts": ("gauge", ("peer",),
                               "Entries of the peer refused because another origin holds the code."),
    "cascade_peer_entries": ("gauge", ("peer",), "Live entries of the peer in the hub's copy."),
    "cascade_peer_up": ("gauge", ("peer",), "1 when the last pull of the peer succeeded, else 0."),
    "cascade_peer_digest_equal": (
        "gauge", ("peer",), "Last conclusive Verify of the peer: 1 when the hub's copy equals the peer's entries, "
                            "0 when it differs with nothing left to pull."),
    "cascade_peer_digest_verified_timestamp_seconds": ("gauge", ("peer",),
                                                       "Unix time of the peer's last conclusive digest verdict."),
    "cascade_outbox_deliveries": ("gauge", ("target",), "Request and correction versions the hub's courier still has to deliver."),
    "cascade_outbox_oldest_age_seconds": (
        "gauge", ("target",), "Seconds since the oldest request version waiting for the target was made."),
    "cascade_elements_registry_version": ("gauge", (), "Version of the registry of data elements this node holds."),
    "cascade_duplicate_collections": ("gauge", ("department",),
                                      "Hub: elements a department collects while another is their source."),
    "cascade_metrics_collect_errors": ("counter", ("section",),
                                       "Scrapes that could not read part of the node's state."),
}

