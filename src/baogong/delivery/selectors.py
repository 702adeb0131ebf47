"""Scoped reads of the capacity pool, green passes and checkpoint checks.

A pass belongs to the area that issued it (`GreenPass.region`). A scoped
account sees the passes issued inside its subtree and those issued by the
areas above it (a county pass is valid in every subdistrict of the county),
never those of another county: those answer 404.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from baogong.accounts.models import Role
from baogong.core.errors import NotFound
from baogong.core.masking import mask_id_number, mask_phone
from baogong.core.scoping import Scope
from baogong.core.services import personal_data_access_record
from baogong.enterprises.models import Organisation, OrganisationKind
from baogong.orders.models import (
    OPEN_STATUSES,
    Order,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from baogong.orders.services.gate import IN_TRANSIT_STATUSES
from baogong.planning.models import DayPlanStatus, PlanStop
from baogong.regions.models import Region, RegionLevel
from baogong.regions.selectors import region_list

from .models import (
    Driver,
    FollowUp,
    FollowUpStatus,
    GateArrival,
    GateDiscrepancy,
    GateReceipt,
    GateReceiptLine,
    GreenPass,
    PassCheck,
    Vehicle,
    VehicleDisinfection,
)

if TYPE_CHECKING:
    from baogong.accounts.models import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
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
    """The driver as a page shows it; phone and licence number (a Chinese driving licence number is the
    holder's ID number) are unmasked, and the access recorded, only for dispatch roles that ask."""
    may_unmask = unmasked and actor is not None and scope.role in DRIVER_PHONE_ROLES
    if may_unmask and actor is not None:
        personal_data_access_record(
            actor=actor,
            subject_type="driver",
            subject_ids=[driver.pk],
            fields=["phone", "licence_number"],
            purpose="dispatch",
        )
    return DriverView(
        id=driver.pk,
        name=driver.name,
        phone=driver.phone if may_unmask else mask_phone(driver.phone),
        licence_number=driver.licence_number if may_unmask else mask_id_number(driver.licence_number),
        employer=driver.employer.name,
        itinerary_status=driver.itinerary_status,
        masked=not may_unmask,
    )


# --- gate receiving, follow-ups and the day boards ----------------------------------------------------

# Roles that receive goods at a compound gate and see its board (a volunteer only their own compound).
GATE_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER})
# Roles that see the command view of all compounds in their area.
COMMAND_VIEW_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY})
# Roles that record disinfections: the gate, and the departments running the stock points.
DISINFECTION_ROLES = GATE_ROLES | {Role.DEPARTMENT}
# Purchase orders the supermarket has confirmed, i.e. goods are coming.
COMING_PO_STATUSES = (PurchaseOrderStatus.CONFIRMED, PurchaseOrderStatus.SHORT_CONFIRMED)


def compound_list(*, scope: Scope) -> QuerySet[Region]:
    if scope.role not in GATE_ROLES:
        return Region.objects.none()
    return region_list(scope=scope).filter(level=RegionLevel.COMPOUND)


def compound_get(*, scope: Scope, compound_id: int) -> Region:
    """A compound in the caller's scope; anything else (another compound, a building) is not found."""
    compound = compound_list(scope=scope).filter(pk=compound_id).first()
    if compound is None:
        raise NotFound()
    return compound


