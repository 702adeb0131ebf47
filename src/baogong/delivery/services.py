"""Writes of the last mile's first leg: drivers, green passes, checkpoint checks, gate arrivals, disinfection."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from baogong.core.errors import Conflict, PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.enterprises.models import Organisation
from baogong.regions.models import Region, RegionLevel
from baogong.stock.models import StockPoint

from .models import (
    CheckResult,
    Driver,
    GateArrival,
    GreenPass,
    GreenPassCounter,
    GreenPassStatus,
    ItineraryStatus,
    PassCheck,
    StopReason,
    Vehicle,
    VehicleDisinfection,
)
from .qr import green_pass_claim_matches, green_pass_payload_read
from .selectors import CHECK_ROLES, green_pass_find

if TYPE_CHECKING:
    from baogong.accounts.models import User

PASS_NUMBER = re.compile(r"^\d{12}$")
MAX_SERIAL = 999_999
# A negative test older than this no longer lets a driver through (P7).
TEST_VALIDITY = timedelta(hours=48)
PLATE_NOISE = re.compile(r"[\s·.\-]")


def plate_normalise(plate: str) -> str:
    """Plates as officers type them: 浙A·12345, 浙a 12345 and 浙A12345 are the same plate."""
    return PLATE_NOISE.sub("", plate).upper()


def driver_create(
    *,
    actor: User | None,
    name: str,
    phone: str,
    licence_number: str,
    employer: Organisation,
    itinerary_status: str = ItineraryStatus.GREEN,
    last_negative_test_at: datetime | None = None,
    now: datetime | None = None,
) -> Driver:
    with transaction.atomic():
        driver = Driver(
            name=name.strip(),
            phone=phone.strip(),
            licence_number=licence_number.strip(),
            employer=employer,
            itinerary_status=itinerary_status,
            itinerary_updated_at=now or timezone.now(),
            last_negative_test_at=last_negative_test_at,
        )
        driver.full_clean()
        driver.save()
        audit_record(
            actor=actor,
            action="driver.create",
            target_type="driver",
            target_id=driver.pk,
            payload={"employer": employer.pk, "itinerary_status": itinerary_status},
        )
    return driver


def driver_health_update(
    *,
    actor: User | None,
    driver: Driver,
    itinerary_status: str,
    last_negative_test_at: datetime | None,
    now: datetime | None = None,
) -> Driver:
    """Record the driver's current itinerary code and latest negative test (as the driver shows them)."""
    if itinerary_status not in ItineraryStatus.values:
        raise ValidationFailed(_("Unknown itinerary code status."), field="itinerary_status")
    moment = now or timezone.now()
    if last_negative_test_at is not None and last_negative_test_at > moment:
        raise ValidationFailed(_("A test cannot be in the future."), field="last_negative_test_at")
    with transaction.atomic():
        Driver.objects.filter(pk=driver.pk).update(
            itinerary_status=itinerary_status,
            itinerary_updated_at=moment,
            last_negative_test_at=last_negative_test_at,
        )
        audit_record(
            actor=actor,
            action="driver.health_update",
            target_type="driver",
            target_id=driver.pk,
            payload={"itinerary_status": itinerary_status, "last_negative_test_at": last_negative_test_at},
        )
    driver.refresh_from_db()
    return driver


def green_pass_area_code(*, region: Region) -> str:
    """The 6-digit area code of the county a region lies in (its administrative code when it has one)."""
    county_id = region.ancestor_ids()[0] if region.path else region.pk
    county = region if county_id == region.pk else Region.objects.get(pk=county_id)
    code = county.code.strip()
    if len(code) == 6 and code.isdigit():
        return code
    # Test and demo trees may use other codes; the key keeps the number unique and stable.
    return f"{county.pk % 1_000_000:06d}"


def _serial_next(area_code: str) -> int:
    """Take the next serial of an area.

    The conditional UPDATE locks the counter row until the issuing transaction
    ends, so concurrent issuers of one area queue on it and each reads back
    its own value; the row is created first without ever failing.
    """
    GreenPassCounter.objects.bulk_create([GreenPassCounter(area_code=area_code, last_serial=0)], ignore_conflicts=True)
    taken = GreenPassCounter.objects.filter(area_code=area_code, last_serial__lt=MAX_SERIAL).update(
        last_serial=F("last_serial") + 1
    )
    if not taken:
        raise Conflict(_("All pass numbers of this area are used."), field="region")
    return GreenPassCounter.objects.filter(area_code=area_code).values_list("last_serial", flat=True).get()


def _vehicle_lock(vehicle: Vehicle) -> None:
    Vehicle.objects.select_for_update().filter(pk=vehicle.pk).values_list("pk", flat=True).get()


