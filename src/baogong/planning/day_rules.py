"""The operating rules of a delivery day, set per deployment.

Gate hours, drivers' shifts, loading and unloading times, trips per vehicle,
households per courier and people per pickup slot differ between places (a
county with one shift of volunteer drivers is not Shanghai with professional
fleets), so they come from `settings.PLANNING_DAY` — filled from
`BAOGONG_PLAN_*` environment variables — instead of being written into the
planner. A wrong value stops start-up with the setting's name (see the
`baogong.E010` check) rather than producing a silently odd plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .pickup_slots import PickupRules
from .rosters import RosterRules

DEFAULTS: dict[str, Any] = {
    "gate_opens": "07:00",
    "gate_closes": "18:00",
    "shift_starts": "06:00",
    "shift_ends": "20:00",
    "unloading_minutes": 10,
    "loading_minutes": 20,
    "max_trips": 3,
    "courier_households": 10,
    "pickup_slot_minutes": 15,
    "pickup_capacity": 20,
}


@dataclass(frozen=True)
class DayRules:
    gate_opens: time = time(7, 0)
    gate_closes: time = time(18, 0)
    shift_starts: time = time(6, 0)
    shift_ends: time = time(20, 0)
    unloading_minutes: float = 10.0
    loading_minutes: float = 20.0
    max_trips: int = 3
    rosters: RosterRules = field(default_factory=RosterRules)
    pickup: PickupRules = field(default_factory=PickupRules)

    def as_dict(self) -> dict[str, Any]:
        return {
            "gate_opens": self.gate_opens.strftime("%H:%M"),
            "gate_closes": self.gate_closes.strftime("%H:%M"),
            "shift_starts": self.shift_starts.strftime("%H:%M"),
            "shift_ends": self.shift_ends.strftime("%H:%M"),
            "unloading_minutes": self.unloading_minutes,
            "loading_minutes": self.loading_minutes,
            "max_trips": self.max_trips,
            "courier_households": self.rosters.max_households,
            "pickup_slot_minutes": self.pickup.slot_minutes,
            "pickup_capacity": self.pickup.capacity,
        }


def _time(name: str, value: Any) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        raise ImproperlyConfigured(f"PLANNING_DAY[{name!r}] must be a time like 07:00, not {value!r}") from None


def _number(name: str, value: Any, *, minimum: float, maximum: float, whole: bool) -> Any:
    try:
        number = int(str(value).strip()) if whole else float(str(value).strip())
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ImproperlyConfigured(f"PLANNING_DAY[{name!r}] must be {kind}, not {value!r}") from None
    if not minimum <= number <= maximum:
        raise ImproperlyConfigured(f"PLANNING_DAY[{name!r}] must be between {minimum:g} and {maximum:g}, not {number}")
    return number


def day_rules_build(values: Mapping[str, Any]) -> DayRules:
    """Rules from a mapping of the DEFAULTS' keys; unknown keys and bad values raise ImproperlyConfigured."""
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(f"PLANNING_DAY has unknown keys: {', '.join(unknown)}")
    merged = {**DEFAULTS, **values}
    rules = DayRules(
        gate_opens=_time("gate_opens", merged["gate_opens"]),
        gate_closes=_time("gate_closes", merged["gate_closes"]),
        shift_starts=_time("shift_starts", merged["shift_starts"]),
        shift_ends=_time("shift_ends", merged["shift_ends"]),
        unloading_minutes=_number(
            "unloading_minutes", merged["unloading_minutes"], minimum=0, maximum=240, whole=False
        ),
        loading_minutes=_number("loading_minutes", merged["loading_minutes"], minimum=0, maximum=240, whole=False),
        max_trips=_number("max_trips", merged["max_trips"], minimum=1, maximum=10, whole=True),
        rosters=RosterRules(
            max_households=_number(
                "courier_households", merged["courier_households"], minimum=1, maximum=100, whole=True
            )
        ),
        pickup=PickupRules(
            slot_minutes=_number(
                "pickup_slot_minutes", merged["pickup_slot_minutes"], minimum=5, maximum=240, whole=True
            ),
            capacity=_number("pickup_capacity", merged["pickup_capacity"], minimum=1, maximum=1000, whole=True),
        ),
    )
    if rules.gate_opens >= rules.gate_closes:
        raise ImproperlyConfigured("PLANNING_DAY: gate_opens must be before gate_closes")
    if rules.shift_starts >= rules.shift_ends:
        raise ImproperlyConfigured("PLANNING_DAY: shift_starts must be before shift_ends")
    if rules.gate_closes <= rules.shift_starts or rules.gate_opens >= rules.shift_ends:
        raise ImproperlyConfigured("PLANNING_DAY: the drivers' shift must overlap the gates' opening hours")
    return rules


def day_rules() -> DayRules:
    """The deployment's rules (settings.PLANNING_DAY over DEFAULTS)."""
    return day_rules_build(getattr(settings, "PLANNING_DAY", {}) or {})


def day_rules_check(**_kwargs: Any) -> list[Any]:
    """System check `baogong.E010`: the delivery-day rules in settings are usable."""
    from django.core.checks import Error

    try:
        day_rules()
    except ImproperlyConfigured as error:
        return [Error(str(error), hint="Fix the BAOGONG_PLAN_* environment variables.", id="baogong.E010")]
    return []
