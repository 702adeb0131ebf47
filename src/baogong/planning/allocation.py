"""Allocation under shortage: who gets how much of an item when confirmed demand exceeds supply.

Pure computation over dataclasses (no Django), so the planner, the command
line, the benchmarks and the property tests all run the same code.

Rules, per item (`allocate_item`):

1. Priority tiers, in the configured order (default: relief, vulnerable,
   carried over from yesterday). A tier is served in full while supply lasts;
   the tier where supply runs out is shared fairly within itself (step 2) and
   the tiers after it get nothing.
2. Everyone else shares what is left by weighted max-min fairness
   (water-filling), weight = household size in persons. The continuous share
   of claim i is `min(ordered_i, max(floor_i, λ·weight_i))` with the single
   level λ that makes the shares add up to the supply. `floor_i` is the
   configured floor (capped at what was ordered); it applies only when the
   supply covers every claim's floor, otherwise the pool is shared without it.
3. Whole units by largest remainder: every claim gets the integer part of its
   share, and the units left over go to the largest fractional parts, ties
   broken by order time, then household id. Since a share below what was
   ordered has an integer ceiling no greater than it, nobody gets more than
   they ordered, and the pool allocates exactly min(supply, demand).

Shares are `Fraction`s: the level and the remainders are exact, so the
rounding — and with it the whole run — is deterministic on every machine.

`package_conversions_propose` is the separate P1 rule: when the supermarket
cannot pick as many lines as were ordered, it proposes which households'
individual items to switch to a standard package, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from math import floor
from typing import Any

__all__ = [
    "Allocation",
    "AllocationRules",
    "Basket",
    "Claim",
    "ClaimResult",
    "ConversionProposal",
    "ItemAllocation",
    "ItemDemand",
    "PackageConversion",
    "PoolShare",
    "Rounding",
    "Rule",
    "StandardPackage",
    "Tier",
    "allocate",
    "allocate_item",
    "commodity_key",
    "kit_key",
    "package_conversions_propose",
    "water_fill",
]


def commodity_key(commodity_id: int) -> str:
    return f"commodity:{commodity_id}"


def kit_key(kit_id: int) -> str:
    return f"kit:{kit_id}"


class Tier(StrEnum):
    RELIEF = "relief"
    VULNERABLE = "vulnerable"
    CARRIED_OVER = "carried_over"
    GENERAL = "general"


class Rule(StrEnum):
    """What decided a claim's allocation."""

    IN_FULL = "in_full"  # its pool was not short
    CAPPED = "capped"  # the fair level was above what it ordered
    FLOOR = "floor"  # the minimum floor was above its fair share
    FAIR_SHARE = "fair_share"  # its weighted share, rounded by largest remainder
    EXHAUSTED = "exhausted"  # higher tiers took all the supply
    NO_SUPPLY = "no_supply"  # nothing of the item at all


class Rounding(StrEnum):
    EXACT = "exact"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class AllocationRules:
    """The configurable rules of a run; stored with it (`as_dict`) so a run can be explained later.

    `order_statuses` are the order statuses that count as confirmed demand.
    `pick_line_capacity` (None = unlimited) is how many pick lines the
    supermarket can pack for the day; above it, standard packages are proposed.
    """

    priority_tiers: tuple[Tier, ...] = (Tier.RELIEF, Tier.VULNERABLE, Tier.CARRIED_OVER)
    floor_units: int = 1
    order_statuses: tuple[str, ...] = ("confirmed",)
    carry_over: bool = True
    pick_line_capacity: int | None = None
    convert_vulnerable: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "priority_tiers": [str(tier) for tier in self.priority_tiers],
            "floor_units": self.floor_units,
            "order_statuses": list(self.order_statuses),
            "carry_over": self.carry_over,
            "pick_line_capacity": self.pick_line_capacity,
            "convert_vulnerable": self.convert_vulnerable,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AllocationRules:
        defaults = cls()
        capacity = data.get("pick_line_capacity", defaults.pick_line_capacity)
        return cls(
            priority_tiers=tuple(Tier(t) for t in data.get("priority_tiers", defaults.priority_tiers)),
            floor_units=int(data.get("floor_units", defaults.floor_units)),
            order_statuses=tuple(str(s) for s in data.get("order_statuses", defaults.order_statuses)),
            carry_over=bool(data.get("carry_over", defaults.carry_over)),
            pick_line_capacity=None if capacity is None else int(capacity),
            convert_vulnerable=bool(data.get("convert_vulnerable", defaults.convert_vulnerable)),
        )


