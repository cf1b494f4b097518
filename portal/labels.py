"""The Chinese words the pages use for the domain's values (enumerations, states, regions), and
how a time reads on them (Beijing time, "3 分钟前")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from node.model.regions import CENTRAL, PROVINCES

CATEGORY = {"base": "基础", "theme": "主题", "department": "部门"}
SHARE_TYPE = {"unconditional": "无条件共享", "conditional": "有条件共享", "not_shared": "不予共享"}
SHARE_METHOD = {"api": "接口", "file": "文件", "database": "库表"}
OPEN_TYPE = {"open": "开放", "conditional_open": "有条件开放", "not_open": "不开放"}
UPDATE_CYCLE = {"realtime": "实时", "daily": "每日", "weekly": "每周", "monthly": "每月", "quarterly": "每季度",
                "half_yearly": "每半年", "yearly": "每年", "irregular": "不定期"}
ITEM_TYPE = {"string": "字符串", "integer": "整数", "decimal": "小数", "date": "日期", "datetime": "日期时间",
             "boolean": "布尔", "binary": "二进制"}
MASKING = {"id_number": "身份号码保留前6后4位", "name": "姓名保留首字", "phone": "电话保留前3后4位", "address": "地址保留至区县",
           "full": "全部隐去"}
REQUEST_STATE = {"submitted": "已提交", "pending": "待审核", "granted": "已同意", "rejected": "已拒绝",
                 "withdrawn": "已撤回", "review": "符合性审查中", "returned": "已退回修改", "objected": "异议协调中",
                 "extended": "已延期", "passed": "审查通过", "resubmitted": "已重新提交"}
PEER_STATE = {"ok": "正常", "resyncing": "重新同步中", "failing": "拉取失败", "never": "尚未同步", "overdue": "拉取超时未结束"}
ROLE = {"national": "国家平台", "provincial": "省级平台", "ministry": "部委平台"}
REGIONS = {CENTRAL: "中央", **PROVINCES}


def region_name(code: str) -> str:
    """"130000" -> 河北; a sub-region is named by its province ("130102" -> 河北 130102)."""
    if code in REGIONS:
        return REGIONS[code]
    province = REGIONS.get(code[:2] + "0000")
    return f"{province} {code}" if province else code


FILTERS = {"category": CATEGORY, "share_type": SHARE_TYPE, "update_cycle": UPDATE_CYCLE}


BEIJING = timezone(timedelta(hours=8))


def when(ts, with_seconds: bool = False) -> str:
    """A protobuf Timestamp (or datetime) as Beijing time; "" when unset."""
    if ts is None:
        return ""
    if not isinstance(ts, datetime):
        if not ts.seconds and not ts.nanos:
            return ""
        ts = datetime.fromtimestamp(ts.seconds, timezone.utc)
    return ts.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def ago(seconds: float) -> str:
    if seconds < 0:
        return "从未"
    if seconds < 90:
        return f"{seconds:.0f} 秒前"
    if seconds < 5400:
        return f"{seconds / 60:.0f} 分钟前"
    return f"{seconds / 3600:.1f} 小时前"
