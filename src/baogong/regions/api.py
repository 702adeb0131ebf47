"""Scoped reads of regions, zone statuses and households.

Every endpoint starts from the caller's scope and reads through the scoping
selectors, so an object outside the scope answers 404 exactly like one that
does not exist. Household bodies come from `household_present` and are masked
unless the caller may and asks to see more.
"""

from typing import TYPE_CHECKING, cast

from django.http import HttpRequest
from ninja import Path, Query, Router

from baogong.core.schemas import LIST_ERRORS, MAX_ID, READ_ERRORS, page_slice
from baogong.core.scoping import scope_of

from .models import Region
from .schemas import (
    HouseholdDetailParams,
    HouseholdFilter,
    HouseholdOut,
    HouseholdPage,
    RegionDetailOut,
    RegionFilter,
    RegionOut,
    RegionPage,
    ZoneStatusOut,
)
from .selectors import (
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
def regions_list(request: HttpRequest, filters: Query[RegionFilter]) -> RegionPage:
    queryset = region_list(scope=scope_of(request.user)).order_by("path")
    if filters.level is not None:
        queryset = queryset.filter(level=filters.level)
    if filters.parent is not None:
        queryset = queryset.filter(parent_id=filters.parent)
    total, rows = page_slice(queryset, filters)
    return RegionPage.model_validate(
        {"count": total, "limit": filters.limit, "offset": filters.offset, "items": rows}, from_attributes=True
    )


@router.get("/{region_id}", response={200: RegionDetailOut, **READ_ERRORS}, summary="One region with its zone status")
def regions_get(request: HttpRequest, region_id: int = Path(..., ge=1, le=MAX_ID)) -> RegionDetailOut:
    region = region_get(scope=scope_of(request.user), region_id=region_id)
    own_status = (
        region_with_zone_status(Region.objects.filter(pk=region.pk)).values_list("zone_status", flat=True).get()
    )
    return RegionDetailOut(
        **RegionOut.model_validate(region, from_attributes=True).model_dump(),
        zone_status=own_status,
        effective_zone_status=region_effective_zone_status(region=region),
    )


@router.get(
    "/{region_id}/zone-statuses",
    response={200: list[ZoneStatusOut], **READ_ERRORS},
    summary="Zone status history of a region, newest first",
)
def regions_zone_statuses(request: HttpRequest, region_id: int = Path(..., ge=1, le=MAX_ID)) -> list[ZoneStatusOut]:
    scope = scope_of(request.user)
    region = region_get(scope=scope, region_id=region_id)
    return [
        ZoneStatusOut.model_validate(row, from_attributes=True)
        for row in zone_status_history(scope=scope, region=region)
    ]


@households_router.get("", response={200: HouseholdPage, **READ_ERRORS}, summary="Households in scope (masked)")
def households_list(request: HttpRequest, filters: Query[HouseholdFilter]) -> HouseholdPage:
    scope = scope_of(request.user)
    # A compound outside the scope answers 404 rather than an empty page, so
    # the caller cannot probe which ids exist.
    region = region_get(scope=scope, region_id=filters.compound) if filters.compound is not None else None
    queryset = household_list(scope=scope, region=region, search=filters.q, vulnerable_only=filters.vulnerable)
    total, rows = page_slice(queryset, filters)
    # Lists are always masked: unmasking is per household, logged, on its detail.
    items = [
        HouseholdOut.model_validate(household_present(household=row, scope=scope, actor=None), from_attributes=True)
        for row in rows
    ]
    return HouseholdPage(count=total, limit=filters.limit, offset=filters.offset, items=items)


@households_router.get(
    "/{household_id}", response={200: HouseholdOut, **READ_ERRORS}, summary="One household (masked unless granted)"
)
def households_get(
    request: HttpRequest, params: Query[HouseholdDetailParams], household_id: int = Path(..., ge=1, le=MAX_ID)
) -> HouseholdOut:
    scope = scope_of(request.user)
    household = household_get(scope=scope, household_id=household_id)
    # The router's session auth guarantees a signed-in account here.
    actor = cast("User", request.user)
    view = household_present(household=household, scope=scope, actor=actor, unmasked=params.unmasked, purpose="api")
    return HouseholdOut.model_validate(view, from_attributes=True)
