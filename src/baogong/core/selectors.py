"""Reads that combine several apps for one page: the command dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field

from baogong.regions.models import Region
from baogong.regions.selectors import (
    RegionChildRow,
    ZoneSummaryRow,
    region_children_summary,
    region_roots,
    zone_summary,
)
from baogong.stock.selectors import CategorySupply, stock_supply_by_category

from .scoping import Scope


@dataclass(frozen=True)
class Dashboard:
    zones: list[ZoneSummaryRow]
    supply: list[CategorySupply]
    # The scope's own top region when there is exactly one (its children are the drill-down list).
    root: Region | None
    drill_down: list[RegionChildRow] = field(default_factory=list)
    roots: list[Region] = field(default_factory=list)

    @property
    def compounds(self) -> int:
        return sum(row.regions for row in self.zones)

    @property
    def households(self) -> int:
        return sum(row.households for row in self.zones)

    @property
    def residents(self) -> int:
        return sum(row.residents for row in self.zones)


def dashboard_get(*, scope: Scope) -> Dashboard:
    """Compounds by zone status, stock and days of supply, and where to drill down, all within the scope."""
    zones = zone_summary(scope=scope)
    residents = sum(row.residents for row in zones)
    supply = stock_supply_by_category(scope=scope, residents=residents)
    roots = list(region_roots(scope=scope))
    if len(roots) == 1:
        root = roots[0]
        return Dashboard(
            zones=zones,
            supply=supply,
            root=root,
            drill_down=region_children_summary(scope=scope, region=root),
            roots=roots,
        )
    return Dashboard(zones=zones, supply=supply, root=None, roots=roots)
