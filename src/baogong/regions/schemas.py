"""API schemas of regions, zone statuses and households."""

from datetime import datetime

from ninja import Field, Schema

from baogong.core.schemas import MAX_ID, PageParams

from .models import RegionLevel, ZoneStatusKind

_LEVELS = ", ".join(f"{level.value} = {level.name.lower()}" for level in RegionLevel)
_STATUSES = ", ".join(ZoneStatusKind.values)


class RegionFilter(PageParams):
    level: int | None = Field(
        None, ge=min(RegionLevel.values), le=max(RegionLevel.values), description=f"Only this level ({_LEVELS})."
    )
    parent: int | None = Field(None, ge=1, le=MAX_ID, description="Only the children of this region.")


class RegionOut(Schema):
    id: int
    code: str
    name: str
    level: int = Field(..., description=_LEVELS)
    parent_id: int | None
    is_rural: bool
    latitude: float | None
    longitude: float | None


class RegionDetailOut(RegionOut):
    zone_status: str | None = Field(
        ..., description=f"The region's own current zone status ({_STATUSES}); null when it has none of its own."
    )
    effective_zone_status: str = Field(
        ..., description="The status that applies: its own current one, else the nearest ancestor's, else normal."
    )


class RegionPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[RegionOut]


class ZoneStatusOut(Schema):
    id: int
    status: str = Field(..., description=_STATUSES)
    starts_at: datetime
    ends_at: datetime | None
    reason: str
    set_by_id: int | None
    created_at: datetime


class HouseholdFilter(PageParams):
    compound: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only households in this compound (any region id filters its subtree)."
    )
    # Control characters are refused: they are never part of a room or a phone
    # tail, and PostgreSQL cannot store NUL in a query parameter.
    q: str = Field(
        "", max_length=64, pattern=r"^[^\x00-\x1f]*$", description="A room, a building or unit name, or a phone tail."
    )
    vulnerable: bool = Field(False, description="Only households with at least one vulnerability tag.")


class HouseholdDetailParams(Schema):
    unmasked: bool = Field(
        False,
        description="Ask for the full name, phone and ID number. Granted to personal-data roles and to a resident "
        "for their own household (each grant is logged); for every other caller the body stays masked "
        "and says so with `masked: true`.",
    )


class HouseholdOut(Schema):
    id: int
    compound_id: int
    building: str
    unit: str
    room: str
    head_name: str
    size: int
    phone: str
    id_number: str
    vulnerability_tags: list[str]
    can_order_online: bool
    masked: bool = Field(..., description="True when head_name, phone and id_number are masked.")


class HouseholdPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[HouseholdOut]
