"""Prepare the crash test's database: migrate, then one open offer and many signed-in residents.

Run as a script in a fresh process (the crash test's own process is bound to
the pytest database): the environment says which database and settings to use.
Prints the fixtures as one JSON object on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOUSEHOLDS_PER_COMPOUND = 250


def main() -> None:
    households, lines = int(sys.argv[1]), int(sys.argv[2])
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from datetime import time as clock
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    from baogong.accounts.models import Role, Session, User
    from baogong.accounts.tests.factories import signed_in_session
    from baogong.catalog.models import Commodity
    from baogong.enterprises.models import CompoundPairing, EnterpriseType, Organisation, OrganisationKind
    from baogong.orders.models import OfferKind, OfferLine, OrderWindow
    from baogong.regions.models import Household, RegionLevel
    from baogong.regions.services import region_create

    call_command("migrate", interactive=False, verbosity=0)
    tomorrow = timezone.localdate() + timedelta(days=1)
    county = region_create(actor=None, parent=None, level=RegionLevel.COUNTY, code="K9", name="Crash county")
    subdistrict = region_create(actor=None, parent=county, level=RegionLevel.SUBDISTRICT, code="K9-S", name="S")
    community = region_create(actor=None, parent=subdistrict, level=RegionLevel.COMMUNITY, code="K9-C", name="C")
    # Open all of today for tomorrow's delivery, whatever time the test runs.
    OrderWindow.objects.create(
        region=county, opens_days_before=1, opens_at=clock(0, 0), closes_days_before=0, closes_at=clock(0, 0)
    )
    market = Organisation.objects.create(
        kind=OrganisationKind.ENTERPRISE,
        enterprise_type=EnterpriseType.SUPERMARKET,
        code="K9-MART",
        name="Crash mart",
        region=county,
    )
    # One unit of each line per household: no order fails for want of stock, and a household can
    # place one order per line, so `lines` times as many orders as households.
    offers = [
        OfferLine.objects.create(
            supermarket=market,
            delivery_date=tomorrow,
            kind=OfferKind.ITEM,
            commodity=Commodity.objects.create(
                code=f"K9-FLOUR-{number}",
                name_zh=f"面粉 {number}",
                name_en=f"Flour {number}",
                category="flour",
                unit="bag",
                weight_kg=Decimal("5"),
                volume_l=Decimal("6"),
            ),
            price=Decimal("20.00"),
            quantity=households,
            household_cap=1,
        )
        for number in range(lines)
    ]
    accounts: list[User] = []
    for start in range(0, households, HOUSEHOLDS_PER_COMPOUND):
        number = start // HOUSEHOLDS_PER_COMPOUND
        compound = region_create(
            actor=None, parent=community, level=RegionLevel.COMPOUND, code=f"K9-{number}", name=f"小区 {number}"
        )
        building = region_create(
            actor=None, parent=compound, level=RegionLevel.BUILDING, code=f"K9-{number}-B", name="1号楼"
        )
        unit = region_create(actor=None, parent=building, level=RegionLevel.UNIT, code=f"K9-{number}-U", name="1单元")
        CompoundPairing.objects.create(compound=compound, supermarket=market)
        batch = Household.objects.bulk_create(
            Household(
                unit=unit,
                compound=compound,
                room=str(1000 + i),
                head_name="住户",
                size=2,
                phone=f"138{number:04d}{i:04d}",
            )
            for i in range(min(HOUSEHOLDS_PER_COMPOUND, households - start))
        )
        # Residents sign in through the sessions below, never with a password.
        accounts += User.objects.bulk_create(
            User(username=f"K9-{h.pk}", role=Role.RESIDENT, household=h, password="!") for h in batch
        )
    expiry = timezone.now() + timedelta(hours=2)
    sessions = [signed_in_session(account, expires_at=expiry) for account in accounts]
    Session.objects.bulk_create(sessions, batch_size=1000)
    json.dump(
        {
            "delivery_date": tomorrow.isoformat(),
            "offer_line_ids": [offer.pk for offer in offers],
            "sessions": [session.session_key for session in sessions],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
