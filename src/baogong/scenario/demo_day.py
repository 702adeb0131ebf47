"""A delivery day already under way in the demo county, so every delivery page has something to show.

`baogong demo` runs this after the demo logins exist. For today's delivery
day in the demo community it publishes the demo offers, has the community
worker place proxy orders for about 40 % of the households (and always one
for the demo resident), closes the window, consolidates, has the demo
supermarket confirm its purchase orders with one planted shortage, and plans
the demo subdistrict's day. The orders go through the same services as real
ones (caps, stock, idempotency keys, audit rows), at the times they would have
been placed yesterday; every routed vehicle gets a driver and a green pass for
its route. Afterwards the volunteer login finds its compound's gate checklist
and a courier roster, the supplier its pick lists, the checkpoint officer
passes to check, the command office the plan, sheets and boards; residents
can still order for tomorrow, whose window stays open.

Running it again when today already has orders changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import Role, User
from baogong.core.errors import ApplicationError, Conflict
from baogong.core.services import audit_record
from baogong.delivery.services import driver_create, pass_issue
from baogong.orders.models import Channel, OfferLine, Order, PurchaseOrder, PurchaseOrderStatus
from baogong.orders.services import (
    LineRequest,
    Shortage,
    order_place,
    purchase_order_confirm,
    purchase_orders_consolidate,
)
from baogong.planning.day_plan import day_plan_solve
from baogong.planning.models import DayPlan, PlanRoster
from baogong.regions.models import Household, Region

from .services import demo_offers_for_day_publish

ORDERING_SHARE = 0.4
PROXY_CHANNELS = (Channel.PHONE, Channel.WECHAT, Channel.DOOR_TO_DOOR)
# (offer code, share of ordering households taking it, quantity)
BASKET = (
    ("veg_package_std", 0.8, 1),
    ("rice_5kg", 0.3, 1),
    ("milk", 0.45, 2),
    ("eggs", 0.3, 1),
    ("pork_frozen", 0.2, 1),
)
SHORT_CODE, SHORT_SHARE = "milk", 0.75
PLAN_TIME_LIMIT_S = 3.0
DRIVER_NAMES = ("张师傅", "李师傅", "王师傅", "刘师傅", "陈师傅", "杨师傅")


@dataclass(frozen=True)
class DemoDay:
    delivery_date: date
    orders: int
    sold_out: int
    purchase_orders: int
    confirmed: int
    plan_id: int
    passes: int


def _offer_code(offer: OfferLine) -> str:
    return offer.kit.code if offer.kit_id and offer.kit else offer.commodity.code if offer.commodity else ""


def demo_day_prepare(*, today: date | None = None, seed: int = 1) -> DemoDay | None:
    """Today's delivery day in the demo community (see the module docstring); None when today has orders already."""
    today = today or timezone.localdate()
    if Order.objects.filter(delivery_date=today).exists():
        return None
    users = {u.username: u for u in User.objects.filter(username__in=["command", "community", "supplier", "volunteer"])}
    resident = User.objects.filter(username="resident").first()
    if len(users) != 4 or resident is None:
        raise Conflict(_("Create the demo logins first (demo_setup)."), field="users")
    community, command, supplier = users["community"], users["command"], users["supplier"]
    assert community.region is not None
    assert community.region.parent_id is not None

    tz = timezone.get_current_timezone()
    yesterday = today - timedelta(days=1)
    demo_offers_for_day_publish(actor=command, delivery_date=today)
    offers = {
        (o.supermarket_id, _offer_code(o)): o
        for o in OfferLine.objects.filter(delivery_date=today).select_related("kit", "commodity")
    }

    rng = random.Random(f"demo-day/{seed}/{today.isoformat()}")  # noqa: S311 - reproducible demo data
    households = list(
        Household.objects.filter(unit__path__startswith=community.region.path)
        .select_related("compound__pairing__supermarket")
        .order_by("pk")
    )
    placed = sold_out = 0
    for index, household in enumerate(households):
        if household.pk != resident.household_id and rng.random() >= ORDERING_SHARE:
            continue
        pairing = getattr(household.compound, "pairing", None)
        if pairing is None:
            continue
        lines = [
            LineRequest(offer_line_id=offers[(pairing.supermarket_id, code)].pk, quantity=quantity)
            for code, share, quantity in BASKET
            if rng.random() < share and (pairing.supermarket_id, code) in offers
        ]
        if not lines:
            continue
        try:
            order_place(
                actor=community,
                household_id=household.pk,
                delivery_date=today,
                lines=lines,
                idempotency_key=f"demo-day-{today.isoformat()}-{household.pk}",
                channel=rng.choice(PROXY_CHANNELS),
                payment_method="cash",
                read_back_confirmed=True,
                now=datetime.combine(yesterday, time(8, 0), tzinfo=tz) + timedelta(seconds=20 * index),
            )
            placed += 1
        except ApplicationError:
            # Sold out or over a cap, as in a real morning: the household goes without this order.
            sold_out += 1

    after_cutoff = datetime.combine(today, time(0, 1), tzinfo=tz)
    purchase_orders = purchase_orders_consolidate(delivery_date=today, actor=command, now=after_cutoff)
    confirmed = 0
    for po in PurchaseOrder.objects.filter(
        delivery_date=today, supermarket=supplier.organisation, status=PurchaseOrderStatus.OPEN
    ).order_by("pk"):
        shortages = []
        short_line = po.lines.filter(offer_line__commodity__code=SHORT_CODE).first()
        if confirmed == 0 and short_line is not None and short_line.quantity > 1:
            # One planted shortage, shared out by the allocation rules and shown on the orders.
            shortages.append(
                Shortage(
                    offer_line_id=short_line.offer_line_id,
                    confirmed_quantity=int(short_line.quantity * SHORT_SHARE),
                    reason=_("milk delivery from the dairy was short"),
                )
            )
        purchase_order_confirm(actor=supplier, purchase_order_id=po.pk, shortages=shortages)
        confirmed += 1

    plan = day_plan_solve(
        actor=command, delivery_date=today, area=community.region.parent, time_limit_s=PLAN_TIME_LIMIT_S
    )
    _volunteer_walks_first(plan=plan, volunteer=users["volunteer"])
    passes = _passes_issue(plan=plan, actor=command, today=today, rng=rng)
    return DemoDay(
        delivery_date=today,
        orders=placed,
        sold_out=sold_out,
        purchase_orders=len(purchase_orders),
        confirmed=confirmed,
        plan_id=plan.pk,
        passes=passes,
    )


