"""Realistic synthetic rows for mounted sources: deterministic per seed, shaped like the data
items of the seeded catalog (harness/seed.py): Chinese names, unified social credit codes and
ID numbers with valid check characters and the owner's region codes, addresses, dates,
amounts. From a few rows to millions, written to an SQLite table or a CSV file as they are
made (memory stays flat)."""

from __future__ import annotations

import csv
import datetime as dt
import pathlib
import random
import sqlite3
from typing import Callable, Iterator, Sequence

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美玲桂兰霞平刚桂英建华国庆志强海燕红梅晓东文博子涵浩然雨欣思远嘉怡俊杰宇航梓萱"
ETHNIC = ("汉族",) * 12 + ("回族", "满族", "蒙古族", "维吾尔族", "壮族", "苗族", "土家族", "藏族")
ROADS = ("人民路", "建设路", "中山路", "解放路", "和平路", "胜利街", "长安街", "新华路", "友谊大街", "光明路", "育才街", "滨河路")
ORG_WORDS = ("华信", "恒通", "鑫源", "宏达", "中兴", "新联", "瑞丰", "博远", "金桥", "东方", "泰和", "德润", "安康", "天成")
ORG_KINDS = ("科技有限公司", "商贸有限公司", "建设工程有限公司", "农业专业合作社", "物流有限公司", "医药有限公司", "餐饮管理有限公司")
PROVINCES = {"11": "北京市", "12": "天津市", "13": "河北省", "44": "广东省", "66": "新疆生产建设兵团", "10": ""}
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# The items a record is looked up by (query, verify), in order of preference: a mount is keyed by
# the first its entry has.
KEY_ITEMS = ("公民身份号码", "统一社会信用代码")


def region_of(rng: random.Random, province: str) -> str:
    """A county-level code under the province (its first two digits), e.g. 131102."""
    return f"{province[:2]}{rng.randint(1, 11):02d}{rng.randint(1, 30):02d}"


def uscc(rng: random.Random, region: str) -> str:
    """An 18-character unified social credit code (统一社会信用代码, GB 32100) with a valid check character."""
    body = rng.choice("1579") + rng.choice("123") + region + "".join(rng.choice(USCC_CHARS[:10]) for _ in range(8))
    body += rng.choice(USCC_CHARS)
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_CHARS[(31 - total % 31) % 31]


def id_number(rng: random.Random, region: str, born: dt.date) -> str:
    """An 18-digit citizen ID number (公民身份号码, GB 11643) with a valid check character."""
    body = f"{region}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS)) % 11]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def organisation(rng: random.Random, province: str) -> str:
    place = PROVINCES.get(province[:2], "")[:2]
    return f"{place}{rng.choice(ORG_WORDS)}{rng.choice(ORG_WORDS)}{rng.choice(ORG_KINDS)}"


def address(rng: random.Random, province: str) -> str:
    return (f"{PROVINCES.get(province[:2], '')}{rng.choice('东西南北')}城区{rng.choice(ROADS)}{rng.randint(1, 999)}号"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 3)}单元{rng.randint(101, 2806)}室")


def day(rng: random.Random, start: int = 1950, end: int = 2024) -> dt.date:
    return dt.date(start, 1, 1) + dt.timedelta(days=rng.randint(0, (dt.date(end, 12, 31) - dt.date(start, 1, 1)).days))


Maker = Callable[[random.Random, dict], str]


def maker(name: str, kind: str, province: str) -> Maker:
    """How to make a value of a data item, by its name first (the field's vocabulary), else its type.
    `row` carries what a row's values share (the person's birth date and region)."""
    if "身份号码" in name:
        return lambda rng, row: id_number(rng, row["region"], row["born"])
    if "信用代码" in name:
        return lambda rng, row: uscc(rng, row["region"])
    if name in ("姓名", "法定代表人", "所有人", "权利人", "学生姓名", "持证人"):
        return lambda rng, row: person(rng)
    if name == "性别":
        return lambda rng, row: rng.choice("男女")
    if name == "民族":
        return lambda rng, row: rng.choice(ETHNIC)
    if name == "出生日期":
        return lambda rng, row: row["born"].isoformat()
    if "地址" in name or "坐落" in name:
        return lambda rng, row: address(rng, province)
    if any(word in name for word in ("企业名称", "主体", "单位", "机构名称", "学校名称", "持证主体")):
        return lambda rng, row: organisation(rng, province)
    if "行政区划" in name or name == "region_code":
        return lambda rng, row: row["region"]
    if kind == "date" or name.endswith("日期") or name.startswith("有效期"):
        return lambda rng, row: day(rng, 2000).isoformat()
    if kind == "datetime" or name.endswith("时间"):
        return lambda rng, row: f"{day(rng, 2015)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    if kind == "decimal":
        return lambda rng, row: f"{rng.randint(100, 5_000_000) / 100:.2f}"
    if kind == "integer":
        return lambda rng, row: str(rng.randint(0, 3650))
    if kind == "boolean":
        return lambda rng, row: rng.choice(("true", "false"))
    if "状态" in name:
        return lambda rng, row: rng.choice(("存续", "在业", "注销", "吊销", "正常", "暂停"))
    return lambda rng, row: f"{name[:2]}{rng.randint(10**7, 10**8 - 1)}"


def rows(items: Sequence[tuple[str, str]], count: int, *, seed: int | str = 0, province: str = "130000") -> Iterator[tuple[str, ...]]:
    """`count` rows of the data items (name, type), deterministic for (seed, items, count)."""
    rng = random.Random(f"{seed}:{province}:{','.join(n for n, _ in items)}")
    makers = [maker(name, kind, province) for name, kind in items]
    for _ in range(count):
        shared = {"region": region_of(rng, province), "born": day(rng)}
        yield tuple(make(rng, shared) for make in makers)


def write_sqlite(path: str | pathlib.Path, table: str, items: Sequence[tuple[str, str]], count: int, *,
                 seed: int | str = 0, province: str = "130000") -> None:
    """A table of `count` rows (replacing one of that name) in an SQLite file."""
    conn = sqlite3.connect(str(path))
    try:
        names = ", ".join('"' + n.replace('"', '""') + '"' for n, _ in items)
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        conn.execute(f'CREATE TABLE "{table}" ({names})')
        conn.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(items))})',
                         rows(items, count, seed=seed, province=province))
        conn.commit()
    finally:
        conn.close()


def write_csv(path: str | pathlib.Path, items: Sequence[tuple[str, str]], count: int, *, seed: int | str = 0,
              province: str = "130000") -> None:
    """A CSV file (UTF-8, header line) of `count` rows."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([n for n, _ in items])
        writer.writerows(rows(items, count, seed=seed, province=province))


# How the harness mounts a seeded entry's data, by its share_method (api entries get none).
KIND_FOR_METHOD = {"database": "sqlite", "file": "csv"}


def seed_size(resource_code: str, seed: int | str = 0) -> int:
    """Rows the harness mounts on a seeded entry: mostly tens, some hundreds, a few thousands."""
    rng = random.Random(f"{seed}:{resource_code}:rows")
    band = rng.random()
    return rng.randint(10, 100) if band < 0.85 else rng.randint(100, 1000) if band < 0.97 else rng.randint(1000, 3000)
