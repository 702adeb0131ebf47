"""R17 retention-purge: `purge-personal-data --emergency E` anonymises an ended emergency and keeps the counts.

Twenty canary households with their own names, phone and ID numbers, notes,
vulnerability tags, resident accounts and orders are planted in emergency C.
The purge is refused while C is still sealed and without the confirmation
flag, changing nothing; once C has ended it leaves no personal value in any
row of C, not one canary byte in the SQLite file or its write-ahead log, the
same counts per compound and day as before, another emergency untouched, and
one audit row. The append-only tables never held the values to begin with.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Sum
from django.utils import translation

from baogong.accounts.models import Role, User
from baogong.core.append_only import APPEND_ONLY_TABLES
from baogong.core.models import AuditLog
from baogong.orders.models import Channel, IdempotencyKey, Order, OrderEvent, OrderStatus, PaymentMethod
from baogong.orders.services import LineRequest, order_place
from baogong.orders.tests.factories import DAY, NOW, build_ordering_world
from baogong.orders.tests.test_concurrency import concurrent_database  # noqa: F401 - the file-backed database
from baogong.regions.models import Household, RegionLevel, ZoneStatus, ZoneStatusKind
from baogong.regions.purge import emergency_is_active, personal_data_purged
from baogong.regions.services import household_create, zone_status_set
from baogong.regions.tests.factories import household, make_tree, region

pytestmark = pytest.mark.django_db(transaction=True)

CANARIES = 20


@pytest.fixture(autouse=True)
def _english():
    # The assertions read the command's English messages.
    with translation.override("en"):
        yield


def canary(i: int) -> dict[str, str]:
    # Digits and names no other fixture uses, so a byte hit can only come from a canary.
    return {
        "head_name": f"甄十{chr(0x4E00 + 77 * i + 5)}",
        "phone": f"1770707{i:04d}",
        "id_number": f"53010119770707{i:04d}",
        "notes": f"独居老人 联系女儿 1880808{i:04d}",
    }


def secrets() -> list[bytes]:
    values = []
    for i in range(CANARIES):
        person = canary(i)
        values += [person["phone"], person["id_number"], person["head_name"], f"1880808{i:04d}"]
    return [value.encode() for value in values]


def raw_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def hits(data: bytes) -> int:
    return sum(secret in data for secret in secrets())


def statistics() -> dict[str, Any]:
    return {
        "households": sorted(Counter(Household.objects.values_list("compound_id", flat=True)).items()),
        "people": Household.objects.aggregate(Sum("size"))["size__sum"],
        "orders": sorted(
            Order.objects.values_list("household__compound_id", "delivery_date", "status")
            .annotate(n=Count("pk"), total=Sum("total"))
            .values_list("household__compound_id", "delivery_date", "status", "n", "total")
        ),
        "delivered": Order.objects.filter(status=OrderStatus.DELIVERED).count(),
        "accounts": sorted(Counter(User.objects.values_list("role", flat=True)).items()),
    }


def append_only_text() -> str:
    with connection.cursor() as cursor:
        chunks = []
        for table in APPEND_ONLY_TABLES:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            chunks += [repr(row) for row in cursor.fetchall()]
    return "\n".join(chunks)


@pytest.fixture
def emergency(concurrent_database, monkeypatch):  # noqa: F811 - the fixture imported above
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    ow = build_ordering_world()
    unit = ow.world.regions["A1-unit"]
    canaries = []
    for i in range(CANARIES):
        person = canary(i)
        planted = household_create(
            actor=None,
            unit=unit,
            room=f"9{i:02d}",
            size=2,
            vulnerability_tags=["chronic_patient", "elderly_alone"],
            **person,
        )
        canaries.append(planted)
        account = User.objects.create(
            username=person["phone"],
            first_name=person["head_name"],
            phone=person["phone"],
            email=f"{person['phone']}@example.cn",
            role=Role.RESIDENT,
            household=planted,
        )
        account.set_password("canary-password-1")
        account.save()
        order_place(
            actor=account,
            household_id=planted.pk,
            delivery_date=DAY,
            lines=[LineRequest(offer_line_id=ow.offers["rice"].pk, quantity=1)],
            idempotency_key=str(uuid.uuid4()),
            now=NOW,
        )
    # A proxy order whose read-back note repeats what was said on the phone.
    order_place(
        actor=ow.community,
        household_id=ow.household("A1b"),
        delivery_date=DAY,
        lines=[LineRequest(offer_line_id=ow.offers["veg"].pk, quantity=1)],
        idempotency_key=str(uuid.uuid4()),
        channel=Channel.PHONE,
        payment_method=PaymentMethod.CASH,
        read_back_confirmed=True,
        read_back_note=f"读回 {canary(0)['head_name']} {canary(0)['phone']}",
        now=NOW,
    )
    OrderEvent.objects.filter(order__household=canaries[1]).update(note=f"敲门无人 {canary(1)['phone']}")
    county = ow.world.regions["C"]
    zone_status_set(
        actor=None,
        region=ow.world.regions["A1"],
        status=ZoneStatusKind.SEALED,
        # Staff write whatever they know into the reason; it must reach neither the audit log nor survive.
        reason=f"疑似病例 {canary(2)['head_name']} {canary(2)['phone']}",
        starts_at=NOW - timedelta(days=3),
        ends_at=NOW + timedelta(days=4),
    )
    # Another emergency, elsewhere: the purge of C must not reach it.
    other = make_tree(region(None, RegionLevel.COUNTY, "另一县"))
    bystander = household(other.unit, head_name="旁观者", phone="13511112222", id_number="110101199001011111")
    return ow, county, canaries, bystander


def end(ow, county) -> None:
    zone_status_set(
        actor=None,
        region=ow.world.regions["A1"],
        status=ZoneStatusKind.NORMAL,
        reason="解封",
        starts_at=NOW - timedelta(hours=1),
    )
    assert not emergency_is_active(root=county, at=NOW)


def test_refused_while_active_or_unconfirmed_and_nothing_changes(emergency):
    ow, county, _canaries, _bystander = emergency
    before = (statistics(), sorted(Household.objects.values_list("pk", "head_name", "phone", "id_number", "room")))
    audits = AuditLog.objects.count()

    assert emergency_is_active(root=county, at=NOW)
    with pytest.raises(CommandError, match="still in force"):
        call_command("purge_personal_data", emergency=county.code, confirm=True)
    end(ow, county)
    with pytest.raises(CommandError, match="confirm"):
        call_command("purge_personal_data", emergency=county.code)
    with pytest.raises(CommandError, match="NO-SUCH"):
        call_command("purge_personal_data", emergency="NO-SUCH", confirm=True)
    # A region that is not a root is no emergency either.
    with pytest.raises(CommandError):
        call_command("purge_personal_data", emergency=ow.world.regions["A"].code, confirm=True)

    after = (statistics(), sorted(Household.objects.values_list("pk", "head_name", "phone", "id_number", "room")))
    assert after == before
    # Only the ending zone status was recorded; no purge row.
    assert AuditLog.objects.count() == audits + 1
    assert not AuditLog.objects.filter(action="personal_data.purge").exists()


def test_purge_anonymises_keeps_counts_and_leaves_no_bytes(emergency, record_property, capsys):
    ow, county, _canaries, bystander = emergency
    end(ow, county)
    sqlite_path = Path(connection.settings_dict["NAME"]) if connection.vendor == "sqlite" else None
    before = statistics()
    assert before["orders"]
    assert before["households"]
    # The append-only tables hold identifiers only, before and after.
    assert hits(append_only_text().encode()) == 0
    if sqlite_path is not None:
        assert hits(raw_bytes(sqlite_path)) == len(secrets())

    call_command("purge_personal_data", emergency=county.code, confirm=True)

    assert statistics() == before
    assert personal_data_purged(root=county)
    purged = Household.objects.filter(compound__path__startswith=county.path)
    assert set(purged.values_list("head_name", "phone", "id_number", "notes", "vulnerability_mask")) == {
        ("", "", "", "", 0)
    }
    assert sorted(purged.values_list("room", flat=True)) == sorted(
        f"#{pk}" for pk in purged.values_list("pk", flat=True)
    )
    residents = User.objects.filter(household__compound__path__startswith=county.path)
    assert residents.count() == CANARIES + 1
    assert set(residents.values_list("first_name", "last_name", "email", "phone", "is_active")) == {
        ("", "", "", "", False)
    }
    assert all(name == f"purged-{pk}" for pk, name in residents.values_list("pk", "username"))
    assert not any(account.has_usable_password() for account in residents)
    assert set(Order.objects.values_list("read_back_note", "reason")) == {("", "")}
    assert set(OrderEvent.objects.values_list("note", flat=True)) == {""}
    assert IdempotencyKey.objects.filter(order__household__compound__path__startswith=county.path).count() == 0
    # The other emergency keeps everything.
    bystander.refresh_from_db()
    assert (bystander.head_name, bystander.phone, bystander.id_number) == (
        "旁观者",
        "13511112222",
        "110101199001011111",
    )
    audit = AuditLog.objects.get(action="personal_data.purge")
    assert (audit.target_type, audit.target_id, audit.actor_id) == ("region", str(county.pk), None)
    assert audit.payload["households"] == purged.count()
    assert audit.payload["accounts"] == CANARIES + 1
    assert hits(append_only_text().encode()) == 0
    assert capsys.readouterr().out.startswith(f"Purged emergency {county.code}: {purged.count()} households, ")
    if sqlite_path is not None:
        data = raw_bytes(sqlite_path)
        assert Path(f"{sqlite_path}-wal").stat().st_size == 0
        assert hits(data) == 0
        record_property(
            "figure",
            f"SQLite: {len(secrets())} canary values found in db+wal before, 0 after; "
            f"{CANARIES} canaries + {purged.count() - CANARIES} others anonymised; statistics unchanged",
        )
    else:
        record_property(
            "figure",
            f"PostgreSQL: {purged.count()} households, {CANARIES + 1} accounts anonymised; statistics unchanged; "
            "VACUUM FULL run (file bytes not scanned)",
        )
    zones = ZoneStatus.objects.filter(region__path__startswith=county.path)
    assert sorted(zones.values_list("status", "reason")) == [(ZoneStatusKind.NORMAL, ""), (ZoneStatusKind.SEALED, "")]
    assert audit.payload["zone_reasons"] == 2


def test_without_the_scrub_the_old_values_stay_in_the_file(emergency, record_property):
    """Negative control: anonymising rows alone leaves the bytes behind, which is why the command scrubs."""
    from baogong.regions.purge import personal_data_purge

    ow, county, _canaries, _bystander = emergency
    if connection.vendor != "sqlite":
        pytest.skip("byte-level scan of the database files is SQLite-only")
    end(ow, county)
    personal_data_purge(actor=None, emergency=county.code, confirm=True)

    left = hits(raw_bytes(Path(connection.settings_dict["NAME"])))
    record_property("figure", f"negative control (no secure_delete/VACUUM/checkpoint): {left} canary values left")
    assert left > 0