def pass_issue(
    *,
    actor: User | None,
    region: Region,
    vehicle: Vehicle,
    driver: Driver,
    valid_from: datetime,
    valid_until: datetime,
    destinations: Sequence[Region],
    origin_stock_point: StockPoint | None = None,
    origin_organisation: Organisation | None = None,
) -> GreenPass:
    """Issue a green pass: one vehicle, one pass, one route.

    The vehicle row is locked, then no active pass of the vehicle may overlap
    the new window (PostgreSQL also refuses it with an exclusion constraint).
    The number is the county's 6-digit area code and the next serial of that
    area, taken from a counter row (see `_serial_next`).
    """
    if valid_until <= valid_from:
        raise ValidationFailed(_("The pass must end after it starts."), field="valid_until")
    if (origin_stock_point is None) == (origin_organisation is None):
        raise ValidationFailed(_("Give exactly one origin: a stock point or an organisation."), field="origin")
    if not destinations:
        raise ValidationFailed(_("Give at least one destination compound."), field="destinations")
    area_code = green_pass_area_code(region=region)
    for destination in destinations:
        if destination.level != RegionLevel.COMPOUND:
            raise ValidationFailed(_("Destinations must be compounds."), field="destinations")
        if green_pass_area_code(region=destination) != area_code:
            raise ValidationFailed(_("Destinations must lie in the area that issues the pass."), field="destinations")
    with transaction.atomic():
        _vehicle_lock(vehicle)
        overlapping = (
            GreenPass.objects.filter(
                vehicle=vehicle,
                status=GreenPassStatus.ACTIVE,
                valid_from__lt=valid_until,
                valid_until__gt=valid_from,
            )
            .values_list("number", flat=True)
            .first()
        )
        if overlapping is not None:
            raise Conflict(
                _("This vehicle already has active pass %(number)s for that time.") % {"number": overlapping},
                field="vehicle",
                data={"pass": overlapping},
            )
        serial = _serial_next(area_code)
        green_pass = GreenPass(
            number=f"{area_code}{serial:06d}",
            area_code=area_code,
            serial=serial,
            region=region,
            vehicle=vehicle,
            driver=driver,
            valid_from=valid_from,
            valid_until=valid_until,
            origin_stock_point=origin_stock_point,
            origin_organisation=origin_organisation,
            issued_by=actor if actor is not None and actor.is_authenticated else None,
        )
        green_pass.full_clean(exclude=["issued_by", "revoked_by"])
        try:
            with transaction.atomic():
                green_pass.save()
        except IntegrityError as error:
            # Only the PostgreSQL exclusion constraint can get here after the check above.
            raise Conflict(_("This vehicle already has an active pass for that time."), field="vehicle") from error
        green_pass.destinations.set(destinations)
        audit_record(
            actor=actor,
            action="green_pass.issue",
            target_type="green_pass",
            target_id=green_pass.pk,
            payload={
                "number": green_pass.number,
                "vehicle": vehicle.pk,
                "driver": driver.pk,
                "valid_from": valid_from,
                "valid_until": valid_until,
                "destinations": sorted(d.pk for d in destinations),
            },
        )
    return green_pass


def pass_revoke(*, actor: User | None, green_pass: GreenPass, reason: str, now: datetime | None = None) -> GreenPass:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Say why the pass is revoked."), field="reason")
    moment = now or timezone.now()
    with transaction.atomic():
        revoked = GreenPass.objects.filter(pk=green_pass.pk, status=GreenPassStatus.ACTIVE).update(
            status=GreenPassStatus.REVOKED,
            revoked_reason=reason[:255],
            revoked_at=moment,
            revoked_by=actor if actor is not None and actor.is_authenticated else None,
        )
        if not revoked:
            raise Conflict(_("This pass is already revoked."), field="status")
        audit_record(
            actor=actor,
            action="green_pass.revoke",
            target_type="green_pass",
            target_id=green_pass.pk,
            payload={"number": green_pass.number, "reason": reason},
        )
    green_pass.refresh_from_db()
    return green_pass


def _stop_reasons(
    green_pass: GreenPass, *, plate_seen: str, route_destination: Region | None, now: datetime
) -> list[str]:
    reasons: list[str] = []
    if green_pass.status == GreenPassStatus.REVOKED:
        reasons.append(StopReason.REVOKED)
    if now < green_pass.valid_from:
        reasons.append(StopReason.NOT_YET_VALID)
    elif now >= green_pass.valid_until:
        reasons.append(StopReason.EXPIRED)
    if route_destination is not None and not any(
        route_destination.path.startswith(destination.path) for destination in green_pass.destinations.all()
    ):
        reasons.append(StopReason.WRONG_ROUTE)
    if plate_normalise(plate_seen) != plate_normalise(green_pass.vehicle.plate):
        reasons.append(StopReason.PLATE_MISMATCH)
    driver = green_pass.driver
    if driver.last_negative_test_at is None or now - driver.last_negative_test_at > TEST_VALIDITY:
        reasons.append(StopReason.TEST_TOO_OLD)
    if driver.itinerary_status != ItineraryStatus.GREEN:
        reasons.append(StopReason.ITINERARY_FLAGGED)
    return reasons


