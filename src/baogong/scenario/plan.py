"""The skeleton of a scenario: everything above the building level.

Roots, subdistricts, communities and compounds (with their household counts
and positions), supermarkets and the compound pairings are planned up front:
even for the city that is ~20,000 small objects. Buildings, units, households
and volunteers are generated later, one compound at a time, from the
compound's own random stream (`generator.py`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from . import names
from .parameters import Preset

KM_PER_DEGREE = 111.0


@dataclass
class CompoundPlan:
    id: int
    code: str
    name: str
    is_rural: bool
    households: int
    volunteers: int
    latitude: float
    longitude: float
    root: int
    path: str = ""
    supermarket: int = -1
    backup: int | None = None
    distance_km: float = 0.0
    zone: str = ""


@dataclass
class CommunityPlan:
    id: int
    code: str
    name: str
    is_rural: bool
    compounds: list[CompoundPlan] = field(default_factory=list)
    latitude: float = 0.0
    longitude: float = 0.0
    path: str = ""


@dataclass
class SubdistrictPlan:
    id: int
    index: int
    root: int
    code: str
    name: str
    is_rural: bool
    latitude: float
    longitude: float
    communities: list[CommunityPlan] = field(default_factory=list)
    path: str = ""

    @property
    def households(self) -> int:
        return sum(c.households for community in self.communities for c in community.compounds)

    def compounds(self) -> list[CompoundPlan]:
        return [c for community in self.communities for c in community.compounds]


@dataclass
class RootPlan:
    id: int
    index: int
    code: str
    name: str
    latitude: float
    longitude: float
    subdistricts: list[SubdistrictPlan] = field(default_factory=list)
    path: str = ""


@dataclass
class SupermarketPlan:
    index: int
    root: int
    subdistrict: int
    name: str
    latitude: float
    longitude: float
    capacity: int
    load: int = 0


@dataclass
class ScenarioPlan:
    roots: list[RootPlan]
    supermarkets: list[SupermarketPlan]
    next_region_id: int

    def subdistricts(self) -> list[SubdistrictPlan]:
        return [s for root in self.roots for s in root.subdistricts]

    def communities(self) -> list[CommunityPlan]:
        return [c for s in self.subdistricts() for c in s.communities]

    def compounds(self) -> list[CompoundPlan]:
        return [k for c in self.communities() for k in c.compounds]


def allocate(total: int, weights: list[float], rng: random.Random | None = None) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder).

    Ties in the remainder go in a seeded random order when `rng` is given, so
    equal weights do not always favour the first items.
    """
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights must not all be zero")
    exact = [total * w / weight_sum for w in weights]
    result = [math.floor(x) for x in exact]
    order = list(range(len(weights)))
    if rng is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: -(exact[i] - result[i]))
    for i in order[: total - sum(result)]:
        result[i] += 1
    return result


def allocate_bounded(total: int, weights: list[float], low: int, high: int) -> list[int]:
    """Split `total` proportionally to `weights`, every part within [low, high]."""
    n = len(weights)
    if not n * low <= total <= n * high:
        raise ValueError(f"cannot split {total} into {n} parts within [{low}, {high}]")
    scale = total / sum(weights)
    values = [w * scale for w in weights]
    for _ in range(100):
        values = [min(max(v, low), high) for v in values]
        diff = total - sum(values)
        if abs(diff) < 1e-6:
            break
        free = [i for i, v in enumerate(values) if (v < high if diff > 0 else v > low)]
        free_sum = sum(values[i] for i in free)
        factor = 1 + diff / free_sum
        for i in free:
            values[i] *= factor
    result = allocate(total, values)
    # Largest remainder can step one past a bound only through rounding; pull it back.
    for i in range(n):
        while result[i] > high:
            result[i] -= 1
            j = min((j for j in range(n) if result[j] < high), key=lambda j: result[j])
            result[j] += 1
        while result[i] < low:
            result[i] += 1
            j = max((j for j in range(n) if result[j] > low), key=lambda j: result[j])
            result[j] -= 1
    return result


