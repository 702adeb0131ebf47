"""The commodity catalogue and standard kits, as data.

Loaded (idempotently, by code) by `catalog.services.catalog_seed_load`.
Per-capita demand is the county model of `scenario/parameters.yaml`
(`county_500k.daily_demand_kg_per_person`, kg or litres per person per day),
split over the commodities of each line: a test keeps the two in step.
Reserve targets follow `common.reserves_days_target` (grain and oil 20 days,
meat 7, storable vegetables 7); fresh goods that cannot be held that long get
shorter targets (assumptions, noted inline). Medical tiers follow P8: tier 1
everyday front-line protection, tier 2 isolation and mass testing, tier 3
specialist or short-shelf-life goods.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommoditySpec:
    code: str
    name_zh: str
    name_en: str
    category: str
    unit: str
    weight_kg: str
    volume_l: str
    shelf_life_days: int | None = None
    is_cold_chain: bool = False
    daily_kg_per_person: str | None = None
    medical_tier: int | None = None
    reserve_days_target: int | None = None


@dataclass(frozen=True)
class KitSpec:
    code: str
    kind: str
    name_zh: str
    name_en: str
    description: str
    lines: tuple[tuple[str, int], ...]


C = CommoditySpec

COMMODITIES: tuple[CommoditySpec, ...] = (
    # Grain and oil: 20-day reserve target.
    C("rice_5kg", "大米", "Rice", "rice", "袋(5公斤)", "5.000", "6.500", 365, False, "0.1500", None, 20),
    C("flour_5kg", "面粉", "Wheat flour", "flour", "袋(5公斤)", "5.000", "7.000", 270, False, "0.1200", None, 20),
    C("oil_5l", "食用油", "Edible oil", "edible_oil", "桶(5升)", "4.600", "5.500", 540, False, "0.0350", None, 20),
    # Meat: 0.080 kg pork = fresh + frozen reserve pork; reserve target 3-7 days.
    C("pork_fresh", "鲜猪肉", "Fresh pork", "pork", "公斤", "1.000", "1.200", 3, True, "0.0500", None, 3),
    C("pork_frozen", "冻猪肉", "Frozen pork", "pork", "公斤", "1.000", "1.200", 365, True, "0.0300", None, 7),
    C(
        "chicken_frozen",
        "冻鸡肉",
        "Frozen chicken",
        "other_meat",
        "公斤",
        "1.000",
        "1.300",
        270,
        True,
        "0.0400",
        None,
        7,
    ),
    # Vegetables: 0.35 kg = 0.23 storable + 0.12 leafy; counted in jin (500 g) as markets sell them.
    C(
        "cabbage",
        "大白菜",
        "Chinese cabbage",
        "storable_vegetables",
        "斤(500克)",
        "0.500",
        "1.200",
        20,
        False,
        "0.0800",
        None,
        7,
    ),
    C("potato", "土豆", "Potato", "storable_vegetables", "斤(500克)", "0.500", "0.800", 60, False, "0.0600", None, 7),
    C("onion", "洋葱", "Onion", "storable_vegetables", "斤(500克)", "0.500", "0.900", 60, False, "0.0300", None, 7),
    C("carrot", "胡萝卜", "Carrot", "storable_vegetables", "斤(500克)", "0.500", "0.800", 30, False, "0.0300", None, 7),
    C(
        "radish",
        "白萝卜",
        "White radish",
        "storable_vegetables",
        "斤(500克)",
        "0.500",
        "0.800",
        30,
        False,
        "0.0300",
        None,
        7,
    ),
    # A packed box of mixed vegetables (the "一箱菜" of the relief kit); not counted in per-capita demand,
    # its contents are.
    C("veg_box", "蔬菜包", "Vegetable box", "storable_vegetables", "箱(5.5公斤)", "5.500", "20.000", 5),
    # asm: leafy greens keep 3 days.
    C("greens", "青菜", "Bok choy", "leafy_vegetables", "斤(500克)", "0.500", "1.500", 3, False, "0.0700", None, 3),
    C("spinach", "菠菜", "Spinach", "leafy_vegetables", "斤(500克)", "0.500", "1.500", 3, False, "0.0500", None, 3),
    # asm: eggs 7 days, milk and fruit 5 days, aquatic 7 days (frozen), salt 30 days, water 7 days.
    C("eggs", "鸡蛋", "Eggs", "eggs", "盒(30枚)", "1.800", "3.000", 30, False, "0.0420", None, 7),
    C("milk", "纯牛奶", "Milk", "milk", "箱(24×250毫升)", "6.400", "8.000", 180, False, "0.0450", None, 5),
    C("fish_frozen", "冻鱼", "Frozen fish", "aquatic", "公斤", "1.000", "1.200", 270, True, "0.0300", None, 7),
    C("apple", "苹果", "Apples", "fruit", "公斤", "1.000", "1.800", 60, False, "0.1500", None, 5),
    C("instant_noodles", "方便面", "Instant noodles", "instant_food", "箱(24包)", "2.600", "20.000", 180),
    C(
        "water_bottled",
        "瓶装饮用水",
        "Bottled water",
        "drinking_water",
        "箱(24×550毫升)",
        "13.500",
        "16.000",
        365,
        False,
        "0.5000",
        None,
        7,
    ),
    C("salt", "食盐", "Salt", "salt_condiments", "袋(400克)", "0.400", "0.350", 1095, False, "0.0090", None, 30),
    C("infant_formula", "婴幼儿配方奶粉", "Infant formula", "infant_formula", "罐(800克)", "1.000", "2.500", 720),
    C(
        "special_medical_food",
        "特殊医学用途配方食品",
        "Food for special medical purposes",
        "special_medical_food",
        "罐(400克)",
        "0.500",
        "1.500",
        540,
    ),
    # Daily necessities.
    C("toilet_paper", "卫生纸", "Toilet paper", "daily_necessities", "提(10卷)", "1.200", "12.000"),
    C("disinfectant_84", "84消毒液", "84 disinfectant", "daily_necessities", "瓶(500毫升)", "0.600", "0.600", 365),
    C("alcohol_75", "75%酒精", "75% alcohol", "daily_necessities", "瓶(500毫升)", "0.450", "0.600", 730),
    C("thermometer", "电子体温计", "Electronic thermometer", "daily_necessities", "支", "0.030", "0.100"),
    C("sprayer", "喷壶", "Sprayer", "daily_necessities", "个", "0.300", "2.000"),
    C("loudspeaker", "扩音喇叭", "Loudspeaker", "daily_necessities", "个", "0.800", "3.000"),
    # P8 tier 1: everyday front-line protection; masks held for 10 days (common.reserves_days_target).
    C(
        "mask_surgical",
        "医用外科口罩",
        "Surgical mask",
        "protective_medical",
        "只",
        "0.004",
        "0.020",
        730,
        False,
        None,
        1,
        10,
    ),
    C(
        "mask_n95",
        "医用防护口罩(N95)",
        "N95 respirator",
        "protective_medical",
        "只",
        "0.010",
        "0.100",
        1095,
        False,
        None,
        1,
        10,
    ),
    C(
        "protective_suit",
        "医用防护服",
        "Protective suit",
        "protective_medical",
        "套",
        "0.500",
        "2.000",
        730,
        False,
        None,
        1,
        10,
    ),
    C(
        "goggles",
        "医用护目镜",
        "Medical goggles",
        "protective_medical",
        "副",
        "0.100",
        "0.500",
        None,
        False,
        None,
        1,
        10,
    ),
    C(
        "gloves_medical",
        "医用手套",
        "Medical gloves",
        "protective_medical",
        "副",
        "0.010",
        "0.050",
        1095,
        False,
        None,
        1,
        10,
    ),
    C(
        "hand_sanitiser",
        "免洗手消毒液",
        "Hand sanitiser",
        "protective_medical",
        "瓶(500毫升)",
        "0.550",
        "0.600",
        730,
        False,
        None,
        1,
        10,
    ),
    C(
        "ir_thermometer",
        "手持式红外测温仪(额温枪)",
        "Infrared forehead thermometer",
        "protective_medical",
        "支",
        "0.200",
        "0.600",
        None,
        False,
        None,
        1,
        10,
    ),
    # P8 tier 2: isolation sites and mass testing.
    C(
        "isolation_gown",
        "医用隔离衣",
        "Isolation gown",
        "protective_medical",
        "件",
        "0.200",
        "1.000",
        1095,
        False,
        None,
        2,
        10,
    ),
    C("medical_cap", "医用帽", "Medical cap", "protective_medical", "只", "0.005", "0.050", 1095, False, None, 2, 10),
    C("shoe_covers", "医用鞋套", "Shoe covers", "protective_medical", "副", "0.010", "0.050", 1095, False, None, 2, 10),
    C(
        "face_shield",
        "医用防护面罩",
        "Face shield",
        "protective_medical",
        "只",
        "0.100",
        "0.800",
        None,
        False,
        None,
        2,
        10,
    ),
    C(
        "chlorine_tablets",
        "含氯泡腾消毒片",
        "Chlorine tablets",
        "protective_medical",
        "瓶(100片)",
        "0.120",
        "0.200",
        730,
        False,
        None,
        2,
        10,
    ),
    # P8 tier 3: specialist use or short shelf life.
    C(
        "medical_alcohol",
        "医用酒精",
        "Medical alcohol",
        "protective_medical",
        "瓶(500毫升)",
        "0.450",
        "0.600",
        730,
        False,
        None,
        3,
    ),
    C(
        "test_reagent",
        "核酸检测试剂",
        "Nucleic-acid test reagent",
        "protective_medical",
        "盒(48人份)",
        "0.300",
        "1.000",
        180,
        True,
        None,
        3,
    ),
    # Medicines for medicine runs (long prescriptions of chronic patients).
    C("antihypertensive", "苯磺酸氨氯地平片", "Amlodipine tablets", "medicine", "盒(28片)", "0.050", "0.100", 730),
    C("antidiabetic", "盐酸二甲双胍片", "Metformin tablets", "medicine", "盒(60片)", "0.060", "0.100", 730),
)

KITS: tuple[KitSpec, ...] = (
    KitSpec(
        "relief_kit_8",
        "relief_kit",
        "“八个一”救助包",
        "Eight-ones relief kit",
        "为困难家庭每户救助一箱菜、一袋米、一袋面、一桶油、一个体温计、一瓶84消毒液、一瓶75%酒精和三只口罩。",
        (
            ("veg_box", 1),
            ("rice_5kg", 1),
            ("flour_5kg", 1),
            ("oil_5l", 1),
            ("thermometer", 1),
            ("disinfectant_84", 1),
            ("alcohol_75", 1),
            ("mask_surgical", 3),
        ),
    ),
    KitSpec(
        "veg_package_std",
        "vegetable_package",
        "标准蔬菜包(5.5公斤,6种)",
        "Standard vegetable package (5.5 kg, 6 kinds)",
        "6种蔬菜共11斤(5.5公斤),以耐储菜为主,内容轮换、重量不变。",
        (("cabbage", 3), ("potato", 2), ("onion", 2), ("carrot", 1), ("radish", 2), ("greens", 1)),
    ),
    KitSpec(
        "school_class_kit",
        "school_class_kit",
        "班级防疫标配",
        "School class kit",
        "每个班级标配额温枪、电子体温计、免洗消毒液、消毒液及喷壶。",
        (("ir_thermometer", 1), ("thermometer", 2), ("hand_sanitiser", 1), ("disinfectant_84", 1), ("sprayer", 1)),
    ),
    KitSpec(
        "subdistrict_kit",
        "subdistrict_kit",
        "社区常备物资",
        "Subdistrict standing kit",
        "社区常备物资:喇叭、额温枪、消毒液、喷壶。",
        (("loudspeaker", 1), ("ir_thermometer", 1), ("disinfectant_84", 1), ("sprayer", 1)),
    ),
)

# How the per-capita lines of parameters.yaml map onto categories (for the consistency test).
DEMAND_LINES: dict[str, tuple[str, ...]] = {
    "rice": ("rice",),
    "flour": ("flour",),
    "edible_oil": ("edible_oil",),
    "pork": ("pork",),
    "poultry": ("other_meat",),
    "eggs": ("eggs",),
    "milk_l": ("milk",),
    "vegetables": ("storable_vegetables", "leafy_vegetables"),
    "aquatic": ("aquatic",),
    "fruit": ("fruit",),
    "salt": ("salt_condiments",),
    "bottled_water_l": ("drinking_water",),
}
