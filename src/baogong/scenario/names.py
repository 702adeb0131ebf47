"""Synthetic but realistic-looking names, phone numbers and ID numbers.

Everything is drawn from a `random.Random` passed in, so the same seed gives
the same people. None of it belongs to anyone: ID numbers use the unassigned
"99" province prefix.
"""

from __future__ import annotations

import itertools
import random

# The most common surnames, weighted roughly by frequency (rec: 2020 household register ranking).
_SURNAMES = "".join(
    (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈",
        "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤",
    )
)
_SURNAME_WEIGHTS = tuple(itertools.accumulate(1.0 / (rank + 8) for rank in range(len(_SURNAMES))))
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国"
    "文斌宇浩凯鹏飞俊峰辉鑫波宁慧颖琳晨欣怡佳雪梅婷丹春海东志新荣德福海燕"
)
_PHONE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157",
    "158", "159", "166", "170", "173", "175", "176", "177", "180", "181", "182", "183", "185", "186", "187",
    "188", "189", "191", "198", "199",
)  # fmt: skip
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_COMPOUND_STEMS = (
    "和平", "幸福", "阳光", "锦绣", "翠湖", "金桥", "东方", "新华", "明珠", "春晖", "康乐", "福安", "天润", "紫荆",
    "丽景", "长青", "海棠", "梧桐", "香樟", "枫林", "嘉园", "瑞和", "恒盛", "兴业", "宏达", "银杏", "滨江", "碧水",
    "清源", "朝阳", "安居", "祥和", "馨苑", "景秀", "华庭", "御景", "云栖", "望江", "金色", "世纪",
)  # fmt: skip
_COMPOUND_SUFFIXES = ("小区", "花园", "苑", "新村", "家园", "公寓", "雅苑", "名邸")
_PLACE_STEMS = (
    "城关", "东城", "西城", "南关", "北关", "新港", "临河", "望湖", "青石", "柳岸", "白沙", "桃源", "石桥", "双河",
    "长岭", "杨柳", "高桥", "沙湾", "河口", "龙泉", "凤鸣", "金山", "马坊", "黄庄", "李集", "三里", "五里", "七里",
    "花园", "新华", "人民", "解放", "建设", "团结", "胜利", "民主", "文化", "光明", "和平", "永安",
)  # fmt: skip
_VILLAGE_STEMS = (
    "王庄", "李家", "张湾", "刘集", "陈村", "杨圩", "赵岗", "周楼", "吴店", "孙营", "马桥", "朱湖", "胡庄", "郭岭",
    "何坝", "高庄", "林场", "罗湾", "郑集", "梁庄", "谢岗", "宋楼", "唐湾", "许庄", "韩村", "冯楼", "邓岗", "曹集",
)  # fmt: skip


def person_name(rng: random.Random) -> str:
    surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
    if rng.random() < 0.7:
        return surname + _GIVEN[rng.randrange(len(_GIVEN))] + _GIVEN[rng.randrange(len(_GIVEN))]
    return surname + _GIVEN[rng.randrange(len(_GIVEN))]


def phone_number(rng: random.Random) -> str:
    return f"{_PHONE_PREFIXES[rng.randrange(len(_PHONE_PREFIXES))]}{rng.randrange(100_000_000):08d}"


def id_number(rng: random.Random, *, birth_year: int) -> str:
    """An 18-digit resident ID with a valid check digit and the unassigned 99 province code."""
    body = (
        f"99{rng.randrange(100):02d}{rng.randrange(1, 30):02d}"
        f"{birth_year:04d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
    )
    total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def compound_name(index: int) -> str:
    """Distinct within a subdistrict for the first 320 compounds: stems x suffixes, then numbered."""
    stem = _COMPOUND_STEMS[index % len(_COMPOUND_STEMS)]
    suffix = _COMPOUND_SUFFIXES[(index // len(_COMPOUND_STEMS)) % len(_COMPOUND_SUFFIXES)]
    lap = index // (len(_COMPOUND_STEMS) * len(_COMPOUND_SUFFIXES))
    return f"{stem}{suffix}" + (f"{lap + 1}期" if lap else "")


def place_name(index: int) -> str:
    stem = _PLACE_STEMS[index % len(_PLACE_STEMS)]
    lap = index // len(_PLACE_STEMS)
    return stem + ("" if lap == 0 else "东西南北中"[(lap - 1) % 5] + ("" if lap <= 5 else str(lap)))


def village_name(index: int) -> str:
    stem = _VILLAGE_STEMS[index % len(_VILLAGE_STEMS)]
    lap = index // len(_VILLAGE_STEMS)
    return stem + ("" if lap == 0 else "东西南北中"[(lap - 1) % 5] + ("" if lap <= 5 else str(lap)))
