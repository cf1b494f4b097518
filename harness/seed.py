"""Realistic synthetic catalog entries: responsibility lists of Chinese departments.

Names, summaries and data items are drawn from the domains the field shares most (population,
legal persons, licences, credit, social security, transport, health, natural resources...),
so that search, filters and the share-type mix look like a real catalog.
"""

from __future__ import annotations

import random
from typing import Iterator

from harness.data import KEY_ITEMS
from node.model.rules import DataItem, Entry

# topic: (name stems, data items as (name, type, length))
TOPICS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str, int], ...]]] = {
    "人口": (("户籍人口基础信息", "常住人口登记信息", "流动人口居住登记", "居民身份证信息", "户口迁移信息", "出生登记信息"),
           (("公民身份号码", "string", 18), ("姓名", "string", 50), ("性别", "string", 2), ("出生日期", "date", 0),
            ("民族", "string", 20), ("户籍地址", "string", 200), ("登记日期", "date", 0), ("联系电话", "string", 20), ("文化程度", "string", 20),
            ("婚姻状况", "string", 10), ("现住址", "string", 200))),
    "法人": (("企业法人登记信息", "个体工商户登记信息", "社会组织登记信息", "事业单位法人信息", "企业年报信息"),
           (("统一社会信用代码", "string", 18), ("企业名称", "string", 200), ("法定代表人", "string", 50),
            ("注册资本", "decimal", 20), ("成立日期", "date", 0), ("经营范围", "string", 2000), ("登记状态", "string", 20),
            ("住所", "string", 200), ("企业类型", "string", 50), ("登记机关", "string", 100), ("核准日期", "date", 0))),
    "证照": (("营业执照电子证照", "食品经营许可证", "建筑业企业资质证书", "道路运输经营许可证", "药品经营许可证", "排污许可证"),
           (("证照编号", "string", 50), ("持证主体", "string", 200), ("发证机关", "string", 100), ("有效期起", "date", 0),
            ("有效期止", "date", 0), ("证照状态", "string", 20), ("证照类型", "string", 50),
            ("持证主体代码", "string", 18), ("发证日期", "date", 0), ("许可范围", "string", 500))),
    "信用": (("公共信用综合评价结果", "失信被执行人名单", "行政处罚信息", "行政许可信息", "守信激励对象名单"),
           (("统一社会信用代码", "string", 18), ("主体名称", "string", 200), ("信用等级", "string", 10),
            ("处罚决定书文号", "string", 100), ("处罚日期", "date", 0), ("公示期限", "integer", 0),
            ("处罚事由", "string", 500), ("处罚机关", "string", 100), ("认定日期", "date", 0), ("信息来源", "string", 100))),
    "社保": (("职工养老保险参保信息", "医疗保险缴费记录", "失业保险金领取信息", "工伤认定信息", "社会保障卡信息"),
           (("个人社保编号", "string", 20), ("公民身份号码", "string", 18), ("参保单位", "string", 200),
            ("缴费基数", "decimal", 12), ("缴费月份", "string", 6), ("参保状态", "string", 10),
            ("险种类型", "string", 20), ("参保日期", "date", 0), ("个人缴费金额", "decimal", 12), ("统筹区", "string", 6))),
    "交通": (("道路运输车辆信息", "道路运输从业人员信息", "出租汽车经营信息", "公交线路与站点", "高速公路通行记录", "港口航道信息"),
           (("号牌号码", "string", 10), ("车辆识别代号", "string", 17), ("所有人", "string", 100), ("登记日期", "date", 0),
            ("线路编号", "string", 20), ("通行时间", "datetime", 0),
            ("车辆类型", "string", 20), ("使用性质", "string", 20), ("检验有效期", "date", 0), ("准驾车型", "string", 10))),
    "卫生": (("医疗机构执业登记", "执业医师注册信息", "预防接种记录", "电子健康档案", "传染病报告信息"),
           (("机构代码", "string", 30), ("机构名称", "string", 200), ("执业范围", "string", 500), ("接种日期", "date", 0),
            ("疫苗名称", "string", 100), ("报告时间", "datetime", 0),
            ("机构等级", "string", 10), ("诊疗科目", "string", 500), ("接种单位", "string", 200), ("疾病名称", "string", 100))),
    "自然资源": (("不动产登记信息", "国有建设用地使用权出让", "地理国情监测数据", "矿业权登记信息", "耕地保护红线"),
             (("不动产单元号", "string", 28), ("权利人", "string", 200), ("坐落", "string", 300), ("面积", "decimal", 12),
              ("用途", "string", 50), ("登记时间", "datetime", 0),
              ("权利类型", "string", 50), ("不动产权证号", "string", 50), ("共有情况", "string", 20), ("使用期限", "string", 50))),
    "教育": (("学籍信息", "学历学位证书信息", "教师资格证信息", "中小学校基本信息"),
           (("学籍号", "string", 30), ("学生姓名", "string", 50), ("学校名称", "string", 200), ("入学日期", "date", 0),
            ("证书编号", "string", 50), ("学段", "string", 10), ("年级", "string", 10), ("专业名称", "string", 100),
            ("毕业日期", "date", 0), ("学历层次", "string", 20))),
    "住房": (("住房公积金缴存信息", "商品房预售许可", "保障性住房分配信息", "房屋网签备案信息"),
           (("公积金账号", "string", 20), ("缴存单位", "string", 200), ("月缴存额", "decimal", 12), ("备案编号", "string", 50),
            ("房屋坐落", "string", 300), ("缴存基数", "decimal", 12), ("缴存状态", "string", 10), ("建筑面积", "decimal", 12),
            ("合同签订日期", "date", 0), ("项目名称", "string", 200))),
}
# Topics of one kind of department, holding what it holds, with the items of a topic above
# (the same number of names and items, so that a department's draws, and with them its
# entries' codes, sharing types and methods, stay as they were).
TOPICS["交管"] = (("机动车登记信息", "驾驶证信息", "交通违法记录", "交通事故处理信息", "机动车检验信息", "驾驶人违法记分信息"),
                TOPICS["交通"][1])
