"""Scoped reads of the capacity pool, green passes and checkpoint checks.

A pass belongs to the area that issued it (`GreenPass.region`). A scoped
account sees the passes issued inside its subtree and those issued by the
areas above it (a county pass is valid in every subdistrict of the county),
never those of another county: those answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from baogong.accounts.models import Role
from baogong.core.errors import NotFound
from baogong.core.masking import mask_phone
from baogong.core.scoping import Scope
from baogong.core.services import personal_data_access_record
from baogong.enterprises.models import Organisation, OrganisationKind
from baogong.regions.models import Region, RegionLevel

from .models import Driver, GreenPass, PassCheck, Vehicle

if TYPE_CHECKING:
    from baogong.accounts.models import User

# Roles that issue, list and revoke passes (the transport department is a department account).
PASS_ROLES = frozenset({Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT})
# Roles that check passes at a checkpoint.
CHECK_ROLES = frozenset({Role.CHECKPOINT, Role.COMMAND})
# Roles that call drivers (dispatch); everyone else sees a masked phone.
DRIVER_PHONE_ROLES = frozenset({Role.COMMAND, Role.DEPARTMENT})


def _related_regions(scope: Scope, field: str) -> Q | None:
    """Regions inside the scope's subtree or above its root; None means nothing."""
    if scope.region_path is None:
        return None
    if scope.region_path == "":
        return Q()
    ancestor_ids = [int(part) for part in scope.region_path.strip("/").split("/") if part]
    return Q(**{f"{field}__path__startswith": scope.region_path}) | Q(**{f"{field}_id__in": ancestor_ids})


def green_pass_list(*, scope: Scope) -> QuerySet[GreenPass]:
    condition = _related_regions(scope, "region") if scope.role in PASS_ROLES | CHECK_ROLES else None
    if condition is None:
        return GreenPass.objects.none()
    return GreenPass.objects.filter(condition).select_related(
        "vehicle", "driver", "region", "origin_stock_point", "origin_organisation"
    )


def green_pass_get(*, scope: Scope, pass_id: int) -> GreenPass:
    green_pass = green_pass_list(scope=scope).filter(pk=pass_id).first()
    if green_pass is None:
        raise NotFound()
    return green_pass


def green_pass_find(*, scope: Scope, number: str) -> GreenPass | None:
    """The pass with this number if the caller may see it (a checkpoint honours its own area's passes)."""
    return green_pass_list(scope=scope).filter(number=number).first()


def green_pass_destinations(*, green_pass: GreenPass) -> list[Region]:
    return list(green_pass.destinations.order_by("path"))


def vehicle_list(*, scope: Scope) -> QuerySet[Vehicle]:
    condition = _related_regions(scope, "owner__region") if scope.role in PASS_ROLES else None
    if condition is None:
        return Vehicle.objects.none()
    return Vehicle.objects.filter(condition).select_related("owner")


def driver_list(*, scope: Scope) -> QuerySet[Driver]:
    condition = _related_regions(scope, "employer__region") if scope.role in PASS_ROLES else None
    if condition is None:
        return Driver.objects.none()
    return Driver.objects.filter(condition).select_related("employer")


def destination_list(*, scope: Scope) -> QuerySet[Region]:
    """Compounds a pass issued by this account may lead to."""
    if scope.region_path is None or scope.role not in PASS_ROLES:
        return Region.objects.none()
    return Region.objects.filter(path__startswith=scope.region_path, level=RegionLevel.COMPOUND)


def origin_organisation_list(*, scope: Scope) -> QuerySet[Organisation]:
    condition = _related_regions(scope, "region") if scope.role in PASS_ROLES else None
    if condition is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(condition, kind=OrganisationKind.ENTERPRISE, is_active=True)


def pass_check_list(*, scope: Scope, officer: User | None = None) -> QuerySet[PassCheck]:
    """Checks made at checkpoints inside the scope (an officer's own when `officer` is given)."""
    if scope.region_path is None or scope.role not in PASS_ROLES | CHECK_ROLES:
        return PassCheck.objects.none()
    queryset = PassCheck.objects.filter(checkpoint_region__path__startswith=scope.region_path)
    if officer is not None:
        queryset = queryset.filter(officer=officer)
    return queryset.select_related("green_pass", "checkpoint_region")


@dataclass(frozen=True)
class DriverView:
    id: int
    name: str
    phone: str
    licence_number: str
    employer: str
    itinerary_status: str
    masked: bool


def driver_present(*, driver: Driver, scope: Scope, actor: User | None, unmasked: bool = False) -> DriverView:
    """The driver as a page shows it; the phone is unmasked (and the access recorded) only for dispatch roles."""
    may_unmask = unmasked and actor is not None and scope.role in DRIVER_PHONE_ROLES
    if may_unmask and actor is not None:
        personal_data_access_record(
            actor=actor, subject_type="driver", subject_ids=[driver.pk], fields=["phone"], purpose="dispatch"
        )
    return DriverView(
        id=driver.pk,
        name=driver.name,
        phone=driver.phone if may_unmask else mask_phone(driver.phone),
        licence_number=driver.licence_number,
        employer=driver.employer.name,
        itinerary_status=driver.itinerary_status,
        masked=not may_unmask,
    )
