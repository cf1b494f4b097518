"""The columns of a responsibility list: the header an export writes, the headers an import
understands (Chinese as departments write them, and the API's English field names), and the
spellings of every enumerated value."""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from node.model import rules


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: `key` names it in code, `header` is what an export writes, `synonyms` the
    other headers an import takes for it; `required` columns must be in every file."""

    key: str
    header: str
    synonyms: tuple[str, ...]
    required: bool = False


# In the order an export writes them: the columns a department's list has, then the optional ones.
COLUMNS = (
    Column("department", "数据所属部门", ("所属部门", "数据提供部门", "提供部门", "责任部门", "提供方", "部门", "部门名称",
                                     "department", "provider", "provider_name", "provider_code"), required=True),
    Column("name", "共享信息名称", ("信息资源名称", "资源名称", "数据资源名称", "信息名称", "名称", "name", "resource_name"),
           required=True),
    Column("data_items", "数据项", ("信息项", "数据项名称", "信息项名称", "数据项目", "data_items", "items"), required=True),
    Column("share_type", "共享类型", ("共享属性", "共享方式类型", "share_type"), required=True),
    Column("share_condition", "共享条件", ("有条件共享条件", "share_condition", "condition")),
    Column("not_shared_basis", "不予共享依据", ("不共享依据", "不予共享理由", "not_shared_basis", "basis")),
    Column("update_cycle", "更新周期", ("更新频率", "更新频度", "update_cycle", "update_frequency"), required=True),
    Column("resource_code", "资源代码", ("信息资源代码", "资源编码", "目录代码", "resource_code", "code")),
    Column("summary", "资源摘要", ("摘要", "信息资源摘要", "资源描述", "summary", "description")),
    Column("share_method", "共享方式", ("共享渠道", "share_method")),
    Column("open_type", "开放类型", ("开放属性", "open_type")),
    Column("keywords", "关键词", ("关键字", "keywords", "keyword", "tags")),
    Column("source_system", "来源系统", ("所属系统", "数据来源系统", "source_system", "system")),
    Column("category", "资源分类", ("分类", "资源类别", "category")),
)
BY_KEY = {c.key: c for c in COLUMNS}

# Headers a department's sheet often has that are not fields: read past without a word.
IGNORED = ("序号", "编号", "备注", "no", "no.", "#", "remark", "remarks")

# What a row that leaves an optional enumerated cell empty gets.
DEFAULTS = {"category": "department", "share_method": "api", "open_type": "not_open"}


def normal(text: str) -> str:
    """A header or value reduced for comparison: full-width forms folded (NFKC), case, blanks,
    '-', '_' and required-field marks (*) dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s_\-*]+", "", text)


_HEADERS = {normal(h): c for c in COLUMNS for h in (c.header, c.key, *c.synonyms)}
_HEADERS.update({normal(h): None for h in IGNORED})


def column_of(header: str) -> Column | None | bool:
    """The column a header names; None for a known non-field column (序号, 备注); False if unknown.
    A note in brackets after the header is read past: 共享类型（必填） is 共享类型."""
    key = normal(header)
    if key in _HEADERS:
        return _HEADERS[key]
    bare = normal(re.sub(r"[(（\[【].*?[)）\]】]\s*$", "", header.strip()))
    return _HEADERS.get(bare, False)


# -- enumerated values: domain value -> (the label an export writes, other spellings) ----------

VALUES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "share_type": {
        "unconditional": ("无条件共享", ("无条件",)),
        "conditional": ("有条件共享", ("有条件",)),
        "not_shared": ("不予共享", ("不共享", "不予", "not shared")),
    },
    "update_cycle": {
        "realtime": ("实时", ("实时更新", "real-time", "real time")),
        "daily": ("每日", ("每天", "日", "按日", "日更新", "day")),
        "weekly": ("每周", ("周", "按周", "week")),
        "monthly": ("每月", ("月", "按月", "month")),
        "quarterly": ("每季度", ("季度", "每季", "按季", "按季度", "quarter")),
        "half_yearly": ("每半年", ("半年", "按半年", "half-yearly", "half yearly", "semiannual", "semi-annual")),
        "yearly": ("每年", ("年", "年度", "每年度", "按年", "annual", "annually", "year")),
        "irregular": ("不定期", ("不定时", "按需", "irregularly")),
    },
    "share_method": {
        "api": ("接口", ("接口共享", "接口调用", "服务接口", "api接口", "webservice")),
        "file": ("文件", ("文件共享", "文件下载", "文件传输")),
        "database": ("库表", ("数据库", "库表交换", "库表共享", "db")),
    },
    "open_type": {
        "open": ("无条件开放", ("开放", "可开放")),
        "conditional_open": ("有条件开放", ("conditional open",)),
        "not_open": ("不予开放", ("不开放", "不可开放", "not open")),
    },
    "category": {
        "base": ("基础", ("基础资源", "基础信息资源", "基础库")),
        "theme": ("主题", ("主题资源", "主题信息资源", "主题库")),
        "department": ("部门", ("部门资源", "部门信息资源")),
    },
    "item_type": {
        "string": ("字符串", ("字符", "字符型", "文本", "varchar", "varchar2", "char", "str", "text", "nvarchar")),
        "integer": ("整数", ("整型", "整形", "int", "bigint", "long")),
        "decimal": ("小数", ("数值", "浮点", "浮点型", "数值型", "number", "numeric", "float", "double", "money")),
        "date": ("日期", ("日期型",)),
        "datetime": ("日期时间", ("时间", "时间戳", "日期时间型", "timestamp")),
        "boolean": ("布尔", ("布尔型", "是否", "bool", "logical")),
        "binary": ("二进制", ("blob", "字节", "bytes", "附件")),
    },
}
assert tuple(VALUES["share_type"]) == rules.SHARE_TYPES and tuple(VALUES["update_cycle"]) == rules.UPDATE_CYCLES
assert tuple(VALUES["share_method"]) == rules.SHARE_METHODS and tuple(VALUES["open_type"]) == rules.OPEN_TYPES
assert tuple(VALUES["category"]) == rules.CATEGORIES and tuple(VALUES["item_type"]) == rules.ITEM_TYPES

_SPELLINGS = {kind: {normal(s): value for value, (label, others) in values.items() for s in (value, label, *others)}
              for kind, values in VALUES.items()}


def value_of(kind: str, text: str) -> str | None:
    """The domain value a spelling of KIND means (无条件共享, 无条件, unconditional -> unconditional)."""
    return _SPELLINGS[kind].get(normal(text))


def label_of(kind: str, value: str) -> str:
    """The label an export writes for a domain value (unconditional -> 无条件共享)."""
    return VALUES[kind][value][0]


def labels(kind: str) -> str:
    return "、".join(label for label, _ in VALUES[kind].values())
