"""A small county with consolidated orders and two vehicles, for the day-plan tests.

On top of the ordering world: compound A1 (sealed) holds 12 households more
than the two it has, all ordering a vegetable package (2 kg each); A1a also
orders 2 bags of rice, which supermarket E has none of in stock (the
deliberate shortage); A2 (controlled) and B1 order a package each. Vehicles:
V-SMALL (30 kg, at E's store in A1) and V-BIG (500 kg, at the county reserve).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.delivery.models import Vehicle, VehicleType
from baogong.orders.services import LineRequest, order_place, purchase_orders_consolidate
from baogong.orders.tests.factories import AFTER_CUTOFF, DAY, NOW, OrderingWorld, build_ordering_world, new_key
from baogong.regions.models import Household, ZoneStatusKind
from baogong.regions.services import zone_status_set
from baogong.regions.tests.factories import household

EXTRA_A1_HOUSEHOLDS = 12
COORDINATES = {"A1": (31.200, 121.400), "A2": (31.210, 121.420), "B1": (31.260, 121.480)}


@dataclass
class PlanWorld:
    ow: OrderingWorld
    vehicles: dict[str, Vehicle]
    volunteers: list[User]

    @property
    def command(self) -> User:
        return self.ow.world.users[Role.COMMAND]


def _order(ow: OrderingWorld, household_id: int, lines: list[tuple[str, int]]) -> None:
    account = user(Role.RESIDENT, household=Household.objects.get(pk=household_id))
    order_place(
        actor=account,
        household_id=household_id,
        delivery_date=DAY,
        lines=[LineRequest(offer_line_id=ow.offers[name].pk, quantity=quantity) for name, quantity in lines],
        idempotency_key=new_key(),
        now=NOW,
    )


def build_plan_world() -> PlanWorld:
    ow = build_ordering_world()
    world = ow.world
    for key, (lat, lon) in COORDINATES.items():
        world.regions[key].latitude, world.regions[key].longitude = lat, lon
        world.regions[key].save(update_fields=["latitude", "longitude"])
    for key, (lat, lon) in {"S": (31.201, 121.401), "C": (31.230, 121.450)}.items():
        world.points[key].latitude, world.points[key].longitude = lat, lon
        world.points[key].save(update_fields=["latitude", "longitude"])
    extra = [
        household(world.regions["A1-unit"], room=f"{floor}0{door}")
        for floor in range(2, 2 + EXTRA_A1_HOUSEHOLDS // 2)
        for door in (1, 2)
    ]
    _order(ow, ow.household("A1a"), [("veg", 1), ("rice", 2)])
    for key in ("A1b", "A2"):
        _order(ow, ow.household(key), [("veg", 1)])
    ow.offers["other_veg"].refresh_from_db()
    _order(ow, ow.household("B1"), [("other_veg", 1)])
    for member in extra:
        _order(ow, member.pk, [("veg", 1)])
    purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
    zone_status_set(actor=None, region=world.regions["A1"], status=ZoneStatusKind.SEALED, reason="case found")
    zone_status_set(actor=None, region=world.regions["A2"], status=ZoneStatusKind.CONTROLLED, reason="nearby case")
    volunteers = [world.users[Role.VOLUNTEER], user(Role.VOLUNTEER, region=world.regions["A1"])]
    vehicles = {
        "small": Vehicle.objects.create(
            plate="V-SMALL",
            vehicle_type=VehicleType.VAN,
            payload_kg=30,
            volume_m3=Decimal("2.0"),
            owner=ow.supermarket,
            home=world.points["S"],
        ),
        "big": Vehicle.objects.create(
            plate="V-BIG",
            vehicle_type=VehicleType.LIGHT_TRUCK,
            payload_kg=500,
            volume_m3=Decimal("10.0"),
            owner=ow.supermarket,
            home=world.points["C"],
        ),
    }
    return PlanWorld(ow=ow, vehicles=vehicles, volunteers=volunteers)