def day_bounds(*, delivery_date: date) -> tuple[datetime, datetime]:
    """The delivery day in Beijing time, as an aware [start, end) interval."""
    start = datetime.combine(delivery_date, time(0, 0), tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class BuildingCount:
    building_id: int
    building_name: str
    quantity: int


@dataclass(frozen=True)
class ChecklistLine:
    purchase_order_line_id: int
    purchase_order_id: int
    offer_line_id: int
    supermarket: str
    goods_name: str
    expected: int
    buildings: tuple[BuildingCount, ...]


@dataclass(frozen=True)
class GateChecklist:
    compound: Region
    delivery_date: date
    lines: tuple[ChecklistLine, ...]
    # Purchase orders the supermarket has not confirmed yet: nothing of theirs is expected.
    unconfirmed: int
    receipt: GateReceipt | None


def gate_checklist_get(*, scope: Scope, compound_id: int, delivery_date: date) -> GateChecklist:
    """What the gate should receive: per purchase-order line, the units still owed to orders in transit.

    Expected quantities are summed from the orders themselves (confirmed
    quantities of orders not yet checked, failed or cancelled), so an order
    that failed after confirmation is not counted at the gate.
    """
    compound = compound_get(scope=scope, compound_id=compound_id)
    return gate_checklist_build(compound=compound, delivery_date=delivery_date)


def gate_checklist_build(*, compound: Region, delivery_date: date) -> GateChecklist:
    purchase_orders = list(
        PurchaseOrder.objects.filter(compound=compound, delivery_date=delivery_date)
        .select_related("supermarket")
        .order_by("pk")
    )
    coming = {po.pk: po for po in purchase_orders if po.status in COMING_PO_STATUSES}
    po_lines = {
        (line.purchase_order_id, line.offer_line_id): line
        for line in PurchaseOrderLine.objects.filter(purchase_order_id__in=list(coming))
        .select_related("offer_line__kit", "offer_line__commodity")
        .order_by("purchase_order_id", "offer_line_id")
    }
    rows = (
        OrderLine.objects.filter(order__purchase_order_id__in=list(coming), order__status__in=IN_TRANSIT_STATUSES)
        .values("order__purchase_order_id", "offer_line_id", "order__building_id", "order__building__name")
        .annotate(units=Sum(Coalesce("confirmed_quantity", "quantity")))
        .order_by("order__purchase_order_id", "offer_line_id", "order__building__path")
    )
    buildings: dict[tuple[int, int], list[BuildingCount]] = defaultdict(list)
    for row in rows:
        if row["units"]:
            buildings[(row["order__purchase_order_id"], row["offer_line_id"])].append(
                BuildingCount(row["order__building_id"], row["order__building__name"], row["units"])
            )
    lines = tuple(
        ChecklistLine(
            purchase_order_line_id=po_line.pk,
            purchase_order_id=po_line.purchase_order_id,
            offer_line_id=po_line.offer_line_id,
            supermarket=coming[po_line.purchase_order_id].supermarket.name,
            goods_name=po_line.offer_line.goods_name,
            expected=sum(b.quantity for b in buildings[key]),
            buildings=tuple(buildings[key]),
        )
        for key, po_line in po_lines.items()
        if buildings.get(key)
    )
    receipt = GateReceipt.objects.filter(compound=compound, delivery_date=delivery_date).first()
    return GateChecklist(
        compound=compound,
        delivery_date=delivery_date,
        lines=lines,
        unconfirmed=len(purchase_orders) - len(coming),
        receipt=receipt,
    )


def gate_receipt_lines(*, receipt: GateReceipt) -> list[GateReceiptLine]:
    return list(
        receipt.lines.select_related(
            "purchase_order_line__offer_line__kit", "purchase_order_line__offer_line__commodity"
        ).prefetch_related("discrepancies")
    )


def follow_up_list(*, scope: Scope, status: str | None = None) -> QuerySet[FollowUp]:
    """Follow-ups of compounds in scope (a volunteer: their compound's), newest first."""
    if scope.role not in COMMAND_VIEW_ROLES | {Role.VOLUNTEER} or scope.region_path is None:
        return FollowUp.objects.none()
    queryset = FollowUp.objects.filter(compound__path__startswith=scope.region_path)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.select_related("compound", "supermarket", "raised_by", "discrepancy__line__receipt").order_by(
        "-raised_at", "-pk"
    )


def discrepancy_get(*, scope: Scope, discrepancy_id: int) -> GateDiscrepancy:
    if scope.role not in GATE_ROLES or scope.region_path is None:
        raise NotFound()
    discrepancy = (
        GateDiscrepancy.objects.filter(pk=discrepancy_id, line__receipt__compound__path__startswith=scope.region_path)
        .exclude(photo="")
        .first()
    )
    if discrepancy is None:
        raise NotFound()
    return discrepancy


def gate_arrival_list(*, scope: Scope, delivery_date: date | None = None) -> QuerySet[GateArrival]:
    if scope.role not in GATE_ROLES or scope.region_path is None:
        return GateArrival.objects.none()
    queryset = GateArrival.objects.filter(compound__path__startswith=scope.region_path)
    if delivery_date is not None:
        start, end = day_bounds(delivery_date=delivery_date)
        queryset = queryset.filter(arrived_at__gte=start, arrived_at__lt=end)
    return queryset.select_related("vehicle", "compound", "green_pass").order_by("-arrived_at", "-pk")


def disinfection_list(*, scope: Scope) -> QuerySet[VehicleDisinfection]:
    if scope.role not in DISINFECTION_ROLES or scope.region_path is None:
        return VehicleDisinfection.objects.none()
    return (
        VehicleDisinfection.objects.filter(place__path__startswith=scope.region_path)
        .select_related("vehicle", "place")
        .order_by("-disinfected_at", "-pk")
    )


def disinfection_place_list(*, scope: Scope) -> QuerySet[Region]:
    if scope.role not in DISINFECTION_ROLES:
        return Region.objects.none()
    return region_list(scope=scope).order_by("path")


@dataclass(frozen=True)
class ExpectedVehicle:
    vehicle_id: int
    plate: str
    eta: datetime | None
    arrived_at: datetime | None
    overdue_minutes: int


@dataclass(frozen=True)
class CompoundDay:
    """One compound's delivery day as the board shows it. Ages are in whole minutes."""

    compound_id: int
    compound_name: str
    compound_path: str
    vehicles: tuple[ExpectedVehicle, ...]
    arrivals: int
    verified_at: datetime | None
    placed_at: str
    follow_ups_open: int
    delivered: int
    pending: int
    failed: int
    short: int
    oldest_pending_minutes: int | None
    late_reasons: tuple[str, ...]

    @property
    def is_late(self) -> bool:
        return bool(self.late_reasons)

    @property
    def vehicles_arrived(self) -> int:
        return sum(1 for vehicle in self.vehicles if vehicle.arrived_at is not None)


LATE_VEHICLE = "vehicle_overdue"
LATE_PENDING = "households_waiting"
PENDING_STATUSES = tuple(OPEN_STATUSES)


def _expected_vehicles(
    compound_ids: list[int], delivery_date: date
) -> dict[int, list[tuple[int, str, datetime | None]]]:
    """Per compound, the vehicles the newest finished plan of the day sends there, with their ETA."""
    stops = (
        PlanStop.objects.filter(
            compound_id__in=compound_ids,
            plan__delivery_date=delivery_date,
            plan__status=DayPlanStatus.DONE,
            route__isnull=False,
        )
        .select_related("route__vehicle")
        .order_by("compound_id", "-plan_id", "trip", "sequence")
    )
    found: dict[int, list[tuple[int, str, datetime | None]]] = defaultdict(list)
    newest_plan: dict[int, int] = {}
    for stop in stops:
        # Later plans of the same day replace earlier ones; only the newest counts.
        if newest_plan.setdefault(stop.compound_id, stop.plan_id) != stop.plan_id or stop.route is None:
            continue
        eta = datetime.combine(delivery_date, stop.arrival, tzinfo=SHANGHAI) if stop.arrival else None
        found[stop.compound_id].append((stop.route.vehicle_id, stop.route.vehicle.plate, eta))
    return found


def compound_days(*, compounds: list[Region], delivery_date: date, now: datetime) -> list[CompoundDay]:
    """Board figures of several compounds for one day, in a fixed number of queries whatever their count.

    Late means: an expected vehicle is more than BOARD_ARRIVAL_LATE_MINUTES past
    its ETA with no arrival of it at the gate, or a household has waited more
    than BOARD_PENDING_LATE_HOURS since it placed its order and is still pending.
    """
    ids = [compound.pk for compound in compounds]
    start, end = day_bounds(delivery_date=delivery_date)
    first_arrival: dict[tuple[int, int], datetime] = {}
    arrival_count: dict[int, int] = defaultdict(int)
    for compound_id, vehicle_id, arrived_at in (
        GateArrival.objects.filter(compound_id__in=ids, arrived_at__gte=start, arrived_at__lt=end)
        .order_by("arrived_at", "pk")
        .values_list("compound_id", "vehicle_id", "arrived_at")
    ):
        first_arrival.setdefault((compound_id, vehicle_id), arrived_at)
        arrival_count[compound_id] += 1
    receipts = {
        receipt.compound_id: receipt
        for receipt in GateReceipt.objects.filter(compound_id__in=ids, delivery_date=delivery_date)
    }
    open_follow_ups = dict(
        FollowUp.objects.filter(compound_id__in=ids, delivery_date=delivery_date, status=FollowUpStatus.OPEN)
        .values_list("compound_id")
        .annotate(n=Count("pk"))
        .values_list("compound_id", "n")
    )
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    oldest: dict[int, datetime] = {}
    for row in (
        Order.objects.filter(compound_id__in=ids, delivery_date=delivery_date)
        .exclude(status=OrderStatus.CANCELLED)
        .values("compound_id", "status")
        .annotate(n=Count("household_id", distinct=True), first=Min("created_at"))
        .order_by()
    ):
        counts[row["compound_id"]][row["status"]] += row["n"]
        if row["status"] in PENDING_STATUSES:
            current = oldest.get(row["compound_id"])
            oldest[row["compound_id"]] = row["first"] if current is None else min(current, row["first"])
    expected = _expected_vehicles(ids, delivery_date)
    arrival_grace = timedelta(minutes=settings.BOARD_ARRIVAL_LATE_MINUTES)
    pending_limit = timedelta(hours=settings.BOARD_PENDING_LATE_HOURS)
    days = []
    for compound in compounds:
        vehicles = []
        for vehicle_id, plate, eta in expected.get(compound.pk, []):
            arrived = first_arrival.get((compound.pk, vehicle_id))
            overdue = 0
            if arrived is None and eta is not None and now > eta + arrival_grace:
                overdue = int((now - eta).total_seconds() // 60)
            vehicles.append(ExpectedVehicle(vehicle_id, plate, eta, arrived, overdue))
        status_counts = counts[compound.pk]
        pending = sum(status_counts[status] for status in PENDING_STATUSES)
        first_pending = oldest.get(compound.pk)
        age = int((now - first_pending).total_seconds() // 60) if pending and first_pending else None
        reasons = []
        if any(vehicle.overdue_minutes for vehicle in vehicles):
            reasons.append(LATE_VEHICLE)
        if first_pending is not None and pending and now - first_pending > pending_limit:
            reasons.append(LATE_PENDING)
        receipt = receipts.get(compound.pk)
        days.append(
            CompoundDay(
                compound_id=compound.pk,
                compound_name=compound.name,
                compound_path=compound.path,
                vehicles=tuple(vehicles),
                arrivals=arrival_count[compound.pk],
                verified_at=receipt.received_at if receipt else None,
                placed_at=receipt.placed_at if receipt else "",
                follow_ups_open=open_follow_ups.get(compound.pk, 0),
                delivered=status_counts[OrderStatus.DELIVERED],
                pending=pending,
                failed=status_counts[OrderStatus.FAILED],
                short=status_counts[OrderStatus.SHORT],
                oldest_pending_minutes=age,
                late_reasons=tuple(reasons),
            )
        )
    return days


def compound_board_get(*, scope: Scope, compound_id: int, delivery_date: date, now: datetime) -> CompoundDay:
    compound = compound_get(scope=scope, compound_id=compound_id)
    return compound_days(compounds=[compound], delivery_date=delivery_date, now=now)[0]


def _late_order(day: CompoundDay) -> tuple[bool, int, str]:
    most_overdue = max((vehicle.overdue_minutes for vehicle in day.vehicles), default=0)
    return (not day.is_late, -max(most_overdue, day.oldest_pending_minutes or 0), day.compound_path)


def command_view_get(*, scope: Scope, delivery_date: date, now: datetime) -> list[CompoundDay]:
    """Every compound in scope with orders or a planned stop that day; late ones first, the longest overdue on top."""
    if scope.role not in COMMAND_VIEW_ROLES:
        raise NotFound()
    in_scope = compound_list(scope=scope)
    active = set(
        Order.objects.filter(compound__in=in_scope, delivery_date=delivery_date).values_list("compound_id", flat=True)
    ) | set(
        PlanStop.objects.filter(
            compound__in=in_scope, plan__delivery_date=delivery_date, plan__status=DayPlanStatus.DONE
        ).values_list("compound_id", flat=True)
    )
    compounds = list(in_scope.filter(pk__in=active).order_by("path"))
    return sorted(compound_days(compounds=compounds, delivery_date=delivery_date, now=now), key=_late_order)
