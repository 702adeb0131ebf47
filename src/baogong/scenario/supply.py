"""Organisations, opening stock and vehicles of a planned scenario."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import names
from .departments import DEPARTMENTS
from .parameters import Preset
from .plan import ScenarioPlan, allocate
from .records import Bases, CommodityRef


@dataclass
class Organisations:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    duties: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    supermarket_ids: list[int] = field(default_factory=list)
    grain_centre_of_root: dict[int, int] = field(default_factory=dict)
    logistics: list[tuple[int, int]] = field(default_factory=list)  # (organisation id, root index)
    agreement_holders: list[tuple[int, int, str]] = field(default_factory=list)  # (id, root index, name)


def organisation_rows(preset: Preset, plan: ScenarioPlan, bases: Bases, rng: random.Random) -> Organisations:
    result = Organisations()
    org_id = itertools.count(bases.organisation)
    duty_id = itertools.count(bases.duty)
    contact_id = itertools.count(bases.contact)
    supply = preset.supply

    def add(
        kind: str,
        enterprise_type: str,
        code: str,
        name: str,
        region: int,
        lat: float | None,
        lon: float | None,
        capacity: int | None = None,
        title: str = "负责人",
        on_duty: bool = False,
    ) -> int:
        pk = next(org_id)
        result.rows.append((pk, kind, enterprise_type, code, name, region, "", lat, lon, capacity, True))
        result.contacts.append((next(contact_id), pk, names.person_name(rng), title, names.phone_number(rng), on_duty))
        return pk

    for root in plan.roots:
        for department in DEPARTMENTS:
            pk = add(
                "department",
                "",
                f"D{root.code}-{department.key}",
                department.name_zh,
                root.id,
                None,
                None,
                title="值班联络员",
                on_duty=True,
            )
            if department.key == "grain":
                result.grain_centre_of_root[root.index] = pk
            for measure, role, text in department.duties:
                result.duties.append((next(duty_id), pk, measure, role, text))
    subdistricts = plan.subdistricts()
    for market in plan.supermarkets:
        sub = subdistricts[market.subdistrict]
        pk = add(
            "enterprise",
            "supermarket",
            f"SM{market.index + 1:05d}",
            market.name,
            sub.id,
            market.latitude,
            market.longitude,
            capacity=market.capacity,
            title="保供联络员",
            on_duty=True,
        )
        result.supermarket_ids.append(pk)
    roots = plan.roots
    for n in range(supply["wholesale_markets"]):
        root = roots[n * len(roots) // max(1, supply["wholesale_markets"])]
        add(
            "enterprise",
            "wholesale_market",
            f"WM{n + 1:03d}",
            f"{root.name.removesuffix('区').removesuffix('县')}"
            f"农产品批发市场" + (f"{n + 1}号" if supply["wholesale_markets"] > 1 else ""),
            root.id,
            root.latitude,
            root.longitude,
            title="市场值班员",
            on_duty=True,
        )
    pharmacies = allocate(supply["pharmacies"], [float(s.households) for s in subdistricts], rng)
    pharmacy_number = 0
    for sub, count in zip(subdistricts, pharmacies, strict=True):
        for k in range(count):
            pharmacy_number += 1
            add(
                "enterprise",
                "pharmacy",
                f"PH{pharmacy_number:05d}",
                f"康民大药房({sub.name.removesuffix('街道').removesuffix('镇')}{k + 1}号店)",
                sub.id,
                sub.latitude,
                sub.longitude,
            )
    firms = ("福运来物流有限公司", "安达汽运有限公司", "鲜达冷链物流有限公司", "顺畅货运有限公司", "通衢物流有限公司")
    for n in range(supply["logistics_companies"]):
        root = roots[n % len(roots)]
        name = (
            firms[n % len(firms)]
            if n < len(firms)
            else f"{firms[n % len(firms)].removesuffix('有限公司')}{n + 1}分公司"
        )
        pk = add(
            "enterprise",
            "logistics",
            f"LG{n + 1:03d}",
            name,
            root.id,
            root.latitude,
            root.longitude,
            title="调度员",
            on_duty=True,
        )
        result.logistics.append((pk, root.index))
    holders = ("粮油储备有限公司", "医药流通有限公司", "蔬菜产销合作社")
    for n in range(supply["agreement_reserve_holders"]):
        root = roots[n % len(roots)]
        name = f"{root.name.removesuffix('区').removesuffix('县')}{holders[n % len(holders)]}"
        pk = add("enterprise", "agreement_reserve", f"AR{n + 1:03d}", name, root.id, root.latitude, root.longitude)
        result.agreement_holders.append((pk, root.index, name))
    return result


def stock_rows(
    preset: Preset,
    plan: ScenarioPlan,
    organisations: Organisations,
    commodities: list[CommodityRef],
    population: dict[int, int],
    bases: Bases,
    *,
    seed: int,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[int]]:
    """Stock points and their opening stock: one receipt per balance, so on-hand equals the ledger."""
    config = preset.generator["opening_stock"]
    government_share = float(config["government_reserve_share"])
    agreement_share = float(config["agreement_reserve_share"])
    supermarket_share = float(config["supermarket_share"])
    points: list[tuple[Any, ...]] = []
    holdings: list[tuple[int, dict[int, float]]] = []  # (point id, commodity id -> units)
    point_id = itertools.count(bases.point)
    compounds = plan.compounds()
    root_population = [0] * len(plan.roots)
    market_population = [0] * len(plan.supermarkets)
    for compound in compounds:
        people = population.get(compound.id, 0)
        root_population[compound.root] += people
        market_population[compound.supermarket] += people
    by_code = {c.code: c for c in commodities}
    storable = [
        c for c in commodities if c.daily_kg_per_person and c.reserve_days_target and (c.shelf_life_days or 0) >= 20
    ]
    fresh = [c for c in commodities if c.daily_kg_per_person and c.reserve_days_target and c not in storable]

    def reserve_units(commodity: CommodityRef, people: float) -> float:
        """Units for `people` x per-capita demand x the commodity's reserve target."""
        days = commodity.reserve_days_target or 0
        return (commodity.daily_kg_per_person or 0.0) * days * people / commodity.weight_kg

    def per_thousand(table: dict[str, float], people: int) -> dict[int, float]:
        return {
            by_code[code].id: people * float(rate) / 1000 for code, rate in sorted(table.items()) if code in by_code
        }

    for root in plan.roots:
        people = root_population[root.index]
        holders = [h for h in organisations.agreement_holders if h[1] == root.index]
        own_share = government_share + (0.0 if holders else agreement_share)
        pk = next(point_id)
        points.append(
            (
                pk,
                f"GR-{root.code}",
                f"{root.name}政府储备库",
                "government_reserve",
                root.id,
                organisations.grain_centre_of_root.get(root.index),
                root.latitude,
                root.longitude,
                True,
            )
        )
        goods = {c.id: reserve_units(c, people * own_share) for c in storable}
        goods.update(per_thousand(config["government_per_1000_residents"], people))
        holdings.append((pk, goods))
        for holder_id, _, name in holders:
            pk = next(point_id)
            points.append(
                (
                    pk,
                    f"AR-{holder_id - bases.organisation + 1:05d}",
                    f"{name}协议储备库",
                    "agreement_reserve",
                    root.id,
                    holder_id,
                    root.latitude,
                    root.longitude,
                    True,
                )
            )
            share = agreement_share / len(holders)
            holdings.append(
                (
                    pk,
                    {c.id: reserve_units(c, people * share) for c in storable},
                )
            )
    subdistricts = plan.subdistricts()
    supermarket_points: list[int] = []
    for market, organisation_id in zip(plan.supermarkets, organisations.supermarket_ids, strict=True):
        people = market_population[market.index]
        pk = next(point_id)
        supermarket_points.append(pk)
        points.append(
            (
                pk,
                f"SM-{market.index + 1:05d}",
                market.name,
                "supermarket",
                subdistricts[market.subdistrict].id,
                organisation_id,
                market.latitude,
                market.longitude,
                True,
            )
        )
        goods = {c.id: reserve_units(c, people * supermarket_share) for c in storable}
        goods.update({c.id: reserve_units(c, people) for c in fresh})
        goods.update(per_thousand(config["supermarket_per_1000_residents"], people))
        holdings.append((pk, goods))

    balances: list[tuple[Any, ...]] = []
    movements: list[tuple[Any, ...]] = []
    balance_id = itertools.count(bases.balance)
    movement_id = itertools.count(bases.movement)
    reason = f"期初库存(情景 {preset.name},种子 {seed})"
    reference = f"SCENARIO-{preset.name}-{seed}"[:64]
    for point_pk, goods in holdings:
        for commodity_id, amount in sorted(goods.items()):
            quantity = math.ceil(amount)
            if quantity <= 0:
                continue
            pk = next(balance_id)
            balances.append((pk, point_pk, commodity_id, "", None, quantity))
            movements.append(
                (
                    next(movement_id),
                    point_pk,
                    commodity_id,
                    pk,
                    "",
                    None,
                    "receipt",
                    quantity,
                    quantity,
                    None,
                    None,
                    None,
                    reason,
                    reference,
                )
            )
    return points, balances, movements, supermarket_points