def _scatter(rng: random.Random, latitude: float, longitude: float, sigma_km: float) -> tuple[float, float]:
    dlat = rng.gauss(0.0, sigma_km) / KM_PER_DEGREE
    dlon = rng.gauss(0.0, sigma_km) / (KM_PER_DEGREE * math.cos(math.radians(latitude)))
    return round(latitude + dlat, 6), round(longitude + dlon, 6)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: exact enough within a city, and cheap for 10^6 pairs."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371.0 * math.hypot(x, y)


def _household_sizes(preset: Preset, rng: random.Random, count: int, total: int) -> list[int]:
    bounds = preset.households_per_compound
    sigma = float(preset.generator["households_per_compound_sigma"])
    mu = math.log(bounds.median)
    raw = [min(max(rng.lognormvariate(mu, sigma), bounds.minimum), bounds.maximum) for _ in range(count)]
    return allocate_bounded(total, raw, bounds.minimum, bounds.maximum)


def scenario_plan(preset: Preset, *, seed: int, first_region_id: int) -> ScenarioPlan:
    rng = random.Random(f"{seed}/plan")  # noqa: S311 - reproducible synthetic data, not secrets
    gen = preset.generator
    scatter = gen["scatter_km"]
    n_roots = len(preset.roots)
    next_id = first_region_id

    # Roots: inner districts sit close to the centre, outer ones further out.
    roots: list[RootPlan] = []
    for i, root_name in enumerate(preset.roots):
        if n_roots == 1:
            lat, lon = preset.centre_latitude, preset.centre_longitude
        else:
            sigma = float(scatter["root"]) * (0.3 if i < preset.central_roots else 1.0)
            lat, lon = _scatter(rng, preset.centre_latitude, preset.centre_longitude, sigma)
        roots.append(
            RootPlan(id=next_id, index=i, code=f"99{i + 1:02d}00", name=root_name, latitude=lat, longitude=lon)
        )
        next_id += 1

    # Township units: subdistricts weighted to the inner roots, towns only in outer roots.
    outer = [i for i in range(n_roots) if i >= preset.central_roots] or list(range(n_roots))
    urban_per_root = allocate(
        preset.urban_subdistricts, [3.0 if i < preset.central_roots else 1.0 for i in range(n_roots)], rng
    )
    towns_per_root = [0] * n_roots
    for i, n in zip(outer, allocate(preset.rural_towns, [1.0] * len(outer), rng), strict=True):
        towns_per_root[i] = n
    subdistricts: list[SubdistrictPlan] = []
    for root in roots:
        for k in range(urban_per_root[root.index] + towns_per_root[root.index]):
            is_rural = k >= urban_per_root[root.index]
            sigma = float(scatter["subdistrict_rural" if is_rural else "subdistrict_urban"])
            lat, lon = _scatter(rng, root.latitude, root.longitude, sigma)
            place = names.place_name(len(subdistricts))
            sub = SubdistrictPlan(
                id=0,
                index=len(subdistricts),
                root=root.index,
                code=f"{root.code}{k + 1:03d}",
                name=f"{place}{'镇' if is_rural else '街道'}",
                is_rural=is_rural,
                latitude=lat,
                longitude=lon,
            )
            root.subdistricts.append(sub)
            subdistricts.append(sub)
    for sub in subdistricts:
        sub.id = next_id
        next_id += 1

    # Communities: neighbourhood committees everywhere (fewer in towns), villages in towns.
    nc_weights = [preset.town_neighbourhood_committee_weight if s.is_rural else 1.0 for s in subdistricts]
    nc_per_sub = allocate(preset.neighbourhood_committees, nc_weights, rng)
    towns = [s for s in subdistricts if s.is_rural]
    villages_per_town = allocate(preset.village_committees, [1.0] * len(towns), rng) if towns else []
    villages_of = {s.index: n for s, n in zip(towns, villages_per_town, strict=True)}
    neighbourhoods: list[CommunityPlan] = []
    villages: list[CommunityPlan] = []
    for sub in subdistricts:
        for k in range(nc_per_sub[sub.index]):
            # Offset past the subdistrict names so a community is never named like its subdistrict.
            community = CommunityPlan(
                id=0,
                code=f"{sub.code}{k + 1:03d}",
                name=f"{names.place_name(len(subdistricts) + len(neighbourhoods))}社区",
                is_rural=False,
            )
            sub.communities.append(community)
            neighbourhoods.append(community)
        for k in range(villages_of.get(sub.index, 0)):
            number = nc_per_sub[sub.index] + k + 1
            community = CommunityPlan(
                id=0,
                code=f"{sub.code}{200 + number:03d}",
                name=f"{names.village_name(sub.index * 7 + k)}村",
                is_rural=True,
            )
            sub.communities.append(community)
            villages.append(community)
    for community in (c for s in subdistricts for c in s.communities):
        community.id = next_id
        next_id += 1

    # Compounds and their households: log-normal sizes, scaled to the exact totals.
    urban_households = preset.households if not villages else round(preset.households * preset.urban_share_households)
    rural_households = preset.households - urban_households
    compounds_per_nc = allocate(preset.urban_compounds, [1.0] * len(neighbourhoods), rng)
    urban_sizes = _household_sizes(preset, rng, preset.urban_compounds, urban_households)
    rural_sizes = _household_sizes(preset, rng, len(villages), rural_households) if villages else []
    sub_of_community = {c.code: s for s in subdistricts for c in s.communities}
    urban_iter = iter(urban_sizes)
    rural_iter = iter(rural_sizes)
    nc_counts = iter(compounds_per_nc)
    compound_index_in_sub: dict[int, int] = {}
    all_compounds: list[CompoundPlan] = []
    for community in (c for s in subdistricts for c in s.communities):
        sub = sub_of_community[community.code]
        count = 1 if community.is_rural else next(nc_counts)
        for k in range(count):
            position = compound_index_in_sub.get(sub.index, 0)
            compound_index_in_sub[sub.index] = position + 1
            sigma = float(scatter["compound_rural" if community.is_rural else "compound_urban"])
            lat, lon = _scatter(rng, sub.latitude, sub.longitude, sigma)
            compound = CompoundPlan(
                id=0,
                code=f"{community.code}{k + 1:02d}",
                name=community.name if community.is_rural else names.compound_name(position + 13 * sub.index),
                is_rural=community.is_rural,
                households=next(rural_iter) if community.is_rural else next(urban_iter),
                volunteers=0,
                latitude=lat,
                longitude=lon,
                root=sub.root,
            )
            community.compounds.append(compound)
            all_compounds.append(compound)
        community.latitude = round(sum(c.latitude for c in community.compounds) / count, 6)
        community.longitude = round(sum(c.longitude for c in community.compounds) / count, 6)
    for compound in all_compounds:
        compound.id = next_id
        next_id += 1
    volunteers = allocate(preset.volunteers, [float(c.households) for c in all_compounds], rng)
    for compound, n in zip(all_compounds, volunteers, strict=True):
        compound.volunteers = n

    for root in roots:
        root.path = f"/{root.id}/"
        for sub in root.subdistricts:
            sub.path = f"{root.path}{sub.id}/"
            for community in sub.communities:
                community.path = f"{sub.path}{community.id}/"
                for compound in community.compounds:
                    compound.path = f"{community.path}{compound.id}/"

    supermarkets = _supermarkets_plan(preset, rng, subdistricts)
    _pairings_plan(preset, all_compounds, supermarkets)
    _zones_plan(preset, rng, all_compounds)
    return ScenarioPlan(roots=roots, supermarkets=supermarkets, next_region_id=next_id)


