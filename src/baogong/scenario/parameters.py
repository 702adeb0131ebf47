"""Reading `parameters.yaml` into the typed preset the generator works from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _

from baogong.core.errors import ValidationFailed

PARAMETERS_FILE = Path(__file__).with_name("parameters.yaml")
PRESETS = ("demo", "county", "city")


@dataclass(frozen=True)
class Bounds:
    median: float
    minimum: int
    maximum: int


@dataclass(frozen=True)
class Preset:
    """Everything one generator run needs, resolved from the parameter file."""

    name: str
    basis: str
    roots: tuple[str, ...]
    urban_subdistricts: int
    rural_towns: int
    neighbourhood_committees: int
    village_committees: int
    urban_compounds: int
    households: int
    urban_share_households: float
    households_per_compound: Bounds
    buildings_per_compound: Bounds | None
    central_roots: int
    town_neighbourhood_committee_weight: float
    centre_latitude: float
    centre_longitude: float
    supply: dict[str, int]
    household_size_dist: tuple[tuple[int, float], ...]
    size_tail: tuple[int, ...]
    vulnerable: dict[str, float]
    generator: dict[str, Any] = field(repr=False)

    @property
    def compounds(self) -> int:
        # Villages are single delivery grids: one compound each.
        return self.urban_compounds + self.village_committees

    @property
    def volunteers(self) -> int:
        return round(self.households * float(self.generator["volunteers_per_household"]))


@cache
def parameters_load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PARAMETERS_FILE.read_text(encoding="utf-8"))
    return data


def _bounds(raw: dict[str, Any] | None) -> Bounds | None:
    if raw is None:
        return None
    return Bounds(median=float(raw["median"]), minimum=int(raw["min"]), maximum=int(raw["max"]))


def _size_distribution(raw: dict[Any, float]) -> tuple[tuple[tuple[int, float], ...], tuple[int, ...]]:
    """Household sizes with their shares; an open "6plus"/"5plus" bucket spreads over a short tail."""
    sizes: list[tuple[int, float]] = []
    tail: tuple[int, ...] = ()
    for key, share in raw.items():
        text = str(key)
        if text.endswith("plus"):
            start = int(text.removesuffix("plus"))
            # asm: an open bucket is mostly its lower bound with a few larger households.
            tail = (start, start, start, start, start + 1, start + 1, start + 2)
            sizes.append((start, float(share)))
        else:
            sizes.append((int(text), float(share)))
    return tuple(sorted(sizes)), tail


def preset_get(*, name: str) -> Preset:
    data = parameters_load()
    presets = data["presets"]
    if name not in presets:
        raise ValidationFailed(
            _("Unknown preset %(name)s; choose one of %(choices)s.") % {"name": name, "choices": ", ".join(PRESETS)},
            field="preset",
        )
    raw = presets[name]
    basis = data[raw["basis"]]
    sizes, tail = _size_distribution(basis["household_size_dist"])
    bounds = _bounds(raw["households_per_compound"])
    assert bounds is not None
    return Preset(
        name=name,
        basis=raw["basis"],
        roots=tuple(raw["roots"]),
        urban_subdistricts=int(raw["urban_subdistricts"]),
        rural_towns=int(raw["rural_towns"]),
        neighbourhood_committees=int(raw["neighbourhood_committees"]),
        village_committees=int(raw["village_committees"]),
        urban_compounds=int(raw["urban_compounds"]),
        households=int(raw["households"]),
        urban_share_households=float(raw["urban_share_households"]),
        households_per_compound=bounds,
        buildings_per_compound=_bounds(raw["buildings_per_compound"]),
        central_roots=int(raw["central_roots"]),
        town_neighbourhood_committee_weight=float(raw["town_neighbourhood_committee_weight"]),
        centre_latitude=float(raw["centre"]["latitude"]),
        centre_longitude=float(raw["centre"]["longitude"]),
        supply={key: int(value) for key, value in raw["supply"].items()},
        household_size_dist=sizes,
        size_tail=tail,
        vulnerable={key: float(value) for key, value in basis["vulnerable"].items()},
        generator=data["generator"],
    )