def vehicle_rows(
    preset: Preset,
    organisations: Organisations,
    supermarket_points: list[int],
    plan: ScenarioPlan,
    bases: Bases,
    rng: random.Random,
) -> list[tuple[Any, ...]]:
    """Vans, refrigerated vans and light trucks of the logistics companies, based at supermarkets of their root."""
    rows: list[tuple[Any, ...]] = []
    if not organisations.logistics:
        return rows
    province = "沪" if preset.basis == "shanghai_25m" else "苏"
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    alphabet = "0123456789" * 3 + letters
    points_of_root: dict[int, list[int]] = {}
    for market, point in zip(plan.supermarkets, supermarket_points, strict=True):
        points_of_root.setdefault(market.root, []).append(point)
    seen: set[str] = set()
    for n in range(preset.supply["delivery_vehicles"]):
        owner, root = organisations.logistics[n % len(organisations.logistics)]
        homes = points_of_root.get(root) or supermarket_points
        home = homes[(n // len(organisations.logistics)) % len(homes)] if homes else None
        draw = rng.random()
        if draw < 0.7:
            kind, payload, volume, cold = "van", 1500, Decimal("8.00"), False  # common.truck.payload_kg
        elif draw < 0.9:
            kind, payload, volume, cold = "refrigerated_van", 1200, Decimal("7.00"), True
        else:
            kind, payload, volume, cold = "light_truck", 3000, Decimal("16.00"), False
        while True:
            plate = (
                province
                + letters[rng.randrange(len(letters))]
                + "".join(alphabet[rng.randrange(len(alphabet))] for _ in range(5))
            )
            if plate not in seen:
                seen.add(plate)
                break
        rows.append((bases.vehicle + n, plate, kind, payload, volume, cold, owner, home))
    return rows
