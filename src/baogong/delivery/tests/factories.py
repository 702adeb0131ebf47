"""Test data for the capacity pool and green passes (passes go through the real `pass_issue`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from baogong.delivery.models import Driver, GreenPass, ItineraryStatus, Vehicle, VehicleType
from baogong.delivery.services import pass_issue
from baogong.enterprises.models import EnterpriseType, Organisation, OrganisationKind
from baogong.regions.models import Region
from baogong.stock.models import StockPoint

_n = count(1)


def organisation(region: Region, **overrides: object) -> Organisation:
    n = next(_n)
    fields: dict[str, object] = {
        "kind": OrganisationKind.ENTERPRISE,
        "enterprise_type": EnterpriseType.LOGISTICS,
        "code": f"LOG{n:04d}",
        "name": f"Logistics {n}",
        "region": region,
    }
    fields.update(overrides)
    return Organisation.objects.create(**fields)


def vehicle(owner: Organisation, **overrides: object) -> Vehicle:
    n = next(_n)
    fields: dict[str, object] = {
        "plate": f"浙A{n:05d}",
        "vehicle_type": VehicleType.VAN,
        "payload_kg": 1500,
        "volume_m3": Decimal("8.00"),
        "owner": owner,
    }
    fields.update(overrides)
    return Vehicle.objects.create(**fields)


def driver(employer: Organisation, *, now: datetime | None = None, **overrides: object) -> Driver:
    n = next(_n)
    moment = now or timezone.now()
    fields: dict[str, object] = {
        "name": "李师傅",
        "phone": "13912345678",
        "licence_number": f"330100{n:012d}",
        "employer": employer,
        "itinerary_status": ItineraryStatus.GREEN,
        "itinerary_updated_at": moment,
        "last_negative_test_at": moment - timedelta(hours=20),
    }
    fields.update(overrides)
    return Driver.objects.create(**fields)


def green_pass(
    *,
    region: Region,
    vehicle: Vehicle,
    driver: Driver,
    destinations: list[Region],
    origin: StockPoint,
    valid_from: datetime | None = None,
    hours: int = 12,
) -> GreenPass:
    start = valid_from or timezone.now() - timedelta(hours=1)
    return pass_issue(
        actor=None,
        region=region,
        vehicle=vehicle,
        driver=driver,
        valid_from=start,
        valid_until=start + timedelta(hours=hours),
        destinations=destinations,
        origin_stock_point=origin,
    )