def pass_check(
    *,
    officer: User,
    payload_or_number: str,
    plate_seen: str,
    checkpoint_region: Region,
    route_destination: Region | None = None,
    now: datetime | None = None,
) -> PassCheck:
    """Check a presented pass at a checkpoint and log the check, whatever its result.

    A 12-digit input is a number typed by the officer; anything else is a QR
    payload, which must carry a valid signature and still describe the pass on
    record, or the vehicle is stopped as forged. A pass the officer's area did
    not issue is unknown here. Every other failed rule adds its own reason.
    """
    scope = scope_of(officer)
    if scope.role not in CHECK_ROLES:
        raise PermissionDenied()
    presented = payload_or_number.strip()
    if not presented:
        raise ValidationFailed(_("Scan the QR code or type the pass number."), field="payload_or_number")
    if not plate_normalise(plate_seen):
        raise ValidationFailed(_("Type the plate you see on the vehicle."), field="plate_seen")
    moment = now or timezone.now()
    green_pass: GreenPass | None = None
    reasons: list[str] = []
    if PASS_NUMBER.match(presented):
        green_pass = green_pass_find(scope=scope, number=presented)
        reasons = [] if green_pass is not None else [StopReason.UNKNOWN_PASS]
    else:
        claim = green_pass_payload_read(payload=presented)
        if claim is None:
            reasons = [StopReason.FORGED]
        else:
            green_pass = green_pass_find(scope=scope, number=claim.number)
            if green_pass is None:
                reasons = [StopReason.UNKNOWN_PASS]
            elif not green_pass_claim_matches(claim=claim, green_pass=green_pass):
                reasons = [StopReason.FORGED]
    if green_pass is not None and not reasons:
        reasons = _stop_reasons(green_pass, plate_seen=plate_seen, route_destination=route_destination, now=moment)
    with transaction.atomic():
        check = PassCheck.objects.create(
            green_pass=green_pass,
            presented=presented[:255],
            officer=officer,
            checkpoint_region=checkpoint_region,
            route_destination=route_destination,
            plate_seen=plate_seen.strip()[:16],
            checked_at=moment,
            result=CheckResult.STOP if reasons else CheckResult.PASS,
            reasons=[str(reason) for reason in reasons],
        )
        audit_record(
            actor=officer,
            action="green_pass.check",
            target_type="pass_check",
            target_id=check.pk,
            payload={"pass": green_pass.pk if green_pass else None, "result": check.result, "reasons": check.reasons},
        )
    return check


def gate_arrival_record(
    *,
    actor: User,
    vehicle: Vehicle,
    compound: Region,
    green_pass: GreenPass | None = None,
    note: str = "",
    now: datetime | None = None,
) -> GateArrival:
    if compound.level != RegionLevel.COMPOUND:
        raise ValidationFailed(_("A gate belongs to a compound."), field="compound")
    if green_pass is not None and green_pass.vehicle_id != vehicle.pk:
        raise ValidationFailed(_("The pass belongs to another vehicle."), field="green_pass")
    with transaction.atomic():
        arrival = GateArrival.objects.create(
            vehicle=vehicle,
            green_pass=green_pass,
            compound=compound,
            arrived_at=now or timezone.now(),
            recorded_by=actor,
            note=note.strip()[:255],
        )
        audit_record(
            actor=actor,
            action="gate_arrival.record",
            target_type="gate_arrival",
            target_id=arrival.pk,
            payload={"vehicle": vehicle.pk, "compound": compound.pk},
        )
    return arrival


def vehicle_disinfection_record(
    *, actor: User, vehicle: Vehicle, place: Region, agent: str, now: datetime | None = None
) -> VehicleDisinfection:
    """P7: the vehicle is disinfected before it leaves; one row each time."""
    agent = agent.strip()
    if not agent:
        raise ValidationFailed(_("Name the disinfectant used."), field="agent")
    with transaction.atomic():
        disinfection = VehicleDisinfection.objects.create(
            vehicle=vehicle, disinfected_at=now or timezone.now(), place=place, agent=agent[:64], recorded_by=actor
        )
        audit_record(
            actor=actor,
            action="vehicle.disinfect",
            target_type="vehicle",
            target_id=vehicle.pk,
            payload={"disinfection": disinfection.pk, "place": place.pk, "agent": disinfection.agent},
        )
    return disinfection