def _supermarkets_plan(
    preset: Preset, rng: random.Random, subdistricts: list[SubdistrictPlan]
) -> list[SupermarketPlan]:
    """Supermarkets near subdistrict centres, capacity in step with the local households."""
    gen = preset.generator
    count = preset.supply["paired_supermarkets"]
    weights = [float(s.households) for s in subdistricts]
    if count >= len(subdistricts):
        per_sub = [1 + n for n in allocate(count - len(subdistricts), weights, rng)]
    else:
        per_sub = allocate(count, weights, rng)
    load_per_household = float(gen["orders_per_household_per_day"])
    headroom = float(gen["supermarket_capacity_headroom"])
    chains = ("惠民超市", "万家福超市", "邻里鲜生活超市", "丰收超市", "家家乐超市", "百佳汇超市")
    supermarkets: list[SupermarketPlan] = []
    for sub, n in zip(subdistricts, per_sub, strict=True):
        if n == 0:
            continue
        capacity = math.ceil(sub.households * load_per_household * headroom / n)
        for k in range(n):
            lat, lon = _scatter(rng, sub.latitude, sub.longitude, float(gen["scatter_km"]["compound_urban"]))
            chain = chains[(sub.index + k) % len(chains)]
            supermarkets.append(
                SupermarketPlan(
                    index=len(supermarkets),
                    root=sub.root,
                    subdistrict=sub.index,
                    name=f"{chain}({sub.name.removesuffix('街道').removesuffix('镇')}{k + 1}号店)",
                    latitude=lat,
                    longitude=lon,
                    capacity=max(capacity, 50),
                )
            )
    return supermarkets


