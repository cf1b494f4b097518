"""GB/T 2260 region codes the cascade knows: the 32 provincial platforms and the centre."""

from __future__ import annotations

import re

CENTRAL = "100000"

PROVINCES: dict[str, str] = {
    "110000": "北京", "120000": "天津", "130000": "河北", "140000": "山西", "150000": "内蒙古",
    "210000": "辽宁", "220000": "吉林", "230000": "黑龙江", "310000": "上海", "320000": "江苏",
    "330000": "浙江", "340000": "安徽", "350000": "福建", "360000": "江西", "370000": "山东",
    "410000": "河南", "420000": "湖北", "430000": "湖南", "440000": "广东", "450000": "广西",
    "460000": "海南", "500000": "重庆", "510000": "四川", "520000": "贵州", "530000": "云南",
    "540000": "西藏", "610000": "陕西", "620000": "甘肃", "630000": "青海", "640000": "宁夏",
    "650000": "新疆", "660000": "新疆生产建设兵团",
}

PINYIN: dict[str, str] = {
    "110000": "beijing", "120000": "tianjin", "130000": "hebei", "140000": "shanxi",
    "150000": "neimenggu", "210000": "liaoning", "220000": "jilin", "230000": "heilongjiang",
    "310000": "shanghai", "320000": "jiangsu", "330000": "zhejiang", "340000": "anhui",
    "350000": "fujian", "360000": "jiangxi", "370000": "shandong", "410000": "henan",
    "420000": "hubei", "430000": "hunan", "440000": "guangdong", "450000": "guangxi",
    "460000": "hainan", "500000": "chongqing", "510000": "sichuan", "520000": "guizhou",
    "530000": "yunnan", "540000": "xizang", "610000": "shaanxi", "620000": "gansu",
    "630000": "qinghai", "640000": "ningxia", "650000": "xinjiang", "660000": "xpcc",
}

_SHAPE = re.compile(r"^\d{6}\Z", re.ASCII)  # ASCII digits, no trailing newline


def province_of(region_code: str) -> str:
    """The province-level code a region code falls under ("130102" -> "130000")."""
    return region_code[:2] + "0000"


def is_known(region_code: str) -> bool:
    """A code is known when it is the centre, or a province-, prefecture- or county-level code
    under one of the 32 provinces. The full GB/T 2260 list (about 3,200 codes) is not bundled:
    a code under a known province with the right shape is taken as known."""
    if not _SHAPE.match(region_code):
        return False
    if region_code == CENTRAL:
        return True
    if province_of(region_code) not in PROVINCES:
        return False
    prefecture, county = region_code[2:4], region_code[4:6]
    return not (prefecture == "00" and county != "00")


def within(region_code: str, node_region: str) -> bool:
    """Whether an entry of region_code belongs to a node whose own region is node_region."""
    if node_region == CENTRAL:
        return region_code == CENTRAL
    return province_of(region_code) == province_of(node_region)


def prefix(region_code: str) -> str:
    """The leading digits shared by every code inside a region: the whole province for xx0000,
    the prefecture for xxyy00, the county itself otherwise (the centre is only itself)."""
    if region_code == CENTRAL:
        return region_code
    if region_code.endswith("0000"):
        return region_code[:2]
    if region_code.endswith("00"):
        return region_code[:4]
    return region_code
