"""Writes the responsibility list template: responsibility-list.xlsx (the list, with examples of
河北省公安厅, and a sheet of what each column takes) and its CSV twin. Byte for byte the same on
every run: `python configs/examples/make_template.py` after changing the columns or examples.

Try it against the node of `cascade node init` / `node run` (its client.env speaks for 130000001):
    cascade entry import configs/examples/responsibility-list.xlsx --by-name --config configs/node.yaml --dry-run
"""

from __future__ import annotations

import io
import pathlib
import re
import sys
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from node.catalog.lists.columns import COLUMNS, DEFAULTS, label_of, labels  # noqa: E402
from node.catalog.lists.files import workbook, write_sheet  # noqa: E402

POLICE = "河北省公安厅"
# One department's list, as it writes it: 数据所属部门, 共享信息名称, 数据项, 共享类型, 共享条件,
# 不予共享依据, 更新周期, 资源代码, 资源摘要, 共享方式, 开放类型, 关键词, 来源系统, 资源分类.
EXAMPLES = [
    [POLICE, "全员人口基础信息", "公民身份号码(字符串,18)、姓名(字符串,50)、性别、出生日期(日期)、户籍地址(字符串,200)",
     "有条件共享", "需说明办理事项及法定依据，经提供方审核后共享", "", "每日", "",
     "全省户籍人口与常住人口的基础信息，包括身份、户籍地址与变动记录。", "接口", "不予开放", "人口、户籍", "河北省人口信息管理系统",
     "基础"],
    [POLICE, "居民身份证核验信息", "公民身份号码(字符串,18)、姓名(字符串,50)、核验结果(布尔)", "无条件共享", "", "", "实时", "",
     "比对公民身份号码与姓名是否一致，只返回核验结果。", "接口", "不予开放", "身份核验、实名认证", "身份证核验平台", "基础"],
    [POLICE, "机动车登记信息", "号牌号码(字符串,10)、车辆识别代号(字符串,17)、所有人(字符串,100)、登记日期(日期)",
     "有条件共享", "仅限交通运输、保险监管等法定职责使用", "", "每日", "", "全省机动车注册、转移、变更与注销登记。", "库表",
     "不予开放", "机动车、车辆", "机动车登记系统", "主题"],
    [POLICE, "出入境证件签发统计", "统计月份(字符串,6)、证件类型(字符串,20)、签发量(整数)", "无条件共享", "", "", "每月", "",
     "按月、按证件类型统计的出入境证件签发数量。", "文件", "无条件开放", "出入境、统计", "出入境管理系统", "部门"],
    [POLICE, "居住证办理信息", "居住证编号(字符串,30)、持证人、居住地址(字符串,200)、有效期止(日期)", "有条件共享",
     "须签订数据安全保护协议", "", "每周", "", "流动人口居住证的申领、签注与换领信息。", "接口", "不予开放", "居住证、流动人口",
     "流动人口管理系统", "部门"],
    [POLICE, "侦查案件办理信息", "案件编号(字符串,40)、案件类别、立案日期(日期)", "不予共享", "",
     "《中华人民共和国刑事诉讼法》第一百五十二条", "不定期", "", "刑事案件立案与侦办过程信息，依法不予共享。", "库表",
     "不予开放", "案件", "警务综合平台", "部门"],
]
FIXED_TIME = (2024, 1, 1, 0, 0, 0)
_DATE = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def instructions() -> list[list[str]]:
    """The second sheet: what each column takes, from the code that reads it."""
    kinds = {"share_type": "share_type", "update_cycle": "update_cycle", "share_method": "share_method",
             "open_type": "open_type", "category": "category"}
    notes = {
        "department": "部门名称（导入时加 --by-name --config 节点配置）或 9 位部门代码；用 --department 时可留空",
        "name": "1 至 200 个字；同一部门内不重复",
        "data_items": "数据项名称，以 、 ， , ; 或换行分隔；可写 名称(类型,长度) 或 名称(类型,长度,说明)，类型："
                      + labels("item_type"),
        "share_condition": "有条件共享时必填：使用方须具备的条件",
        "not_shared_basis": "不予共享时必填：不予共享的法律法规依据",
        "resource_code": "已发布资源的代码（部门代码/6位序号）；新资源留空，由节点分配",
        "summary": "至多 2000 个字",
        "keywords": "以 、 或 ， 分隔",
        "source_system": "数据来源的信息系统",
    }
    rows = []
    for column in COLUMNS:
        allowed = labels(kinds[column.key]) if column.key in kinds else ""
        default = label_of(kinds[column.key], DEFAULTS[column.key]) if column.key in DEFAULTS else ""
        rows.append([column.header, "是" if column.required else "否", notes.get(column.key, ""), allowed,
                     default, "、".join(column.synonyms)])
    return rows


def reproducible(data: bytes) -> bytes:
    """The workbook with fixed times (in its properties and in the zip), so that it is the same
    bytes on every run."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _DATE.sub(rb"\g<1>2024-01-01T00:00:00Z\g<2>", body)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def make(directory: pathlib.Path = HERE) -> tuple[pathlib.Path, pathlib.Path]:
    headers = [c.header for c in COLUMNS]
    book = workbook(headers, EXAMPLES)
    guide = book.create_sheet("填写说明")
    for row in [["列", "必填", "填写说明", "可填的值", "留空时", "也认作此列的表头"], *instructions()]:
        guide.append(row)
    for letter, width in zip("ABCDEF", (14, 6, 60, 50, 10, 60)):
        guide.column_dimensions[letter].width = width
    book.properties.creator = "catalog cascade"
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx, csv = directory / "responsibility-list.xlsx", directory / "responsibility-list.csv"
    xlsx.write_bytes(reproducible(buffer.getvalue()))
    write_sheet(csv, headers, EXAMPLES, "csv")
    return xlsx, csv


assert all(len(row) == len(COLUMNS) for row in EXAMPLES), "an example row per column"

if __name__ == "__main__":
    for path in make():
        print(path)
