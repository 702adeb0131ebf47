"""Scoped reads of regions, zone statuses and households.

Every endpoint starts from the caller's scope and reads through the scoping
selectors, so an object outside the scope answers 404 exactly like one that
does not exist. Household bodies come from `household_present` and are masked
unless the caller may and asks to see more.
"""

from typing import TYPE_CHECKING, Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router

from baogong.core.schemas import LIST_ERRORS, MAX_ID, READ_ERRORS, paginated
from baogong.core.scoping import scope_of

from .models import Region, ZoneStatus
from .schemas import (
    HouseholdDetailParams,
    HouseholdFilter,
    HouseholdOut,
    HouseholdPage,
    RegionDetailOut,
    RegionFilter,
    RegionPage,
    ZoneStatusOut,
)
from .selectors import (
    HouseholdView,
    household_get,
    household_list,
    household_present,
    region_effective_zone_status,
    region_get,
    region_list,
    region_with_zone_status,
    zone_status_history,
)

if TYPE_CHECKING:
    from baogong.accounts.models import User

router = Router(tags=["regions"])
households_router = Router(tags=["households"])


@router.get("", response={200: RegionPage, **LIST_ERRORS}, summary="Regions in scope")
def regions_list(request: HttpRequest, filters: Query[RegionFilter]) -> dict[str, Any]:
    queryset = region_list(scope=scope_of(request.user)).order_by("path")
    if filters.level is not None:
        queryset = queryset.filter(level=filters.level)
    if filters.parent is not None:
        queryset = queryset.filter(parent_id=filters.parent)
    return paginated(queryset, filters)


@router.get("/{region_id}", response={200: RegionDetailOut, **READ_ERRORS}, summary="One region with its zone status")
def regions_get(request: HttpRequest, region_id: int = Path(..., ge=1, le=MAX_ID)) -> Region:
    region = region_get(scope=scope_of(request.user), region_id=region_id)
    # Re-read with its own current status annotated; the effective one needs the ancestors.
    annotated = region_with_zone_status(Region.objects.filter(pk=region.pk)).get()
    annotated.effective_zone_status = region_effective_zone_status(region=region)  # type: ignore[attr-defined]
    return annotated


@router.get(
    "/{region_id}/zone-statuses",
    response={200: list[ZoneStatusOut], **READ_ERRORS},
    summary="Zone status history of a region, newest first",
)
def regions_zone_statuses(request: HttpRequest, region_id: int = Path(..., ge=1, le=MAX_ID)) -> QuerySet[ZoneStatus]:
    scope = scope_of(request.user)
    region = region_get(scope=scope, region_id=region_id)
    return zone_status_history(scope=scope, region=region)


@households_router.get("", response={200: HouseholdPage, **READ_ERRORS}, summary="Households in scope (masked)")
def households_list(request: HttpRequest, filters: Query[HouseholdFilter]) -> dict[str, Any]:
    scope = scope_of(request.user)
    # A compound outside the scope answers 404 rather than an empty page, so
    # the caller cannot probe which ids exist.
    region = region_get(scope=scope, region_id=filters.compound) if filters.compound is not None else None
    queryset = household_list(scope=scope, region=region, search=filters.q, vulnerable_only=filters.vulnerable)
    # Lists are always masked: unmasking is per household, on its detail, and logged.
    return paginated(queryset, filters, present=lambda row: household_present(household=row, scope=scope, actor=None))


@households_router.get(
    "/{household_id}", response={200: HouseholdOut, **READ_ERRORS}, summary="One household (masked unless granted)"
)
def households_get(
    request: HttpRequest, params: Query[HouseholdDetailParams], household_id: int = Path(..., ge=1, le=MAX_ID)
) -> HouseholdView:
    scope = scope_of(request.user)
    household = household_get(scope=scope, household_id=household_id)
    # The router's session auth guarantees a signed-in account here.
    actor = cast("User", request.user)
    return household_present(household=household, scope=scope, actor=actor, unmasked=params.unmasked, purpose="api")
