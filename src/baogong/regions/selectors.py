"""Scoped reads of regions, zone statuses and households."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.utils import timezone

from baogong.core.errors import NotFound
from baogong.core.masking import mask_id_number, mask_name, mask_phone
from baogong.core.scoping import Scope
from baogong.core.services import personal_data_access_record

from .models import Household, Region, RegionLevel, ZoneStatus, ZoneStatusKind

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from baogong.accounts.models import User


def region_list(*, scope: Scope) -> QuerySet[Region]:
    if scope.region_path is None:
        return Region.objects.none()
    return Region.objects.filter(path__startswith=scope.region_path)


def region_get(*, scope: Scope, region_id: int) -> Region:
    region = region_list(scope=scope).filter(pk=region_id).first()
    if region is None:
        raise NotFound()
    return region


def region_children(*, scope: Scope, region: Region) -> QuerySet[Region]:
    return region_list(scope=scope).filter(parent=region).order_by("code")


def region_ancestors(*, scope: Scope, region: Region) -> list[Region]:
    """Breadcrumbs: the ancestors the caller may see, root first."""
    ids = region.ancestor_ids()[:-1]
    by_id = {r.pk: r for r in region_list(scope=scope).filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def _current_status_subquery(at: datetime) -> Subquery:
    current = (
        ZoneStatus.objects.filter(region=OuterRef("pk"), starts_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .order_by("-starts_at", "-id")
    )
    return Subquery(current.values("status")[:1])


def region_with_zone_status(queryset: QuerySet[Region], *, at: datetime | None = None) -> QuerySet[Region]:
    """Annotate each region with `zone_status`, its own current status (None if none)."""
    return queryset.annotate(zone_status=_current_status_subquery(at or timezone.now()))


def region_effective_zone_status(*, region: Region, at: datetime | None = None) -> str:
    """The status that applies to a region: its own current one, else the nearest ancestor's."""
    return region_effective_zone_statuses(regions=[region], at=at)[region.pk]


def region_effective_zone_statuses(*, regions: Sequence[Region], at: datetime | None = None) -> dict[int, str]:
    """`region_effective_zone_status` of many regions in one query (a day plan asks for dozens at once)."""
    moment = at or timezone.now()
    ancestors = {region.pk: region.ancestor_ids() for region in regions}
    wanted = {pk for ids in ancestors.values() for pk in ids}
    rows = (
        ZoneStatus.objects.filter(region_id__in=sorted(wanted), starts_at__lte=moment)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=moment))
        .order_by("-starts_at", "-id")
        .values_list("region_id", "status")
    )
    latest: dict[int, str] = {}
    for region_id, status in rows:
        latest.setdefault(region_id, status)
    effective: dict[int, str] = {}
    for pk, ids in ancestors.items():
        effective[pk] = next((latest[i] for i in reversed(ids) if i in latest), ZoneStatusKind.NORMAL)
    return effective


def zone_status_history(*, scope: Scope, region: Region) -> QuerySet[ZoneStatus]:
    region_get(scope=scope, region_id=region.pk)
    return ZoneStatus.objects.filter(region=region).select_related("set_by").order_by("-starts_at", "-id")


def household_list(
    *,
    scope: Scope,
    region: Region | None = None,
    search: str = "",
    vulnerable_only: bool = False,
) -> QuerySet[Household]:
    """Households the scope may see, optionally under `region`.

    `search` matches a room ("1203"), a unit/building code fragment or a phone
    tail ("5678"). Results are plain model rows: callers present them with
    `household_present` so masking is never forgotten.
    """
    if scope.household_id is not None:
        queryset = Household.objects.filter(pk=scope.household_id)
    elif scope.sees_households and scope.region_path is not None:
        queryset = Household.objects.all()
        if scope.region_path:
            queryset = queryset.filter(unit__path__startswith=scope.region_path)
    else:
        return Household.objects.none()
    if region is not None:
        if region.level == RegionLevel.COMPOUND:
            queryset = queryset.filter(compound=region)
        else:
            queryset = queryset.filter(unit__path__startswith=region.path)
    term = search.strip()
    if term:
        queryset = queryset.filter(
            Q(room=term)
            | Q(phone__endswith=term)
            | Q(unit__name__icontains=term)
            | Q(unit__parent__name__icontains=term)
        )
    if vulnerable_only:
        queryset = queryset.filter(vulnerability_mask__gt=0)
    return queryset.select_related("unit", "unit__parent").order_by("compound_id", "unit__path", "room")


def household_get(*, scope: Scope, household_id: int) -> Household:
    household = household_list(scope=scope).filter(pk=household_id).first()
    if household is None:
        raise NotFound()
    return household


@dataclass(frozen=True)
class HouseholdView:
    """What a page, export or API response may show of a household."""

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
    masked: bool


def household_present(
    *, household: Household, scope: Scope, actor: User | None, unmasked: bool = False, purpose: str = "view"
) -> HouseholdView:
    """Mask personal fields unless the caller asked for them and the role may see them.

    Showing unmasked data writes a personal-data access row (fields and purpose,
    no values).
    """
    may_unmask = unmasked and actor is not None and (scope.sees_personal_data or scope.household_id == household.pk)
    if may_unmask and actor is not None:
        personal_data_access_record(
            actor=actor,
            subject_type="household",
            subject_ids=[household.pk],
            fields=["head_name", "phone", "id_number"],
            purpose=purpose,
        )
    unit = household.unit
    return HouseholdView(
        id=household.pk,
        compound_id=household.compound_id,
        building=unit.parent.name if unit.parent else "",
        unit=unit.name,
        room=household.room,
        head_name=household.head_name if may_unmask else mask_name(household.head_name),
        size=household.size,
        phone=household.phone if may_unmask else mask_phone(household.phone),
        id_number=household.id_number if may_unmask else mask_id_number(household.id_number),
        vulnerability_tags=household.vulnerability_tags,
        can_order_online=household.can_order_online,
        masked=not may_unmask,
    )