TOPICS["民政"] = (("婚姻登记信息", "收养登记信息", "殡葬服务信息", "最低生活保障对象信息", "特困人员供养信息", "残疾人两项补贴信息"),
                TOPICS["人口"][1])
TOPICS["社会组织"] = (("社会团体登记信息", "民办非企业单位登记信息", "基金会登记信息", "社会组织年度检查信息", "慈善组织认定信息"),
                  TOPICS["法人"][1])
TOPICS["市场证照"] = (("营业执照电子证照", "食品经营许可证", "药品经营许可证", "特种设备使用登记证", "工业产品生产许可证",
                    "计量器具型式批准证书"), TOPICS["证照"][1])
TOPICS["运输证照"] = (("道路运输经营许可证", "道路运输证", "道路运输从业人员从业资格证", "出租汽车驾驶员证", "船舶营业运输证",
                    "网络预约出租汽车运输证"), TOPICS["证照"][1])
TOPICS["建设证照"] = (("建筑业企业资质证书", "建设工程规划许可证", "建筑工程施工许可证", "商品房预售许可证", "房地产开发企业资质证书",
                    "建筑施工企业安全生产许可证"), TOPICS["证照"][1])
TOPICS["纳税人"] = (("纳税人登记信息", "纳税信用等级信息", "欠税公告信息", "发票领用信息", "重大税收违法失信主体信息"),
                 TOPICS["法人"][1])
TOPICS["市场主体"] = (("企业法人登记信息", "个体工商户登记信息", "农民专业合作社登记信息", "企业年报信息", "企业经营异常名录"),
                  TOPICS["法人"][1])
TOPICS["市场信用"] = (("行政处罚信息", "行政许可信息", "严重违法失信企业名单", "双随机抽查结果信息", "守信激励对象名单"),
                  TOPICS["信用"][1])
ALL_TOPICS = ("人口", "法人", "证照", "信用", "社保", "交通", "卫生", "自然资源", "教育", "住房")
# Items that identify a person, with the masking rule (脱敏, node/model/masking.py) their values
# leave their owner's node under unless a grant lets them out plain: an entry holding one is never
# open data (开放), whatever else it is.
PERSONAL = {"公民身份号码": "id_number", "姓名": "name", "学生姓名": "name", "所有人": "name", "权利人": "name",
            "联系电话": "phone", "现住址": "address", "户籍地址": "address", "个人社保编号": "full", "学籍号": "full",
            "公积金账号": "full", "个人缴费金额": "full"}
