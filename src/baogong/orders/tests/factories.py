"""An ordering world on top of the two-community test world.

Compounds A1 and A2 are paired with supermarket E, B1 with supermarket F.
E offers, for delivery day DAY: a vegetable package (30 a day), a second
vegetable package, a relief kit and rice (item, cap 2 per household). The
clock of every test is NOW: 06:00:05 on the day before DAY (Asia/Shanghai),
five seconds into the default window.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.catalog.models import Commodity, Kit, KitKind, KitLine
from baogong.catalog.tests.factories import commodity
from baogong.core.tests.world import World, build_world
from baogong.enterprises.models import CompoundPairing, EnterpriseType, Organisation, OrganisationKind
from baogong.orders.models import OfferKind, OfferLine

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2030, 4, 12)
NOW = datetime(2030, 4, 11, 6, 0, 5, tzinfo=SHANGHAI)
BEFORE_OPENING = datetime(2030, 4, 11, 5, 59, 59, tzinfo=SHANGHAI)
AFTER_CUTOFF = datetime(2030, 4, 11, 16, 0, 0, tzinfo=SHANGHAI)


@dataclass
class OrderingWorld:
    world: World
    supermarket: Organisation
    other_supermarket: Organisation
    offers: dict[str, OfferLine]
    kits: dict[str, Kit]
    rice: Commodity
    resident: User
    community: User
    supplier: User
    other_supplier: User

    def household(self, key: str) -> int:
        return self.world.households[key].pk


def kit(kind: str, code: str, *, goods: Commodity, quantity: int = 2) -> Kit:
    made = Kit.objects.create(code=code, kind=kind, name_zh=f"套餐{code}", name_en=f"Package {code}")
    KitLine.objects.create(kit=made, commodity=goods, quantity=quantity)
    return made


def offer(
    supermarket: Organisation,
    *,
    kit: Kit | None = None,
    goods: Commodity | None = None,
    quantity: int = 30,
    price: str = "50.00",
    cap: int = 1,
    day: date = DAY,
) -> OfferLine:
    return OfferLine.objects.create(
        supermarket=supermarket,
        delivery_date=day,
        kind=OfferKind.PACKAGE if kit is not None else OfferKind.ITEM,
        kit=kit,
        commodity=goods,
        price=Decimal(price),
        quantity=quantity,
        household_cap=cap,
    )


def supermarket(world: World, code: str) -> Organisation:
    return Organisation.objects.create(
        kind=OrganisationKind.ENTERPRISE,
        enterprise_type=EnterpriseType.SUPERMARKET,
        code=code,
        name=f"{code} 超市",
        region=world.regions["C"],
    )


def build_ordering_world() -> OrderingWorld:
    world = build_world()
    market = world.organisations["E"]
    other = supermarket(world, "F-MART")
    CompoundPairing.objects.create(compound=world.regions["A1"], supermarket=market, backup=other)
    CompoundPairing.objects.create(compound=world.regions["A2"], supermarket=market)
    CompoundPairing.objects.create(compound=world.regions["B1"], supermarket=other, backup=market)
    cabbage = commodity(
        code="CABBAGE",
        name_zh="大白菜",
        name_en="Chinese cabbage",
        category="leafy_vegetables",
        unit="kg",
        weight_kg=Decimal("1"),
    )
    rice = commodity(code="RICE10", name_zh="大米", name_en="Rice")
    kits = {
        "veg": kit(KitKind.VEGETABLE_PACKAGE, "VEG-A", goods=cabbage),
        "veg2": kit(KitKind.VEGETABLE_PACKAGE, "VEG-B", goods=cabbage, quantity=3),
        "relief": kit(KitKind.RELIEF_KIT, "RELIEF", goods=rice, quantity=1),
    }
    offers = {
        "veg": offer(market, kit=kits["veg"], quantity=30, price="38.00"),
        "veg2": offer(market, kit=kits["veg2"], quantity=30, price="45.00"),
        "relief": offer(market, kit=kits["relief"], quantity=10, price="60.00"),
        "rice": offer(market, goods=rice, quantity=20, price="55.50", cap=2),
        "other_veg": offer(other, kit=kits["veg"], quantity=30, price="40.00"),
    }
    return OrderingWorld(
        world=world,
        supermarket=market,
        other_supermarket=other,
        offers=offers,
        kits=kits,
        rice=rice,
        resident=world.users[Role.RESIDENT],
        community=world.users[Role.COMMUNITY],
        supplier=world.users[Role.SUPPLIER],
        other_supplier=user(Role.SUPPLIER, organisation=other),
    )


def new_key() -> str:
    return str(uuid.uuid4())
