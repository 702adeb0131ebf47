"""Green passes: issuance, revocation and every checkpoint verdict, each for the right reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.core import signing
from django.utils import timezone

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.core.errors import Conflict, PermissionDenied, ValidationFailed
from baogong.core.models import AuditLog
from baogong.delivery.models import (
    CheckResult,
    Driver,
    GreenPass,
    GreenPassCounter,
    GreenPassStatus,
    ItineraryStatus,
    PassCheck,
    Vehicle,
)
from baogong.delivery.qr import SALT, green_pass_payload_sign
from baogong.delivery.services import (
    driver_health_update,
    gate_arrival_record,
    pass_check,
    pass_issue,
    pass_revoke,
    vehicle_disinfection_record,
)
from baogong.delivery.tests import factories
from baogong.regions.models import Region, RegionLevel
from baogong.regions.services import region_create
from baogong.regions.tests.factories import Tree, make_tree, region
from baogong.stock.models import StockPoint
from baogong.stock.tests.factories import stock_point

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 10, 9, 0, tzinfo=timezone.get_fixed_timezone(8 * 60))


@dataclass
class World:
    tree: Tree
    other_compound: Region
    depot: StockPoint
    vehicle: Vehicle
    driver: Driver
    officer: User
    commander: User


@pytest.fixture
def w() -> World:
    county = region_create(actor=None, parent=None, level=RegionLevel.COUNTY, code="330102", name="上城区")
    tree = make_tree(county)
    other_compound = region(tree.community, RegionLevel.COMPOUND)
    owner = factories.organisation(county)
    return World(
        tree=tree,
        other_compound=other_compound,
        depot=stock_point(county),
        vehicle=factories.vehicle(owner, plate="浙A12345"),
        driver=factories.driver(owner, now=NOW),
        officer=user(Role.CHECKPOINT, region=county),
        commander=user(Role.COMMAND, region=county),
    )


def issue(
    w: World, *, valid_from: datetime | None = None, hours: int = 12, vehicle: Vehicle | None = None
) -> GreenPass:
    start = valid_from or NOW - timedelta(hours=1)
    return pass_issue(
        actor=w.commander,
        region=w.tree.county,
        vehicle=vehicle or w.vehicle,
        driver=w.driver,
        valid_from=start,
        valid_until=start + timedelta(hours=hours),
        destinations=[w.tree.compound],
        origin_stock_point=w.depot,
    )


def check(w: World, presented: str, *, plate: str = "浙A12345", destination: Region | None = None, **kw) -> PassCheck:
    return pass_check(
        officer=w.officer,
        payload_or_number=presented,
        plate_seen=plate,
        checkpoint_region=w.tree.subdistrict,
        route_destination=destination,
        now=kw.get("now", NOW),
    )


# --- issuance ---------------------------------------------------------------------------------------


def test_issue_numbers_are_area_code_plus_serial_and_audited(w):
    first = issue(w)
    second = issue(w, valid_from=NOW + timedelta(days=1))

    assert (first.number, first.area_code, first.serial) == ("330102000001", "330102", 1)
    assert second.number == "330102000002"
    assert GreenPassCounter.objects.get(area_code="330102").last_serial == 2
    assert [d.pk for d in first.destinations.all()] == [w.tree.compound.pk]
    audit = AuditLog.objects.filter(action="green_pass.issue").order_by("pk").first()
    assert audit is not None
    assert (audit.actor_id, audit.target_id, audit.payload["number"]) == (w.commander.pk, str(first.pk), first.number)


def test_one_vehicle_one_active_pass_at_a_time(w):
    first = issue(w)

    with pytest.raises(Conflict) as overlap:
        issue(w, valid_from=NOW + timedelta(hours=5))

    assert overlap.value.field == "vehicle"
    assert overlap.value.data == {"pass": first.number}
    assert GreenPass.objects.count() == 1
    assert GreenPassCounter.objects.get(area_code="330102").last_serial == 1
    # Back to back is no overlap; after revocation the vehicle may get a new pass for the same time.
    issue(w, valid_from=NOW + timedelta(hours=11))
    pass_revoke(actor=w.commander, green_pass=first, reason="route changed")
    replacement = issue(w, valid_from=NOW - timedelta(hours=1), hours=2)
    assert replacement.number == "330102000003"


def test_issue_refuses_bad_input_and_changes_nothing(w):
    with pytest.raises(ValidationFailed) as backwards:
        pass_issue(
            actor=w.commander,
            region=w.tree.county,
            vehicle=w.vehicle,
            driver=w.driver,
            valid_from=NOW,
            valid_until=NOW,
            destinations=[w.tree.compound],
            origin_stock_point=w.depot,
        )
    with pytest.raises(ValidationFailed) as not_compound:
        pass_issue(
            actor=w.commander,
            region=w.tree.county,
            vehicle=w.vehicle,
            driver=w.driver,
            valid_from=NOW,
            valid_until=NOW + timedelta(hours=1),
            destinations=[w.tree.community],
            origin_stock_point=w.depot,
        )
    with pytest.raises(ValidationFailed) as two_origins:
        pass_issue(
            actor=w.commander,
            region=w.tree.county,
            vehicle=w.vehicle,
            driver=w.driver,
            valid_from=NOW,
            valid_until=NOW + timedelta(hours=1),
            destinations=[w.tree.compound],
            origin_stock_point=w.depot,
            origin_organisation=w.vehicle.owner,
        )

    assert (backwards.value.field, not_compound.value.field, two_origins.value.field) == (
        "valid_until",
        "destinations",
        "origin",
    )
    assert GreenPass.objects.count() == 0
    assert GreenPassCounter.objects.count() == 0
    assert AuditLog.objects.filter(action="green_pass.issue").count() == 0


def test_revoke_needs_a_reason_and_happens_once(w):
    green_pass = issue(w)

    with pytest.raises(ValidationFailed) as no_reason:
        pass_revoke(actor=w.commander, green_pass=green_pass, reason="  ")
    green_pass.refresh_from_db()
    assert (no_reason.value.field, green_pass.status) == ("reason", GreenPassStatus.ACTIVE)

    pass_revoke(actor=w.commander, green_pass=green_pass, reason="driver quarantined", now=NOW)
    with pytest.raises(Conflict):
        pass_revoke(actor=w.commander, green_pass=green_pass, reason="again")

    green_pass.refresh_from_db()
    assert (green_pass.status, green_pass.revoked_reason, green_pass.revoked_at, green_pass.revoked_by_id) == (
        GreenPassStatus.REVOKED,
        "driver quarantined",
        NOW,
        w.commander.pk,
    )
    # The reason is free text: it stays on the pass, the append-only log only says there was one.
    assert list(AuditLog.objects.filter(action="green_pass.revoke").values_list("payload", flat=True)) == [
        {"number": green_pass.number, "with_reason": True}
    ]


# --- checks -----------------------------------------------------------------------------------------


def test_a_good_pass_passes_by_number_and_by_qr(w):
    green_pass = issue(w)

    by_number = check(w, green_pass.number, plate="浙a·12345", destination=w.tree.building)
    by_qr = check(w, green_pass_payload_sign(green_pass=green_pass), destination=w.tree.compound)

    assert (by_number.result, by_number.reasons, by_number.green_pass_id) == (CheckResult.PASS, [], green_pass.pk)
    assert (by_qr.result, by_qr.reasons, by_qr.green_pass_id) == (CheckResult.PASS, [], green_pass.pk)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("revoked", ["revoked"]),
        ("expired", ["expired"]),
        ("not_yet_valid", ["not_yet_valid"]),
        ("wrong_route", ["wrong_route"]),
        ("plate_mismatch", ["plate_mismatch"]),
        ("test_too_old", ["test_too_old"]),
        ("no_test", ["test_too_old"]),
        ("itinerary_yellow", ["itinerary_flagged"]),
        ("itinerary_red", ["itinerary_flagged"]),
    ],
)
def test_each_bad_case_is_stopped_for_its_own_reason(w, case, expected):
    green_pass = issue(w)
    plate, destination, now = "浙A12345", w.tree.compound, NOW
    if case == "revoked":
        pass_revoke(actor=w.commander, green_pass=green_pass, reason="driver quarantined")
    elif case == "expired":
        now = green_pass.valid_until
    elif case == "not_yet_valid":
        now = green_pass.valid_from - timedelta(seconds=1)
    elif case == "wrong_route":
        destination = w.other_compound
    elif case == "plate_mismatch":
        plate = "浙A12346"
    elif case == "test_too_old":
        driver_health_update(
            actor=None,
            driver=w.driver,
            itinerary_status=ItineraryStatus.GREEN,
            last_negative_test_at=NOW - timedelta(hours=48, seconds=1),
            now=NOW,
        )
    elif case == "no_test":
        driver_health_update(
            actor=None, driver=w.driver, itinerary_status=ItineraryStatus.GREEN, last_negative_test_at=None, now=NOW
        )
    else:
        status = ItineraryStatus.YELLOW if case == "itinerary_yellow" else ItineraryStatus.RED
        driver_health_update(
            actor=None,
            driver=w.driver,
            itinerary_status=status,
            last_negative_test_at=NOW - timedelta(hours=2),
            now=NOW,
        )

    result = check(w, green_pass_payload_sign(green_pass=green_pass), plate=plate, destination=destination, now=now)

    assert (result.result, result.reasons, result.green_pass_id) == (CheckResult.STOP, expected, green_pass.pk)


def test_test_exactly_48_hours_old_still_passes(w):
    green_pass = issue(w)
    driver_health_update(
        actor=None,
        driver=w.driver,
        itinerary_status=ItineraryStatus.GREEN,
        last_negative_test_at=NOW - timedelta(hours=48),
        now=NOW,
    )

    assert check(w, green_pass.number).result == CheckResult.PASS


def test_several_failures_are_all_reported(w):
    green_pass = issue(w)
    pass_revoke(actor=w.commander, green_pass=green_pass, reason="stolen")

    result = check(w, green_pass.number, plate="沪B99999", destination=w.other_compound)

    assert result.reasons == ["revoked", "wrong_route", "plate_mismatch"]


def test_unknown_number_is_stopped(w):
    result = check(w, "330102999999")

    assert (result.result, result.reasons, result.green_pass_id) == (CheckResult.STOP, ["unknown_pass"], None)


def test_forged_payload_is_stopped_as_forged(w):
    green_pass = issue(w)
    claim = {"n": green_pass.number, "p": "浙A12345", "f": 0, "u": 4_000_000_000}
    wrong_key = signing.dumps(claim, salt=SALT, key="not-the-project-secret")
    wrong_salt = signing.dumps(claim, salt="something-else")

    results = [check(w, payload) for payload in (wrong_key, wrong_salt, "hello", f"{green_pass.number}:x")]

    assert [(r.result, r.reasons, r.green_pass_id) for r in results] == [(CheckResult.STOP, ["forged"], None)] * 4


@pytest.mark.parametrize("field", ["p", "n", "u"])
def test_altered_payload_is_stopped_as_forged(w, field):
    green_pass = issue(w)
    other = issue(w, vehicle=factories.vehicle(w.vehicle.owner, plate="浙A54321"))
    payload = green_pass_payload_sign(green_pass=green_pass)
    signature = payload.partition(":")[2]
    claim = signing.loads(payload, salt=SALT)
    claim[field] = {"p": "浙A54321", "n": other.number, "u": claim["u"] + 86_400}[field]
    # Re-encode the altered claim but keep the original signature, as a forger without the key must.
    altered_body = signing.dumps(claim, salt=SALT).partition(":")[0]
    altered = f"{altered_body}:{signature}"

    result = check(w, altered, plate="浙A54321" if field == "p" else "浙A12345")

    assert altered != payload
    assert (result.result, result.reasons, result.green_pass_id) == (CheckResult.STOP, ["forged"], None)


def test_genuine_payload_that_no_longer_matches_the_record_is_forged(w):
    green_pass = issue(w)
    payload = green_pass_payload_sign(green_pass=green_pass)
    Vehicle.objects.filter(pk=w.vehicle.pk).update(plate="浙A00000")

    result = check(w, payload, plate="浙A00000")

    assert (result.result, result.reasons, result.green_pass_id) == (CheckResult.STOP, ["forged"], green_pass.pk)


def test_another_countys_pass_is_unknown_at_this_checkpoint(w):
    elsewhere = make_tree()
    owner = factories.organisation(elsewhere.county)
    theirs = pass_issue(
        actor=None,
        region=elsewhere.county,
        vehicle=factories.vehicle(owner),
        driver=factories.driver(owner, now=NOW),
        valid_from=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(hours=1),
        destinations=[elsewhere.compound],
        origin_stock_point=stock_point(elsewhere.county),
    )

    by_number = check(w, theirs.number, plate=theirs.vehicle.plate)
    by_qr = check(w, green_pass_payload_sign(green_pass=theirs), plate=theirs.vehicle.plate)

    assert [(c.result, c.reasons) for c in (by_number, by_qr)] == [(CheckResult.STOP, ["unknown_pass"])] * 2


def test_every_check_is_logged_and_audited_including_refusals(w):
    green_pass = issue(w)

    check(w, green_pass.number)
    check(w, green_pass.number, plate="浙A00000")
    check(w, "garbage")
    check(w, "330102123456")

    rows = list(PassCheck.objects.order_by("pk").values_list("presented", "plate_seen", "result", "reasons"))
    assert rows == [
        (green_pass.number, "浙A12345", "pass", []),
        (green_pass.number, "浙A00000", "stop", ["plate_mismatch"]),
        ("garbage", "浙A12345", "stop", ["forged"]),
        ("330102123456", "浙A12345", "stop", ["unknown_pass"]),
    ]
    assert set(PassCheck.objects.values_list("officer_id", "checkpoint_region_id", "checked_at")) == {
        (w.officer.pk, w.tree.subdistrict.pk, NOW)
    }
    assert AuditLog.objects.filter(action="green_pass.check", actor=w.officer).count() == 4


def test_check_refuses_missing_input_and_other_roles_and_logs_nothing(w):
    green_pass = issue(w)
    volunteer = user(Role.VOLUNTEER, region=w.tree.county)

    with pytest.raises(ValidationFailed) as no_plate:
        check(w, green_pass.number, plate=" ")
    with pytest.raises(ValidationFailed) as nothing_presented:
        check(w, "  ")
    with pytest.raises(PermissionDenied):
        pass_check(
            officer=volunteer,
            payload_or_number=green_pass.number,
            plate_seen="浙A12345",
            checkpoint_region=w.tree.subdistrict,
        )

    assert (no_plate.value.field, nothing_presented.value.field) == ("plate_seen", "payload_or_number")
    assert PassCheck.objects.count() == 0


def test_gate_arrival_and_disinfection_are_recorded(w):
    green_pass = issue(w)
    volunteer = user(Role.VOLUNTEER, region=w.tree.compound)

    arrival = gate_arrival_record(actor=volunteer, vehicle=w.vehicle, compound=w.tree.compound, green_pass=green_pass)
    disinfection = vehicle_disinfection_record(
        actor=volunteer, vehicle=w.vehicle, place=w.tree.compound, agent="含氯消毒液", now=NOW
    )
    with pytest.raises(ValidationFailed) as not_a_gate:
        gate_arrival_record(actor=volunteer, vehicle=w.vehicle, compound=w.tree.community)

    assert (arrival.compound_id, arrival.green_pass_id, arrival.recorded_by_id) == (
        w.tree.compound.pk,
        green_pass.pk,
        volunteer.pk,
    )
    assert (disinfection.disinfected_at, disinfection.agent) == (NOW, "含氯消毒液")
    assert not_a_gate.value.field == "compound"
    assert w.vehicle.gate_arrivals.count() == 1


def test_the_checkpoint_log_cannot_be_rewritten(w):
    from django.db import DatabaseError, connection, transaction

    logged = check(w, "999999999999")
    before = list(PassCheck.objects.values_list("pk", "result"))
    for statement in ("UPDATE delivery_passcheck SET result = 'pass'", "DELETE FROM delivery_passcheck"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert list(PassCheck.objects.values_list("pk", "result")) == before == [(logged.pk, "stop")]
