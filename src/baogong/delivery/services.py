"""Writes of the last mile's first leg: drivers, green passes, checkpoint checks, gate arrivals, disinfection."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from baogong.core.errors import Conflict, PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.enterprises.models import Organisation
from baogong.orders.models import PurchaseOrder, PurchaseOrderLine
from baogong.orders.services import GateShortfall, orders_arrive_at_gate, orders_gate_verify
from baogong.regions.models import Region, RegionLevel
from baogong.stock.models import StockPoint

from .models import (
    CheckResult,
    DiscrepancyKind,
    Driver,
    FollowUp,
    GateArrival,
    GateDiscrepancy,
    GateReceipt,
    GateReceiptLine,
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
from .selectors import (
    CHECK_ROLES,
    COMING_PO_STATUSES,
    DISINFECTION_ROLES,
    GATE_ROLES,
    ChecklistLine,
    GateChecklist,
    compound_get,
    disinfection_place_list,
    gate_checklist_build,
    green_pass_find,
)

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
            # The reason is free text that may name the driver's health or family; it stays on the
            # pass (revoked_reason), never in the append-only log.
            payload={"number": green_pass.number, "with_reason": True},
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


# --- gate receiving --------------------------------------------------------------------------------

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PHOTO_TYPES = {"image/jpeg": (JPEG_MAGIC, "jpg"), "image/png": (PNG_MAGIC, "png")}


@dataclass(frozen=True)
class LineCount:
    """What a volunteer counted on one checklist line.

    `received_quantity` is every unit that came off the vehicle for this line,
    damaged ones and wrong items included; what is missing is the difference
    to the expected quantity and is recorded as short by the service.
    """

    purchase_order_line_id: int
    received_quantity: int
    damaged_quantity: int = 0
    wrong_item_quantity: int = 0
    note: str = ""
    photo: UploadedFile | None = None


def gate_photo_validate(*, photo: UploadedFile, field: str) -> str:
    """A JPEG or PNG no larger than GATE_PHOTO_MAX_BYTES, judged by its first bytes, not its name; returns its type."""
    if photo.size is None or photo.size > settings.GATE_PHOTO_MAX_BYTES:
        raise ValidationFailed(
            _("The photo is larger than %(size)s MB.") % {"size": settings.GATE_PHOTO_MAX_BYTES // (1024 * 1024)},
            field=field,
        )
    photo.seek(0)
    head = photo.read(8)
    photo.seek(0)
    for content_type, (magic, _extension) in PHOTO_TYPES.items():
        if head.startswith(magic):
            return content_type
    raise ValidationFailed(_("The photo must be a JPEG or PNG image."), field=field)


@dataclass(frozen=True)
class _Counted:
    line: ChecklistLine
    count: LineCount
    accepted: int
    short: int
    photo_type: str


def _whole(value: object, *, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("Enter a whole number."), field=field)
    if value < 0:
        raise ValidationFailed(_("Enter 0 or more."), field=field)
    if value > maximum:
        raise ValidationFailed(_("Enter at most %(maximum)s.") % {"maximum": maximum}, field=field)
    return value


def _counts_validate(checklist: GateChecklist, counts: Sequence[LineCount]) -> list[_Counted]:
    by_id = {line.purchase_order_line_id: line for line in checklist.lines}
    seen: set[int] = set()
    counted: list[_Counted] = []
    tolerance = settings.GATE_OVER_TOLERANCE
    for index, count in enumerate(counts):
        prefix = f"lines[{index}]"
        line = by_id.get(count.purchase_order_line_id)
        if line is None:
            raise ValidationFailed(
                _("This line is not on the gate checklist."), field=f"{prefix}.purchase_order_line_id"
            )
        if line.purchase_order_line_id in seen:
            raise ValidationFailed(_("This line is counted twice."), field=f"{prefix}.purchase_order_line_id")
        seen.add(line.purchase_order_line_id)
        received = _whole(
            count.received_quantity, field=f"{prefix}.received_quantity", maximum=line.expected + tolerance
        )
        damaged = _whole(count.damaged_quantity, field=f"{prefix}.damaged_quantity", maximum=received)
        wrong = _whole(count.wrong_item_quantity, field=f"{prefix}.wrong_item_quantity", maximum=received - damaged)
        photo_type = gate_photo_validate(photo=count.photo, field=f"{prefix}.photo") if count.photo else ""
        accepted = min(line.expected, received - damaged - wrong)
        counted.append(
            _Counted(
                line=line, count=count, accepted=accepted, short=max(line.expected - received, 0), photo_type=photo_type
            )
        )
    missing = [line.purchase_order_line_id for line in checklist.lines if line.purchase_order_line_id not in seen]
    if missing:
        raise ValidationFailed(_("Count every line of the checklist."), field="lines", data={"missing": missing})
    return counted


def _discrepancy_text(counted: _Counted) -> str:
    parts = []
    if counted.short:
        parts.append(_("%(n)s short") % {"n": counted.short})
    if counted.count.damaged_quantity:
        parts.append(_("%(n)s damaged") % {"n": counted.count.damaged_quantity})
    if counted.count.wrong_item_quantity:
        parts.append(_("%(n)s wrong item") % {"n": counted.count.wrong_item_quantity})
    return _("Gate check: %(what)s") % {"what": ", ".join(str(part) for part in parts)}


def gate_receipt_complete(
    *,
    actor: User,
    compound_id: int,
    delivery_date: date,
    counts: Sequence[LineCount],
    placed_at: str,
    received_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> GateReceipt:
    """Complete the gate check of a compound's delivery day and hand the goods over without contact.

    In one transaction: the receipt, its lines and discrepancies are written;
    each line's shortfall (expected less what arrived usable) is taken off the
    purchase-order line and off households' orders (rule in
    `orders.services.gate`); orders move to verified (or short); one open
    follow-up is raised per discrepancy. The purchase orders are locked first,
    and the one-receipt-per-compound-and-day constraint turns a second
    completion, however simultaneous, into a conflict that changes nothing.
    """
    scope = scope_of(actor)
    if scope.role not in GATE_ROLES:
        raise PermissionDenied()
    compound = compound_get(scope=scope, compound_id=compound_id)
    moment = now or timezone.now()
    handed_over_at = received_at or moment
    place = placed_at.strip()
    if not place:
        raise ValidationFailed(_("Say where the goods were placed."), field="placed_at")
    if handed_over_at > moment:
        raise ValidationFailed(_("The handover cannot be in the future."), field="received_at")
    with transaction.atomic():
        purchase_orders = list(
            PurchaseOrder.objects.select_for_update()
            .filter(compound=compound, delivery_date=delivery_date, status__in=COMING_PO_STATUSES)
            .order_by("pk")
        )
        if GateReceipt.objects.filter(compound=compound, delivery_date=delivery_date).exists():
            raise Conflict(_("The goods of this compound and day are already checked."), field="status")
        checklist = gate_checklist_build(compound=compound, delivery_date=delivery_date)
        if not checklist.lines:
            raise ValidationFailed(_("Nothing is expected at this gate on that day."), field="delivery_date")
        counted = _counts_validate(checklist, counts)
        try:
            with transaction.atomic():
                receipt = GateReceipt.objects.create(
                    compound=compound,
                    delivery_date=delivery_date,
                    received_by=actor,
                    received_at=handed_over_at,
                    placed_at=place[:128],
                    note=note.strip()[:255],
                )
        except IntegrityError as error:
            raise Conflict(_("The goods of this compound and day are already checked."), field="status") from error
        # Reasons are stored for households and the hotline, so in the platform's language.
        with translation.override(settings.LANGUAGE_CODE):
            reasons = {
                c.line.purchase_order_line_id: _discrepancy_text(c) for c in counted if c.accepted < c.line.expected
            }
        discrepancies: list[tuple[GateDiscrepancy, _Counted]] = []
        for item in counted:
            line = GateReceiptLine.objects.create(
                receipt=receipt,
                purchase_order_line_id=item.line.purchase_order_line_id,
                expected_quantity=item.line.expected,
                received_quantity=item.count.received_quantity,
                accepted_quantity=item.accepted,
            )
            kinds = (
                (DiscrepancyKind.SHORT, item.short),
                (DiscrepancyKind.DAMAGED, item.count.damaged_quantity),
                (DiscrepancyKind.WRONG_ITEM, item.count.wrong_item_quantity),
            )
            first = True
            for kind, quantity in kinds:
                if not quantity:
                    continue
                discrepancy = GateDiscrepancy(
                    line=line, kind=kind, quantity=quantity, note=item.count.note.strip()[:255]
                )
                if first and item.count.photo is not None:
                    # One photo per line: it goes with the line's first discrepancy, under a name of ours.
                    extension = PHOTO_TYPES[item.photo_type][1]
                    discrepancy.photo.save(f"{uuid.uuid4().hex}.{extension}", item.count.photo, save=False)
                    discrepancy.photo_content_type = item.photo_type
                discrepancy.save()
                first = False
                discrepancies.append((discrepancy, item))
        households_cut: dict[tuple[int, int], set[int]] = defaultdict(set)
        for purchase_order in purchase_orders:
            shortfalls = [
                GateShortfall(
                    offer_line_id=item.line.offer_line_id,
                    units=item.line.expected - item.accepted,
                    reason=reasons[item.line.purchase_order_line_id],
                )
                for item in counted
                if item.line.purchase_order_id == purchase_order.pk and item.accepted < item.line.expected
            ]
            cuts = orders_gate_verify(
                actor=actor, purchase_order=purchase_order, shortfalls=shortfalls, note=gettext("checked at the gate")
            )
            for cut in cuts:
                households_cut[(purchase_order.pk, cut.offer_line_id)].add(cut.order_id)
        _purchase_order_lines_cut(counted, reasons)
        supermarkets = {po.pk: po.supermarket_id for po in purchase_orders}
        for discrepancy, item in discrepancies:
            FollowUp.objects.create(
                discrepancy=discrepancy,
                compound=compound,
                delivery_date=delivery_date,
                supermarket_id=supermarkets[item.line.purchase_order_id],
                summary=_follow_up_summary(discrepancy, item, place),
                households_affected=len(households_cut[(item.line.purchase_order_id, item.line.offer_line_id)]),
                raised_by=actor,
                raised_at=moment,
            )
        audit_record(
            actor=actor,
            action="gate_receipt.complete",
            target_type="gate_receipt",
            target_id=receipt.pk,
            payload={
                "compound": compound.pk,
                "delivery_date": delivery_date,
                "lines": {
                    str(item.line.purchase_order_line_id): [
                        item.line.expected,
                        item.count.received_quantity,
                        item.accepted,
                    ]
                    for item in counted
                },
                "discrepancies": len(discrepancies),
            },
        )
    return receipt


def _purchase_order_lines_cut(counted: list[_Counted], reasons: dict[int, str]) -> None:
    """Lower each purchase-order line by its shortfall and add the gate's reason to the supermarket's.

    The purchase orders are locked by the caller and only `purchase_order_confirm`
    (which needs an open one) writes these lines otherwise, so reading and writing them here is safe.
    """
    cut = {item.line.purchase_order_line_id: item.line.expected - item.accepted for item in counted}
    lines = list(
        PurchaseOrderLine.objects.select_for_update().filter(pk__in=[k for k, v in cut.items() if v]).order_by("pk")
    )
    for line in lines:
        if (line.confirmed_quantity or 0) < cut[line.pk]:
            raise Conflict(_("The purchase order changed while the goods were counted."), field="status")
        line.confirmed_quantity = (line.confirmed_quantity or 0) - cut[line.pk]
        line.short_reason = "; ".join(r for r in (line.short_reason, reasons[line.pk]) if r)[:255]
    PurchaseOrderLine.objects.bulk_update(lines, ["confirmed_quantity", "short_reason"])


def _vehicle_by_plate(plate: str, *, field: str) -> Vehicle:
    wanted = plate_normalise(plate)
    if not wanted:
        raise ValidationFailed(_("Type the plate you see on the vehicle."), field=field)
    # Plates are stored as typed (浙A·12345); narrow by the last digits, then compare normalised.
    candidates = Vehicle.objects.filter(plate__iendswith=wanted[-3:])
    vehicle = next((v for v in candidates if plate_normalise(v.plate) == wanted), None)
    if vehicle is None:
        raise ValidationFailed(_("No vehicle of the transport pool has this plate."), field=field)
    return vehicle


def _follow_up_summary(discrepancy: GateDiscrepancy, item: _Counted, place: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        text = _("%(goods)s: %(quantity)s %(kind)s of %(expected)s (goods placed at %(place)s)") % {
            "goods": item.line.goods_name,
            "quantity": discrepancy.quantity,
            "kind": DiscrepancyKind(discrepancy.kind).label,
            "expected": item.line.expected,
            "place": place,
        }
    return str(text)[:255]


def gate_arrival_at_plate(
    *,
    actor: User,
    compound_id: int,
    plate: str,
    pass_number: str = "",
    note: str = "",
    now: datetime | None = None,
) -> GateArrival:
    """A vehicle reached a compound gate, named as the volunteer sees it: by plate, and the pass number if shown.

    The day's loaded orders of the compound are then at the gate.
    """
    scope = scope_of(actor)
    if scope.role not in GATE_ROLES:
        raise PermissionDenied()
    compound = compound_get(scope=scope, compound_id=compound_id)
    vehicle = _vehicle_by_plate(plate, field="plate")
    green_pass = None
    number = pass_number.strip()
    if number:
        green_pass = GreenPass.objects.filter(number=number, vehicle=vehicle, destinations=compound).first()
        if green_pass is None:
            raise ValidationFailed(
                _("This vehicle has no pass with this number to this compound."), field="pass_number"
            )
    moment = now or timezone.now()
    with transaction.atomic():
        arrival = gate_arrival_record(
            actor=actor, vehicle=vehicle, compound=compound, green_pass=green_pass, note=note, now=moment
        )
        orders_arrive_at_gate(actor=actor, compound=compound, delivery_date=timezone.localdate(moment))
    return arrival


def vehicle_disinfection_at_plate(
    *, actor: User, plate: str, place_id: int, agent: str, now: datetime | None = None
) -> VehicleDisinfection:
    scope = scope_of(actor)
    if scope.role not in DISINFECTION_ROLES:
        raise PermissionDenied()
    place = disinfection_place_list(scope=scope).filter(pk=place_id).first()
    if place is None:
        raise ValidationFailed(_("Choose a place in your area."), field="place")
    vehicle = _vehicle_by_plate(plate, field="plate")
    return vehicle_disinfection_record(actor=actor, vehicle=vehicle, place=place, agent=agent, now=now)
