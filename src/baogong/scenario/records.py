"""What the generator is given besides the preset and seed: where keys start, and the catalogue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Bases:
    """The first primary key each table's rows get."""

    region: int = 1
    household: int = 1
    user: int = 1
    organisation: int = 1
    duty: int = 1
    contact: int = 1
    pairing: int = 1
    zone: int = 1
    point: int = 1
    balance: int = 1
    movement: int = 1
    vehicle: int = 1


@dataclass(frozen=True)
class CommodityRef:
    id: int
    code: str
    category: str
    weight_kg: float
    daily_kg_per_person: float | None
    reserve_days_target: int | None
    shelf_life_days: int | None