def _order_key(household_id: int, ordered_at: datetime | None) -> tuple[bool, float, int]:
    # Earlier orders first; claims without an order time (relief lists) after them; then the household id.
    return (ordered_at is None, ordered_at.timestamp() if ordered_at is not None else 0.0, household_id)


@dataclass(frozen=True)
class Claim:
    """One household's demand for one item in one tier."""

    household_id: int
    tier: Tier
    weight: int  # persons in the household
    ordered: int
    ordered_at: datetime | None = None

    @property
    def order_key(self) -> tuple[bool, float, int]:
        return _order_key(self.household_id, self.ordered_at)


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    allocated: int
    share: Fraction  # the continuous max-min share in its pool
    floor: int  # the floor that applied (0 if none)
    rule: Rule
    rounding: Rounding
    prioritised: bool  # its tier was served before the fair-share pool


@dataclass(frozen=True)
class ItemDemand:
    item: str
    supply: int
    claims: tuple[Claim, ...]


@dataclass(frozen=True)
class ItemAllocation:
    item: str
    supply: int
    demand: int
    allocated: int
    results: tuple[ClaimResult, ...]

    @property
    def unmet(self) -> int:
        return self.demand - self.allocated


@dataclass(frozen=True)
class Allocation:
    items: tuple[ItemAllocation, ...]

    @property
    def supply(self) -> int:
        return sum(item.supply for item in self.items)

    @property
    def demand(self) -> int:
        return sum(item.demand for item in self.items)

    @property
    def allocated(self) -> int:
        return sum(item.allocated for item in self.items)

    @property
    def unmet(self) -> int:
        return sum(item.unmet for item in self.items)


def _level(supply: int, claims: Sequence[Claim], floors: Sequence[int]) -> Fraction:
    """The water level λ with Σ min(ordered, max(floor, λ·weight)) == supply.

    Needs Σ floor <= supply < Σ ordered. Each claim's share is flat at its
    floor until λ = floor/weight, grows with slope `weight` until
    λ = ordered/weight, then stays at what it ordered; the total is therefore
    piecewise linear and the level is found in one sweep over those breakpoints.
    """
    events: list[tuple[Fraction, int, int]] = []  # (λ, 0 = starts growing / 1 = stops, claim index)
    for index, (claim, floor_units) in enumerate(zip(claims, floors, strict=True)):
        events.append((Fraction(floor_units, claim.weight), 0, index))
        events.append((Fraction(claim.ordered, claim.weight), 1, index))
    events.sort()
    fixed = Fraction(sum(floors))  # total of claims not growing at the current λ
    growing_weight = 0
    previous = Fraction(0)
    position = 0
    while position < len(events):
        at = events[position][0]
        if fixed + at * growing_weight >= supply:
            if growing_weight == 0:
                return previous
            return (supply - fixed) / growing_weight
        while position < len(events) and events[position][0] == at:
            _, kind, index = events[position]
            claim = claims[index]
            if kind == 0:
                fixed -= floors[index]
                growing_weight += claim.weight
            else:
                fixed += claim.ordered
                growing_weight -= claim.weight
            position += 1
        previous = at
    raise ValueError("supply must be below total demand")


@dataclass(frozen=True)
class PoolShare:
    shares: tuple[Fraction, ...]
    floors: tuple[int, ...]
    level: Fraction | None  # None when the pool is not short