def _passes_issue(*, plan: DayPlan, actor: User, today: date, rng: random.Random) -> int:
    """A driver and a green pass for every routed vehicle, so the checkpoint login has passes to scan.

    The pass follows "one vehicle, one pass, one route": from the vehicle's
    depot to the compounds of its route, valid for the delivery day.
    """
    tz = timezone.get_current_timezone()
    issued = 0
    for route in plan.routes.select_related("vehicle__owner", "depot").order_by("pk"):
        destinations = list(
            Region.objects.filter(pk__in=route.stops.values_list("compound_id", flat=True)).order_by("pk")
        )
        vehicle = route.vehicle
        driver = driver_create(
            actor=actor,
            name=rng.choice(DRIVER_NAMES),
            phone=f"139{rng.randrange(10**8):08d}",
            licence_number=f"DEMO{vehicle.pk:06d}{today:%Y%m%d}",
            employer=vehicle.owner,
            last_negative_test_at=datetime.combine(today - timedelta(days=1), time(9, 0), tzinfo=tz),
        )
        pass_issue(
            actor=actor,
            region=plan.area,
            vehicle=vehicle,
            driver=driver,
            valid_from=datetime.combine(today, time(0, 0), tzinfo=tz),
            valid_until=datetime.combine(today, time(23, 59), tzinfo=tz),
            destinations=destinations,
            origin_stock_point=route.depot,
        )
        issued += 1
    return issued


@transaction.atomic
def _volunteer_walks_first(*, plan: DayPlan, volunteer: User) -> None:
    """Give the demo volunteer login the first walk of its compound, so the courier page can be tried.

    The planner shares walks among the compound's volunteers in account order,
    and the generated volunteers come before the demo login.
    """
    if volunteer.role != Role.VOLUNTEER or PlanRoster.objects.filter(plan=plan, volunteer=volunteer).exists():
        return
    first = PlanRoster.objects.filter(plan=plan, compound_id=volunteer.region_id).order_by("number").first()
    if first is not None:
        PlanRoster.objects.filter(pk=first.pk).update(volunteer=volunteer, unstaffed_reason="")
        audit_record(
            actor=None,
            action="plan_roster.assign",
            target_type="plan_roster",
            target_id=first.pk,
            payload={"volunteer": volunteer.pk, "was": first.volunteer_id, "reason": "demo login"},
        )