@dataclass(frozen=True)
class ZoneSummaryRow:
    status: str
    regions: int
    households: int
    residents: int


def zone_summary(*, scope: Scope, level: int = RegionLevel.COMPOUND) -> list[ZoneSummaryRow]:
    """Compounds (or another level) by their own current zone status, with households and residents."""
    regions = region_with_zone_status(region_list(scope=scope).filter(level=level))
    counts: dict[str, list[int]] = {}
    status_by_region = dict(regions.values_list("pk", "zone_status"))  # type: ignore[misc]  # annotation
    household_totals = (
        (household_list(scope=scope).order_by().values("compound_id").annotate(n=Count("id"), people=Sum("size")))
        if level == RegionLevel.COMPOUND
        else []
    )
    totals_by_compound = {row["compound_id"]: (row["n"], row["people"] or 0) for row in household_totals}
    for region_id, status in status_by_region.items():
        key = status or ZoneStatusKind.NORMAL
        entry = counts.setdefault(key, [0, 0, 0])
        entry[0] += 1
        n, people = totals_by_compound.get(region_id, (0, 0))
        entry[1] += n
        entry[2] += people
    order = [ZoneStatusKind.SEALED, ZoneStatusKind.CONTROLLED, ZoneStatusKind.PREVENTION, ZoneStatusKind.NORMAL]
    return [
        ZoneSummaryRow(
            status=s,
            regions=counts.get(s, [0, 0, 0])[0],
            households=counts.get(s, [0, 0, 0])[1],
            residents=counts.get(s, [0, 0, 0])[2],
        )
        for s in order
    ]


# Roles that may change a zone status: the command office decides, subdistricts
# carry out sealing orders for their own compounds.
ZONE_STATUS_ROLES = frozenset({"command", "subdistrict"})
RESTRICTED_ZONE_STATUSES = (ZoneStatusKind.SEALED, ZoneStatusKind.CONTROLLED, ZoneStatusKind.PREVENTION)


def zone_status_can_set(*, scope: Scope) -> bool:
    return scope.role in ZONE_STATUS_ROLES and scope.region_path is not None


def region_roots(*, scope: Scope) -> QuerySet[Region]:
    """The top of the caller's subtree: their own region, or every county for the whole tree."""
    if scope.region_path is None:
        return Region.objects.none()
    if scope.region_path == "":
        return Region.objects.filter(parent__isnull=True).order_by("code")
    return Region.objects.filter(path=scope.region_path)


@dataclass(frozen=True)
class RegionChildRow:
    region: Region
    zone_status: str | None
    households: int
    residents: int


def region_children_summary(*, scope: Scope, region: Region) -> list[RegionChildRow]:
    """Children of a region with their own current zone status and household/resident totals.

    Households are grouped by the path of their compound (above compound level)
    or of their unit (inside a compound): one grouped query whichever the size of
    the subtree, and the child a group belongs to is read off the path, whose
    n-th segment is the ancestor at level n+1.
    """
    children = list(region_with_zone_status(region_children(scope=scope, region=region)))
    # `zone_status` is the annotation added by region_with_zone_status; the stubs cannot see it.
    statuses: dict[int, str | None] = {c.pk: c.zone_status for c in children}  # type: ignore[attr-defined]
    if not children or region.level >= RegionLevel.UNIT:
        return [RegionChildRow(region=c, zone_status=statuses[c.pk], households=0, residents=0) for c in children]
    path_field = "compound__path" if region.level < RegionLevel.COMPOUND else "unit__path"
    groups = (
        household_list(scope=scope, region=region)
        .order_by()
        .values(path_field)
        .annotate(n=Count("id"), people=Sum("size"))
    )
    totals: dict[int, list[int]] = {}
    for row in groups:
        parts = row[path_field].strip("/").split("/")
        if len(parts) <= region.level:
            continue
        entry = totals.setdefault(int(parts[region.level]), [0, 0])
        entry[0] += row["n"]
        entry[1] += row["people"] or 0
    return [
        RegionChildRow(
            region=c,
            zone_status=statuses[c.pk],
            households=totals.get(c.pk, [0, 0])[0],
            residents=totals.get(c.pk, [0, 0])[1],
        )
        for c in children
    ]


def compound_restricted_list(*, scope: Scope) -> QuerySet[Region]:
    """Compounds in scope whose own current status restricts movement, most restrictive first."""
    compounds = region_with_zone_status(region_list(scope=scope).filter(level=RegionLevel.COMPOUND))
    severity = Case(
        *[When(zone_status=status, then=Value(rank)) for rank, status in enumerate(RESTRICTED_ZONE_STATUSES)],
        output_field=IntegerField(),
    )
    restricted = compounds.filter(zone_status__in=RESTRICTED_ZONE_STATUSES)  # type: ignore[misc]  # annotation
    return restricted.order_by(severity, "path")
