"""Buildings, units, households and volunteers of one compound, from the compound's own random stream."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from baogong.regions.models import VULNERABILITY_BITS, RegionLevel

from . import names
from .parameters import Preset
from .plan import CompoundPlan

# Volunteer accounts cannot sign in until someone sets a password: Django
# treats a hash starting with "!" as unusable. One constant keeps the load fast
# (no hashing per account) and deterministic.
VOLUNTEER_PASSWORD = "!scenario-volunteer"  # noqa: S105 - an unusable marker, not a secret


class HouseholdDraw:
    """Household size, vulnerability tags and online ordering, drawn per household.

    Shares come from the preset's basis model; the conditional probabilities
    are solved so the overall shares match it (e.g. alone elderly are drawn
    among one-person households only).
    """

    def __init__(self, preset: Preset) -> None:
        vulnerable = preset.vulnerable
        extra = preset.generator["vulnerable"]
        self.sizes = [size for size, _ in preset.household_size_dist]
        self.cumulative = list(itertools.accumulate(share for _, share in preset.household_size_dist))
        self.cumulative[-1] = 1.0
        self.tail = preset.size_tail
        self.tail_start = preset.size_tail[0] if preset.size_tail else -1
        single_share = dict(preset.household_size_dist).get(1, 0.0)
        self.p_elderly_alone = min(1.0, vulnerable["elderly_alone_share_households"] / single_share)
        self.p_low_income = vulnerable["low_income_share_households"]
        self.p_tekun = float(extra["tekun_share_of_low_income"])
        self.p_chronic_person = float(extra["chronic_needs_run_share_persons"])
        self.p_reduced_person = vulnerable.get("disabled_share_persons", 0.06) * float(
            extra["disabled_reduced_mobility_share"]
        )
        self.p_lost_only_child = float(extra["lost_only_child_share_households"])
        self.p_alone_offline = float(extra["elderly_alone_cannot_order_share"])
        offline = vulnerable["cannot_order_online_share_households"]
        alone = vulnerable["elderly_alone_share_households"]
        self.p_other_offline = max(0.0, (offline - alone * self.p_alone_offline) / (1 - alone))
        self.with_id = bool(extra["id_number_for_relief_households"])
        bits = VULNERABILITY_BITS
        self.bit_alone = bits["elderly_alone"]
        self.bit_dibao = bits["dibao"]
        self.bit_tekun = bits["tekun"]
        self.bit_poor = bits["poor_registered"]
        self.bit_chronic = bits["chronic_patient"]
        self.bit_reduced = bits["reduced_mobility"]
        self.bit_poor_disabled = bits["poor_disabled"]
        self.bit_lost = bits["lost_only_child"]

    def draw(self, rng: random.Random, is_rural: bool) -> tuple[int, int, bool, str]:
        random_ = rng.random
        size = self.sizes[bisect.bisect_left(self.cumulative, random_())]
        if size == self.tail_start:
            size = self.tail[rng.randrange(len(self.tail))]
        mask = 0
        alone = size == 1 and random_() < self.p_elderly_alone
        if alone:
            mask |= self.bit_alone
        low_income = random_() < self.p_low_income
        if low_income:
            mask |= self.bit_tekun if random_() < self.p_tekun else self.bit_dibao
            if is_rural and random_() < 0.3:  # asm: rural low-income households are often also registered poor
                mask |= self.bit_poor
        if random_() < 1 - (1 - self.p_chronic_person) ** size:
            mask |= self.bit_chronic
        if random_() < 1 - (1 - self.p_reduced_person) ** size:
            mask |= self.bit_reduced | (self.bit_poor_disabled if low_income else 0)
        if random_() < self.p_lost_only_child:
            mask |= self.bit_lost
        online = random_() >= (self.p_alone_offline if alone else self.p_other_offline)
        id_number = ""
        if low_income and self.with_id:
            id_number = names.id_number(rng, birth_year=1940 + rng.randrange(60))
        return size, mask, online, id_number


@dataclass
class Keys:
    region: int
    household: int
    user: int


def compound_rows(
    compound: CompoundPlan,
    *,
    preset: Preset,
    seed: int,
    ids: Keys,
    draw: HouseholdDraw,
    regions: list[tuple[Any, ...]],
    households: list[tuple[Any, ...]],
    users: list[tuple[Any, ...]],
) -> int:
    """Buildings, units, households and volunteers of one compound. Returns its population."""
    gen = preset.generator
    rng = random.Random(f"{seed}/{compound.code}")  # noqa: S311 - reproducible synthetic data, not secrets
    total = compound.households
    rural = compound.is_rural
    if rural:
        building_count = max(1, round(total / int(gen["households_per_village_group"])))
        units_per_building = [1] * building_count
    else:
        per_building = gen["households_per_building"]
        building_count = max(1, math.ceil(total / rng.uniform(per_building["min"], per_building["max"])))
        if preset.buildings_per_compound is not None:
            bounds = preset.buildings_per_compound
            building_count = min(max(building_count, bounds.minimum), bounds.maximum)
        choices = gen["units_per_building"]
        units_per_building = [choices[rng.randrange(len(choices))] for _ in range(building_count)]
    unit_count = sum(units_per_building)
    base, extra = divmod(total, unit_count)
    population = 0
    unit_number = 0
    for b, units in enumerate(units_per_building, start=1):
        building_id = ids.region
        ids.region += 1
        building_path = f"{compound.path}{building_id}/"
        building_code = f"{compound.code}B{b:03d}"
        regions.append(
            (
                building_id,
                compound.id,
                RegionLevel.BUILDING.value,
                building_code,
                f"第{b}村民小组" if rural else f"{b}号楼",
                building_path,
                rural,
                None,
                None,
            )
        )
        for u in range(1, units + 1):
            unit_id = ids.region
            ids.region += 1
            regions.append(
                (
                    unit_id,
                    building_id,
                    RegionLevel.UNIT.value,
                    f"{building_code}U{u}",
                    "全组" if rural else f"{u}单元",
                    f"{building_path}{unit_id}/",
                    rural,
                    None,
                    None,
                )
            )
            in_unit = base + (1 if unit_number < extra else 0)
            unit_number += 1
            per_floor = 2 if in_unit <= 12 else 4 if in_unit <= 64 else 8
            for k in range(in_unit):
                room = f"{k + 1}号" if rural else f"{k // per_floor + 1}{k % per_floor + 1:02d}"
                size, mask, online, id_number = draw.draw(rng, rural)
                population += size
                households.append(
                    (
                        ids.household,
                        unit_id,
                        compound.id,
                        room,
                        names.person_name(rng),
                        size,
                        names.phone_number(rng),
                        id_number,
                        mask,
                        online,
                        "",
                    )
                )
                ids.household += 1
    for v in range(1, compound.volunteers + 1):
        full_name = names.person_name(rng)
        users.append(
            (
                ids.user,
                VOLUNTEER_PASSWORD,
                f"v{compound.code}-{v}",
                full_name[1:],
                full_name[0],
                "",
                False,
                True,
                False,
                "volunteer",
                compound.id,
                names.phone_number(rng),
            )
        )
        ids.user += 1
    return population