def _pairings_plan(preset: Preset, compounds: list[CompoundPlan], supermarkets: list[SupermarketPlan]) -> None:
    """一一对接: each compound gets the nearest supermarket that still has capacity, and the
    nearest other one as backup. Candidates are the supermarkets of the compound's root
    (the whole city only when a root has fewer than two)."""
    load_per_household = float(preset.generator["orders_per_household_per_day"])
    by_root: dict[int, list[SupermarketPlan]] = {}
    for market in supermarkets:
        by_root.setdefault(market.root, []).append(market)
    for compound in compounds:
        candidates = by_root.get(compound.root, [])
        if len(candidates) < 2:
            candidates = supermarkets
        ranked = sorted(
            candidates,
            key=lambda m: (distance_km(compound.latitude, compound.longitude, m.latitude, m.longitude), m.index),
        )
        load = math.ceil(compound.households * load_per_household)
        primary = next((m for m in ranked if m.capacity - m.load >= load), ranked[0])
        primary.load += load
        backup = next((m for m in ranked if m.index != primary.index), None)
        compound.supermarket = primary.index
        compound.backup = backup.index if backup is not None else None
        compound.distance_km = round(
            distance_km(compound.latitude, compound.longitude, primary.latitude, primary.longitude), 3
        )


def _zones_plan(preset: Preset, rng: random.Random, compounds: list[CompoundPlan]) -> None:
    shares = preset.generator["zone_status_shares"]
    sealed = float(shares["sealed"])
    controlled = sealed + float(shares["controlled"])
    prevention = controlled + float(shares["prevention"])
    draws = [rng.random() for _ in compounds]
    for compound, draw in zip(compounds, draws, strict=True):
        if draw < sealed:
            compound.zone = "sealed"
        elif draw < controlled:
            compound.zone = "controlled"
        elif draw < prevention:
            compound.zone = "prevention"
    # Even a small scenario shows each restriction once: the lowest draws take them.
    ranked = sorted(range(len(compounds)), key=lambda i: draws[i])
    for status, position in (("sealed", 0), ("controlled", 1)):
        if len(ranked) > position and not any(c.zone == status for c in compounds):
            compounds[ranked[position]].zone = status