# How a department names a second resource on the same stem: a real catalog adds what differs.
VARIANTS = ("{stem}", "{stem}（{year}年度）", "{stem}变更记录", "{stem}统计汇总", "{stem}（历史库）")
CONDITIONS = ("须说明办理事项及法定依据，经提供方审核后共享", "仅限行政审批与监管用途", "须签订数据安全保护协议")
BASES = ("《中华人民共和国个人信息保护法》第十三条", "《中华人民共和国保守国家秘密法》", "《政务信息资源共享管理暂行办法》第九条")
CYCLES = ("realtime", "daily", "daily", "weekly", "monthly", "monthly", "quarterly", "half_yearly", "yearly", "irregular")


# Which topics a department publishes, by words in its name; a department that matches none
# (a data bureau, a general office) publishes on every topic.
DEPARTMENT_TOPICS = (
    (("公安", "治安"), ("人口", "交管")),
    (("民政", "社会组织"), ("民政", "社会组织")),
    (("人力资源", "社会保障", "社会保险", "社保"), ("社保",)),
    (("自然资源", "不动产", "测绘"), ("自然资源",)),
    (("市场监", "登记注册"), ("市场主体", "市场证照", "市场信用")),
    (("税务", "征管"), ("信用", "纳税人")),
    (("卫生", "健康", "统计信息"), ("卫生",)),
    (("交通", "公路"), ("交通", "运输证照")),
    (("教育", "学生"), ("教育",)),
    (("住房", "公积金", "建设"), ("住房", "建设证照")),
)


def topics_of(provider_name: str) -> list[str]:
    for words, topics in DEPARTMENT_TOPICS:
        if any(word in provider_name for word in words):
            return list(topics)
    return list(ALL_TOPICS)


def entries_for(provider_code: str, provider_name: str, count: int, *, seed: int | str = 0,
                start: int = 1, place: str = "") -> Iterator[Entry]:
    """`count` entries of one department, codes provider_code/start.., deterministic per seed."""
    rng = random.Random(f"{seed}:{provider_code}")
    topics = topics_of(provider_name)
    named: set[str] = set()
    for seq in range(start, start + count):
        topic = rng.choice(topics)
        stems, items = TOPICS[topic]
        stem = rng.choice(stems)
        share = rng.choices(("unconditional", "conditional", "not_shared"), (55, 38, 7))[0]
        picked = rng.sample(items, k=rng.randint(2, 7))  # a test seed stays small; sim.synthetic draws more
        year = rng.randint(2015, 2025)
        rng.random()  # drawn as before names lost their numbers, so that every later draw stays
        name = next((n for n in (place + v.format(stem=stem, year=year) for v in VARIANTS) if n not in named),
                    f"{place}{stem}（{year}年度，第{seq}批）")
        named.add(name)
        personal = any(item in PERSONAL for item, _, _ in picked)
        # A person's or an enterprise's record is asked by its ID number or credit code (Query, Verify).
        key_item = next((k for k in KEY_ITEMS if any(item == k for item, _, _ in picked)), "")
        yield Entry(
            resource_code=f"{provider_code}/{seq:06d}",
            name=name,
            summary=f"{provider_name}汇聚的{topic}领域数据：{stem}，按{rng.choice(('区县', '乡镇', '街道', '行业'))}分类，"
                    f"自{year}年起持续更新。",
            provider_code=provider_code,
            provider_name=provider_name,
            region_code=provider_code[:6],
            category=rng.choices(("base", "theme", "department"), (30, 30, 40))[0],
            data_items=tuple(DataItem(item, kind, length, "", key=item == key_item, personal=PERSONAL.get(item, ""))
                             for item, kind, length in picked),
            share_type=share,
            share_condition=rng.choice(CONDITIONS) if share == "conditional" else "",
            not_shared_basis=rng.choice(BASES) if share == "not_shared" else "",
            share_method=rng.choice(("api", "api", "file", "database")),
            # drawn for every entry, so that later draws stay; personal data is never open
            open_type=[rng.choice(("open", "conditional_open", "not_open", "not_open")), "not_open"][personal],
            update_cycle=rng.choice(CYCLES),
            source_system=f"{topic}信息管理系统",
            keywords=(topic, stem[:2]),
        )