def water_fill(*, supply: int, claims: Sequence[Claim], floor_units: int) -> PoolShare:
    """Continuous weighted max-min shares of `supply` among `claims` (see the module docstring)."""
    demand = sum(claim.ordered for claim in claims)
    if supply >= demand:
        return PoolShare(tuple(Fraction(c.ordered) for c in claims), tuple(0 for _ in claims), None)
    floors = [min(floor_units, claim.ordered) for claim in claims]
    if sum(floors) > supply:
        # Not enough for everyone's floor: a floor for some would be a lottery, so nobody gets one.
        floors = [0 for _ in claims]
    level = _level(supply, claims, floors)
    shares = tuple(
        min(Fraction(c.ordered), max(Fraction(f), level * c.weight)) for c, f in zip(claims, floors, strict=True)
    )
    return PoolShare(shares, tuple(floors), level)


def _largest_remainder(supply: int, claims: Sequence[Claim], shares: Sequence[Fraction]) -> list[int]:
    allocated = [floor(share) for share in shares]
    left = supply - sum(allocated)
    candidates = sorted(
        (index for index, share in enumerate(shares) if share != allocated[index]),
        key=lambda index: (-(shares[index] - allocated[index]), claims[index].order_key),
    )
    for index in candidates[:left]:
        allocated[index] += 1
    return allocated


def _pool_results(
    *, supply: int, claims: Sequence[Claim], floor_units: int, prioritised: bool, item_supply: int
) -> list[ClaimResult]:
    if supply == 0:
        rule = Rule.NO_SUPPLY if item_supply == 0 else Rule.EXHAUSTED
        return [ClaimResult(c, 0, Fraction(0), 0, rule, Rounding.EXACT, prioritised) for c in claims]
    pool = water_fill(supply=supply, claims=claims, floor_units=floor_units)
    level = pool.level
    if level is None:
        return [
            ClaimResult(c, c.ordered, Fraction(c.ordered), 0, Rule.IN_FULL, Rounding.EXACT, prioritised) for c in claims
        ]
    allocated = _largest_remainder(supply, claims, pool.shares)
    results = []
    for claim, share, floor_units_applied, units in zip(claims, pool.shares, pool.floors, allocated, strict=True):
        fair = level * claim.weight
        if fair >= claim.ordered:
            rule = Rule.CAPPED
        elif floor_units_applied > fair:
            rule = Rule.FLOOR
        else:
            rule = Rule.FAIR_SHARE
        rounding = Rounding.EXACT if units == share else Rounding.UP if units > share else Rounding.DOWN
        results.append(ClaimResult(claim, units, share, floor_units_applied, rule, rounding, prioritised))
    return results


def _claims_validate(claims: Iterable[Claim]) -> None:
    seen: set[tuple[int, Tier]] = set()
    for claim in claims:
        if claim.weight < 1 or claim.ordered < 1:
            raise ValueError(f"claim of household {claim.household_id}: weight and ordered must be at least 1")
        if (claim.household_id, claim.tier) in seen:
            raise ValueError(f"household {claim.household_id} has two claims in tier {claim.tier}")
        seen.add((claim.household_id, claim.tier))


def allocate_item(*, demand: ItemDemand, rules: AllocationRules) -> ItemAllocation:
    """Allocate one item's supply among its claims: priority tiers in order, then the fair-share pool."""
    if demand.supply < 0:
        raise ValueError("supply must not be negative")
    _claims_validate(demand.claims)
    claims = sorted(demand.claims, key=lambda c: c.order_key)
    pools: list[tuple[list[Claim], bool]] = [
        ([c for c in claims if c.tier == tier], True) for tier in rules.priority_tiers
    ]
    pools.append(([c for c in claims if c.tier not in rules.priority_tiers], False))
    left = demand.supply
    results: list[ClaimResult] = []
    for pool_claims, prioritised in pools:
        if not pool_claims:
            continue
        pool_results = _pool_results(
            supply=min(left, sum(c.ordered for c in pool_claims)),
            claims=pool_claims,
            floor_units=rules.floor_units,
            prioritised=prioritised,
            item_supply=demand.supply,
        )
        left -= sum(r.allocated for r in pool_results)
        results.extend(pool_results)
    total_demand = sum(c.ordered for c in claims)
    allocated = sum(r.allocated for r in results)
    return ItemAllocation(demand.item, demand.supply, total_demand, allocated, tuple(results))


