"""`cascade data verify --in claims.csv --out verdicts.csv`: a file of claims checked in calls of
a batch each, a file of verdicts written line for line, with progress (node/progress.py).
The verdicts file holds the key and the verdicts, never the claimed values."""

from __future__ import annotations

import collections
import csv
import dataclasses
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import click


@dataclasses.dataclass
class Done:
    lines: int = 0
    matched: int = 0
    mismatched: int = 0
    not_found: int = 0
    skipped: int = 0  # lines that claim nothing
    seconds: float = 0.0


def read_claims(path: str, key_items: list[str]) -> tuple[list[str], list[tuple[dict[str, str], dict[str, str]]]]:
    """The claimed items (the columns that are not keys) and, per line, (key, claims) with empty
    cells left out; ValueError names the line at fault."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        for item in key_items:
            if item not in header:
                raise ValueError(f"--in {path}: no column {item} (it has: {', '.join(header)})")
        claimed = [name for name in header if name not in key_items]
        if not claimed:
            raise ValueError(f"--in {path}: no column besides the key: nothing is claimed")
        lines = []
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            row = row + [""] * (len(header) - len(row))
            cells = dict(zip(header, row))
            key = {item: cells[item] for item in key_items}
            empty = [item for item, value in key.items() if not value.strip()]
            if empty:
                raise ValueError(f"--in {path}: line {number} has no {', '.join(empty)}")
            lines.append((key, {item: cells[item] for item in claimed if cells[item].strip()}))
    return claimed, lines


AHEAD = 2  # batches on their way at once: the owner checks one while the next comes and goes


class _Abandoned(Exception):
    """A batch's retries given up: an earlier batch was refused and the run ends."""


def verify_file(stub, request_id: str, consumer: str, key_items: list[str], source: str, out: str,
                batch_size: int, call_id: str = "", retry_for: float = 60.0, ahead: int = AHEAD) -> Done:
    """Each batch goes with the call id `<call_id>-<N>` (N from 1) and is retried with it: a run
    again with the same call id is not charged again for the batches already counted. `ahead`
    batches are on their way at once (one sent while the path carries the other), and the
    verdicts are written in the file's order."""
    import grpc

    from node.exchange.client import keyed_call, new_call_id
    from node.progress import Progress
    from node.proto import exchange_pb2

    if batch_size < 1:
        raise ValueError("--batch: must be at least 1")
    claimed, lines = read_claims(source, key_items)
    call_id = call_id or new_call_id()
    done, started = Done(), time.monotonic()
    shown = Progress(f"verify {request_id}", len(lines), unit="claims")

    stopped = threading.Event()  # a batch was refused: the one still on its way retries no more

    def pause(seconds: float) -> None:
        if stopped.wait(seconds):
            raise _Abandoned()

    def checked(start: int, part: list) -> list:
        message = exchange_pb2.VerifyClaimsRequest(request_id=request_id, consumer_code=consumer,
                                                   call_id=f"{call_id}-{start // batch_size + 1}")
        asked = [(key, claims) for key, claims in part if claims]
        for key, claims in asked:
            message.batch.add(key=key, claims=claims)
        if not asked:
            return []
        return list(keyed_call(stub.Verify, message, retry_for=retry_for, timeout=60, sleep=pause).verdicts)

    pool = ThreadPoolExecutor(max(1, ahead), thread_name_prefix="verify")
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*key_items, *claimed, "overall"])
        on_the_way: collections.deque = collections.deque()

        def write_first() -> None:
            first, sent = on_the_way.popleft()
            try:
                verdicts = iter(sent.result())
            except grpc.RpcError as exc:
                stopped.set()
                pool.shutdown(wait=False, cancel_futures=True)
                shown.close(finished=False)
                click.echo(f"error: {exc.code().name}: {exc.details()} (lines before {first + 2} are in {out}; "
                           f"run again with --call-id {call_id} to be charged only for the batches not counted yet)",
                           err=True)
                sys.exit(1)
            _write(writer, lines[first:first + batch_size], verdicts, claimed, done)
            shown.update(done.lines)

        for start in range(0, len(lines), batch_size):
            on_the_way.append((start, pool.submit(checked, start, lines[start:start + batch_size])))
            if len(on_the_way) >= ahead:
                write_first()
        while on_the_way:
            write_first()
    pool.shutdown()
    shown.close()
    done.seconds = time.monotonic() - started
    return done


def _write(writer, part: list, verdicts, claimed: list[str], done: Done) -> None:
    for key, claims in part:
        if not claims:
            done.skipped += 1
            writer.writerow([*key.values(), *[""] * len(claimed), "no_claim"])
            continue
        verdict = next(verdicts)
        done.matched += verdict.overall == "match"
        done.mismatched += verdict.overall == "mismatch"
        done.not_found += verdict.overall == "not_found"
        writer.writerow([*key.values(), *[verdict.results.get(item, "") for item in claimed], verdict.overall])
    done.lines += len(part)
