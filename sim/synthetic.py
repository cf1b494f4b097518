"""The seeded synthetic catalog: realistic responsibility lists of Chinese departments, each
department's entries drawn from its own RNG (same seed, same entries, in any order), with the
share-type and update-cycle mixes of the scenario bent by the kind of department.

Streams entries (a generator), so 3,000,000 of them never sit in memory at once:
`python -m sim.synthetic --count 3000000` measures the speed.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from typing import Iterable, Iterator

from harness.seed import BASES, CONDITIONS, TOPICS, topics_of
from node.model.rules import DataItem, Entry
from sim.scenario import CatalogSpec

# How a kind of department leans from the scenario's mix (multipliers of the weights): public
# security and taxation hold personal and secret data; statistics, data bureaus and market
# regulation publish the most openly.
SHARE_LEAN = (
    (("公安", "国家安全", "税务"), {"unconditional": 0.5, "conditional": 1.4, "not_shared": 3.0}),
    (("卫生", "健康", "人力资源", "社会保障"), {"unconditional": 0.8, "conditional": 1.4, "not_shared": 1.5}),
    (("统计", "数据", "政务服务", "市场监"), {"unconditional": 1.5, "conditional": 0.8, "not_shared": 0.3}),
)
CYCLE_LEAN = (
    (("公安", "交通"), {"realtime": 3.0, "daily": 2.0}),
    (("统计", "自然资源"), {"monthly": 2.0, "quarterly": 2.0, "yearly": 2.0, "realtime": 0.2}),
)
QUALIFIERS = ("", "（{year}年）", "（按季度汇总）", "明细", "统计", "变更信息", "（{year}年度）", "台账")
SCOPES = ("区县", "乡镇", "街道", "行业", "企业", "个人")
METHODS = ("api", "api", "api", "file", "database")
OPEN_TYPES = ("open", "conditional_open", "not_open", "not_open")
CATEGORIES = ("base", "theme", "department")
# DataItems are frozen: made once per topic, shared by every entry that names them
ITEMS = {topic: tuple(DataItem(n, t, length, "") for n, t, length in items) for topic, (_, items) in TOPICS.items()}


def _leaned(mix: tuple[tuple[str, float], ...], name: str, leans) -> tuple[tuple[str, ...], list[float]]:
    factors = next((f for words, f in leans if any(w in name for w in words)), {})
    kinds = tuple(k for k, _ in mix)
    weights = [w * factors.get(k, 1.0) for k, w in mix]
    return kinds, list(itertools.accumulate(weights))


def department_entries(code: str, name: str, spec: CatalogSpec, *, seed: int | str = 0, start: int = 1,
                       count: int | None = None, place: str = "") -> Iterator[Entry]:
    """`count` (default: the spec's) entries of one department, codes code/start.., deterministic per
    (seed, code, sequence): the same call always yields the same entries."""
    count = spec.entries_per_department if count is None else count
    rng = random.Random(f"{seed}:{code}:{start}")
    topics = topics_of(name)
    share_kinds, share_cum = _leaned(spec.share_types, name, SHARE_LEAN)
    cycle_kinds, cycle_cum = _leaned(spec.update_cycles, name, CYCLE_LEAN)
    low, high = spec.data_items
    region = code[:6]
    for seq in range(start, start + count):
        topic = topics[int(rng.random() * len(topics))]
        stems, items = TOPICS[topic][0], ITEMS[topic]
        stem = stems[int(rng.random() * len(stems))]
        share = rng.choices(share_kinds, cum_weights=share_cum)[0]
        year = 2015 + int(rng.random() * 11)
        k = min(len(items), low + int(rng.random() * (high - low + 1)))
        # a resource's items are columns of its table, in the table's order: the same resource
        # published by several departments has the same list, as standard catalogs make it
        picked = [items[j] for j in sorted(rng.sample(range(len(items)), k))]
        qualifier = QUALIFIERS[int(rng.random() * len(QUALIFIERS))].format(year=year)
        yield Entry(
            resource_code=f"{code}/{seq:06d}",
            name=f"{place}{stem}{qualifier}",
            summary=f"{name}汇聚的{topic}领域数据：{stem}，按{SCOPES[int(rng.random() * len(SCOPES))]}分类，"
                    f"自{year}年起持续更新。",
            provider_code=code,
            provider_name=name,
            region_code=region,
            category=CATEGORIES[int(rng.random() * 3)],
            data_items=tuple(picked),
            share_type=share,
            share_condition=CONDITIONS[int(rng.random() * len(CONDITIONS))] if share == "conditional" else "",
            not_shared_basis=BASES[int(rng.random() * len(BASES))] if share == "not_shared" else "",
            share_method=METHODS[int(rng.random() * len(METHODS))],
            open_type=OPEN_TYPES[int(rng.random() * len(OPEN_TYPES))],
            update_cycle=rng.choices(cycle_kinds, cum_weights=cycle_cum)[0],
            source_system=f"{topic}信息管理系统",
            keywords=(topic, stem[:2]),
        )


def catalog(departments: Iterable[tuple[str, str]], spec: CatalogSpec, *, seed: int | str = 0) -> Iterator[Entry]:
    """Every department's entries in turn, streamed."""
    for code, name in departments:
        yield from department_entries(code, name, spec, seed=seed)


def synthetic_departments(n: int) -> list[tuple[str, str]]:
    """n departments spread over the 32 provinces (for measuring; a scenario takes its own)."""
    provinces = ("110000", "130000", "310000", "320000", "330000", "370000", "440000", "510000", "660000")
    kinds = ("公安厅", "民政厅", "人力资源和社会保障厅", "自然资源厅", "市场监督管理局", "卫生健康委员会", "交通运输厅",
             "税务局", "教育厅", "住房和城乡建设厅", "统计局", "政务服务和数据管理局")
    return [(f"{provinces[i % len(provinces)]}{i // len(provinces) + 1:03d}", f"第{i}号{kinds[i % len(kinds)]}")
            for i in range(n)]


def measure(count: int, per_department: int = 1000, seed: int = 0) -> dict:
    """Streams `count` entries and returns how long it took."""
    spec = CatalogSpec(entries_per_department=per_department)
    departments = synthetic_departments(-(-count // per_department))
    began, made, items = time.perf_counter(), 0, 0
    for entry in itertools.islice(catalog(departments, spec, seed=seed), count):
        made += 1
        items += len(entry.data_items)
    seconds = time.perf_counter() - began
    return {"entries": made, "data_items": items, "seconds": round(seconds, 2), "per_second": round(made / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the synthetic catalog generator.")
    parser.add_argument("--count", type=int, default=3_000_000)
    parser.add_argument("--per-department", type=int, default=1000)
    args = parser.parse_args()
    result = measure(args.count, args.per_department)
    print(f"{result['entries']:,} entries ({result['data_items']:,} data items) streamed in {result['seconds']} s: "
          f"{result['per_second']:,} entries/s")


if __name__ == "__main__":
    main()