def allocate(*, items: Sequence[ItemDemand], rules: AllocationRules) -> Allocation:
    """Allocate every item independently, in item-key order."""
    return Allocation(tuple(allocate_item(demand=d, rules=rules) for d in sorted(items, key=lambda d: d.item)))


# --- P1: standard packages when packing capacity is short -----------------------------------------


@dataclass(frozen=True)
class StandardPackage:
    package: str  # item key of the package
    contents: tuple[tuple[str, int], ...]  # (item key, quantity) of what it holds


@dataclass(frozen=True)
class Basket:
    """One household's order for the day, as pick lines: each individual item is one line, each package one."""

    household_id: int
    items: tuple[tuple[str, int], ...]  # individual items ordered: (item key, quantity)
    package_lines: int = 0
    vulnerable: bool = False
    ordered_at: datetime | None = None

    @property
    def pick_lines(self) -> int:
        return len(self.items) + self.package_lines


@dataclass(frozen=True)
class PackageConversion:
    household_id: int
    package: str
    replaced: tuple[tuple[str, int], ...]  # the item lines the package replaces
    lines_saved: int


@dataclass(frozen=True)
class ConversionProposal:
    capacity: int
    lines_before: int
    lines_after: int
    conversions: tuple[PackageConversion, ...] = field(default=())

    @property
    def still_over(self) -> int:
        return max(0, self.lines_after - self.capacity)


def _best_package(basket: Basket, packages: Sequence[StandardPackage]) -> PackageConversion | None:
    best: tuple[tuple[int, int, str], PackageConversion] | None = None
    for package in packages:
        contents = dict(package.contents)
        replaced = tuple((item, quantity) for item, quantity in basket.items if item in contents)
        covered = sum(min(quantity, contents[item]) for item, quantity in replaced)
        # Most lines replaced, then most goods covered, then the package key for determinism.
        rank = (-len(replaced), -covered, package.package)
        if len(replaced) >= 2 and (best is None or rank < best[0]):
            best = (rank, PackageConversion(basket.household_id, package.package, replaced, len(replaced) - 1))
    return best[1] if best is not None else None


def package_conversions_propose(
    *,
    baskets: Sequence[Basket],
    packages: Sequence[StandardPackage],
    pick_line_capacity: int,
    convert_vulnerable: bool = False,
) -> ConversionProposal:
    """Propose switching households' individual items to a standard package until the pick lines fit.

    A conversion replaces the item lines a package holds with one package
    line, so it is only proposed where it saves at least one line. Biggest
    savings go first (fewest households touched); among equal savings the
    latest orders are switched first, so earlier orders keep their choice.
    Vulnerable households keep theirs unless the rules say otherwise: their
    items are often the special ones (infant formula, medical food).
    """
    if pick_line_capacity < 0:
        raise ValueError("pick line capacity must not be negative")
    lines = sum(basket.pick_lines for basket in baskets)
    before = lines
    if lines <= pick_line_capacity:
        return ConversionProposal(pick_line_capacity, before, lines)
    candidates: list[tuple[tuple[int, float, int], PackageConversion]] = []
    for basket in baskets:
        if basket.vulnerable and not convert_vulnerable:
            continue
        conversion = _best_package(basket, packages)
        if conversion is not None:
            ordered_at = basket.ordered_at.timestamp() if basket.ordered_at is not None else 0.0
            key = (-conversion.lines_saved, -ordered_at, basket.household_id)
            candidates.append((key, conversion))
    candidates.sort(key=lambda pair: pair[0])
    chosen: list[PackageConversion] = []
    for _key, conversion in candidates:
        if lines <= pick_line_capacity:
            break
        chosen.append(conversion)
        lines -= conversion.lines_saved
    return ConversionProposal(pick_line_capacity, before, lines, tuple(chosen))
