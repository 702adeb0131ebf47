"""The departments of a county's living-supplies group and their written duties (P5).

Taken from a county living-supplies plan: the development and reform
commission and the commerce bureau lead; grain, transport, agriculture, market
regulation, public security, city management, publicity, civil affairs,
finance, emergency management and statistics take part. The health commission
is added from the medical-supplies plan (P8), where it advises on the use of
medical goods.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DepartmentSpec:
    key: str
    name_zh: str
    duties: tuple[tuple[str, str, str], ...]  # (measure, role, duty text)


SUPPLIES = "生活物资保障"
TRANSPORT = "运输保障"
PRICES = "价格与质量监管"
RELIEF = "困难群众救助"
INFORMATION = "信息发布与舆论引导"
RESERVES = "储备与调拨"
MEDICAL = "重要医疗物资保供"

DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("drc", "发改委", ((SUPPLIES, "lead", "牵头疫情防控生活物资保障工作。"),)),
    DepartmentSpec(
        "commerce",
        "商务局",
        (
            (SUPPLIES, "lead", "牵头疫情防控生活物资保障工作;督促超市卖场、农批市场、农贸市场做好生活必需品供应。"),
            (RESERVES, "lead", "建立蔬菜、食用油、食盐等重要生活必需品储备制度,足额保障疫区生活物资。"),
            (MEDICAL, "lead", "牵头组织落实重要医疗物资保供工作;建立完善统一调拨、调配和配送制度。"),
        ),
    ),
    DepartmentSpec(
        "grain",
        "粮储中心",
        (
            (RESERVES, "lead", "负责粮源的组织安排;按规定程序动用粮食储备。"),
            (SUPPLIES, "cooperating", "建立粮食市场信息监测日报制度,及时掌握粮食供应、库存和价格变化,及时预警。"),
            (SUPPLIES, "cooperating", "做好粮食加工、配送、供应等环节的有效衔接,确保各环节运行畅通。"),
        ),
    ),
    DepartmentSpec(
        "transport",
        "交通运输局",
        (
            (TRANSPORT, "lead", "落实生活物资运输“绿色通道”制度,确保粮油、蔬菜、肉蛋奶等重要生活物资优先顺畅通行。"),
            (TRANSPORT, "lead", "充实道路货运应急运力库,摸清物流企业运力状况,遇运力困难时及时组织运力补充。"),
        ),
    ),
    DepartmentSpec(
        "agriculture",
        "农业农村局",
        ((SUPPLIES, "cooperating", "组织农业企业、合作社和家庭农场开展农业生产;摸清粮食、蔬菜、畜禽生产情况。"),),
    ),
    DepartmentSpec(
        "market_regulation",
        "市场监管局",
        (
            (PRICES, "lead", "做好生活物资的价格管理和食品安全、质量安全管理;加强粮油、蔬菜、肉蛋奶价格巡查。"),
            (PRICES, "lead", "严厉打击哄抬物价、囤积居奇、制假售假等价格违法行为。"),
        ),
    ),
    DepartmentSpec(
        "public_security",
        "公安局",
        (
            (INFORMATION, "cooperating", "坚决遏制和打击不实传言和恶意炒作,依法处置故意造成社会恐慌的行为。"),
            (TRANSPORT, "cooperating", "协同做好运输保障工作。"),
        ),
    ),
    DepartmentSpec(
        "city_management", "城管局", ((SUPPLIES, "cooperating", "加强居民用水用气监测预警,协调做好供应保障。"),)
    ),
    DepartmentSpec(
        "publicity",
        "宣传部",
        (
            (INFORMATION, "lead", "加强生活物资供应情况的信息发布和宣传报道。"),
            (SUPPLIES, "cooperating", "及时组织志愿者参加疫情防控志愿活动。"),
        ),
    ),
    DepartmentSpec(
        "civil_affairs",
        "民政局",
        (
            (RELIEF, "lead", "掌握符合条件的困难群众生活必需品需求情况,及时进行基本生活救助。"),
            (RELIEF, "lead", "指导养老机构、特困人员供养机构、儿童福利机构、精神福利机构做好疫情防控工作。"),
        ),
    ),
    DepartmentSpec("finance", "财政局", ((SUPPLIES, "cooperating", "负责市场供应应急处置相关的财政资金保障工作。"),)),
    DepartmentSpec(
        "emergency",
        "应急管理局",
        ((RESERVES, "cooperating", "做好相关生活应急物资的调配工作,及时调拨物资;使用完毕清洗、消毒后入库。"),),
    ),
    DepartmentSpec("statistics", "统计局", ((SUPPLIES, "cooperating", "为生活物资供应保障工作提供数据支持。"),)),
    DepartmentSpec(
        "health",
        "卫健委",
        ((MEDICAL, "cooperating", "提出合理分类使用医疗物资的指导意见,根据疫情趋势提供保供需求和调整建议。"),),
    ),
)
