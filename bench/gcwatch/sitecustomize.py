"""Pauses of the cycle collector in every Python process a benchmark starts, nodes and portal
included: put this folder on PYTHONPATH and name a folder to write to.

    PYTHONPATH=bench/gcwatch CASCADE_GC_WATCH=/tmp/gc python bench/call_bench.py
    python bench/gcwatch/report.py /tmp/gc

Each process writes <pid>.json there every two seconds: its command line, and per generation
the collections, their time in all, the longest, and those over 5 ms with the objects each
freed. With CASCADE_GC_GARBAGE=1 the collector keeps what it frees (gc.DEBUG_SAVEALL) and the
file counts it by type (a frame by its function), to say what made the garbage; memory then
grows with it, so only for a short run.
"""

import os

if os.environ.get("CASCADE_GC_WATCH"):
    import collections
    import gc
    import json
    import pathlib
    import sys
    import threading
    import time

    _folder = pathlib.Path(os.environ["CASCADE_GC_WATCH"])
    _folder.mkdir(parents=True, exist_ok=True)
    _started: list[float] = [0.0]
    _generations = {g: {"collections": 0, "ms": 0.0, "longest_ms": 0.0} for g in range(3)}
    _slow: list[dict] = []
    _garbage: collections.Counter = collections.Counter()

    def _timed(phase: str, info: dict) -> None:
        if phase == "start":
            _started[0] = time.perf_counter()
            return
        took = (time.perf_counter() - _started[0]) * 1000
        seen = _generations[info["generation"]]
        seen["collections"] += 1
        seen["ms"] += took
        seen["longest_ms"] = max(seen["longest_ms"], took)
        if took > 5 and len(_slow) < 100:
            _slow.append({"generation": info["generation"], "ms": round(took, 1), "freed": info["collected"]})

    def _kind(thing) -> str:
        if type(thing).__name__ == "frame":
            return f"frame {thing.f_code.co_filename.rsplit('/', 1)[-1]}:{thing.f_code.co_name}"
        return type(thing).__qualname__

    def _write() -> None:
        if gc.garbage:
            found, gc.garbage[:] = gc.garbage[:], []
            _garbage.update(_kind(thing) for thing in found)
            del found
        text = json.dumps({"argv": sys.argv, "generations": _generations, "slow": _slow,
                           "garbage": dict(_garbage.most_common(30))})
        (_folder / f"{os.getpid()}.json").write_text(text)

    def _every_two_seconds() -> None:
        while True:
            time.sleep(2)
            _write()

    gc.callbacks.append(_timed)
    if os.environ.get("CASCADE_GC_GARBAGE"):
        gc.set_debug(gc.DEBUG_SAVEALL)
    threading.Thread(target=_every_two_seconds, name="gcwatch", daemon=True).start()
