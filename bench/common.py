"""Shared pieces of the benchmarks: timing, percentiles, a temporary folder, printing."""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


@contextlib.contextmanager
def scratch():
    folder = pathlib.Path(tempfile.mkdtemp(prefix="cascade-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


def full_federation_compose(folder, name: str, *, interval: float, notify: bool, provinces_only: bool = False,
                            sync: dict | None = None, entries_per_department: int | None = None) -> str:
    """configs/federation-full.yaml with the benchmark's interval, Notify and sync settings."""
    import yaml

    full = yaml.safe_load((ROOT / "configs" / "federation-full.yaml").read_text(encoding="utf-8"))
    full["name"] = name
    if provinces_only:
        full["nodes"] = [n for n in full["nodes"] if n["role"] == "provincial"]
    for node in full["nodes"]:
        node["interval"] = interval
    full["defaults"] = {**full.get("defaults", {}), "interval": interval, "notify": notify}
    if sync:
        full["defaults"]["sync"] = {**full["defaults"].get("sync", {}), **sync}
    if entries_per_department is not None:
        full["seed"] = {"entries_per_department": entries_per_department}
    path = folder / f"{name}-{'notify' if notify else 'poll'}.yaml"
    path.write_text(yaml.safe_dump(full, allow_unicode=True))
    return str(path)
