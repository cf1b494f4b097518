"""What security costs: bulk publish and the hub's initial sync with mutual TLS and a token
checked on every call, against the same runs in plaintext, as ratios (goal: at most 20% slower).

    python bench/security_bench.py [--entries 50000] [--sync-entries 100000] [--peers 8] [--rounds 2]

Each mode runs `rounds` times, alternating, on fresh databases; the best run of each is compared
(the machine's noise only ever slows a run down).

    python bench/security_bench.py --decisions [--round-trips 40] [--sync-entries 20000] [--requests 2000]

measures signed decisions instead (node/sharing/seals.py): signing and checking one request
version (µs), a request's round trip through a TLS federation in this process (hub, Hebei,
Guangdong) and the hub's initial sync of a node holding entries and requests, each with the
signatures made and checked and without (goal: at most 10% slower).
"""

from __future__ import annotations

import argparse

from common import full_federation_compose, report, scratch
from decisions_bench import decisions
from node_bench import grpc_bulk, start_node
from sync_bench import initial_sync, load_peers

from harness.runner import Federation
from harness.seed import entries_for
from node.security import pki, tokens
from node.security.client import Credentials
from node.store import Store

DEPARTMENT = "130100001"


class LocalCredentials:
    """A CA, the node's certificate and an operator's, and a department token per database."""

    def __init__(self, folder):
        self.dir = folder / "pki"
        pki.init_ca(self.dir)
        pki.issue(self.dir, "hebei", hosts=("127.0.0.1",))
        pki.issue(self.dir, "operator", kind="operator", hosts=("127.0.0.1",))
        self.tls = {"cert": str(self.dir / "hebei.pem"), "key": str(self.dir / "hebei.key"),
                    "ca": str(self.dir / "ca.pem")}

    def client(self, database) -> Credentials:
        store = Store(database)
        try:
            with store.transaction() as tx:
                token, _ = tokens.issue(tx.conn, DEPARTMENT)
        finally:
            store.close()
        return Credentials(str(self.dir / "operator.pem"), str(self.dir / "operator.key"), str(self.dir / "ca.pem"),
                           token)


def bulk_publish(folder, entries, call_size: int, credentials, run: int) -> float:
    proc, channel = start_node(folder, credentials, database=f"node-{run}.db")
    try:
        return grpc_bulk(channel, entries, call_size)
    finally:
        channel.close()
        proc.terminate()
        proc.wait(30)


def sync_run(folder, total: int, peers: int, secure: bool, run: int) -> float:
    compose = full_federation_compose(folder, f"sec{run}", interval=5, notify=True, provinces_only=True,
                                      peers=peers, secure=secure,
                                      sync={"max_concurrent": 8, "batch_size": 1000, "call_deadline": 600})
    fed = Federation.up(compose, folder / f"fed-{run}-{secure}")
    try:
        fed.stop(fed.hub_id)
        entries = load_peers(fed, -(-total // len(fed.peer_ids)))
        return len(entries) / initial_sync(fed, len(entries))
    finally:
        fed.down(purge=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=50_000, help="entries bulk-published in each run")
    parser.add_argument("--call-size", type=int, default=5000)
    parser.add_argument("--sync-entries", type=int, default=None,
                        help="entries across the peers in each sync run (default 100,000; with --decisions 20,000)")
    parser.add_argument("--peers", type=int, default=8, help="provincial nodes in each sync run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--decisions", action="store_true", help="measure signed decisions only (see above)")
    parser.add_argument("--round-trips", type=int, default=40, help="with --decisions: requests per mode")
    parser.add_argument("--requests", type=int, default=2000, help="with --decisions: requests in the synced node")
    args = parser.parse_args()
    if args.decisions:
        decisions(args.round_trips, args.sync_entries or 20_000, args.requests, max(args.rounds, 3))
        return
    args.sync_entries = args.sync_entries or 100_000
    entries = list(entries_for(DEPARTMENT, "石家庄市第01部门", args.entries, seed="bench", place="石家庄市"))
    with scratch() as folder:
        credentials = LocalCredentials(folder)
        publish = {False: [], True: []}
        sync = {False: [], True: []}
        for run in range(args.rounds):
            for secure in (False, True):
                publish[secure].append(bulk_publish(folder, entries, args.call_size,
                                                    credentials if secure else None, run * 2 + secure))
                sync[secure].append(sync_run(folder, args.sync_entries, args.peers, secure, run))
    rows = []
    for label, rates, unit in (("bulk publish", publish, "entries/s"), ("initial sync", sync, "entries/s")):
        plain, secure = max(rates[False]), max(rates[True])
        rows += [(f"{label}, plaintext", f"{plain:,.0f} {unit}  (runs: {', '.join(f'{r:,.0f}' for r in rates[False])})"),
                 (f"{label}, mutual TLS + token", f"{secure:,.0f} {unit}  (runs: {', '.join(f'{r:,.0f}' for r in rates[True])})"),
                 (f"{label}, TLS / plaintext", f"{secure / plain:.0%}  (goal >= 80%: at most 20% slower)")]
    report(f"security's cost: bulk publish of {args.entries:,} entries; initial sync of {args.sync_entries:,} entries "
           f"from {args.peers} provincial nodes; best of {args.rounds} runs each", rows)


if __name__ == "__main__":
    main()
