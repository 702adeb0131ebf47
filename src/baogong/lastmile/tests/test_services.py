"""Courier outcomes, conflicts, scope, delivery times and pickup handover, through the services."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import signing

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.core.errors import NotFound, PermissionDenied
from baogong.core.masking import mask_phone
from baogong.core.models import AuditLog
from baogong.core.scoping import scope_of
from baogong.lastmile.models import CourierAction, DeliveryEvent
from baogong.lastmile.pickup import SALT, pickup_payload_sign, pickup_typed_code
from baogong.lastmile.selectors import courier_rosters, delivery_times
from baogong.lastmile.services import (
    ActionResult,
    DeliveryConflict,
    PickupCodeInvalid,
    courier_actions_sync,
    pickup_code_resolve,
    pickup_handover,
    pickup_ready_notify,
)
from baogong.lastmile.tests.world import LastMileWorld, build_last_mile_world
from baogong.notices.models import Notification
from baogong.orders.models import Order, OrderEvent
from baogong.orders.tests.factories import DAY
from baogong.planning.models import PlanPickupSlot, PlanRoster
from baogong.regions.models import Household

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 4, 12, 10, 0, tzinfo=SHANGHAI)
AT_DOOR = datetime(2030, 4, 12, 9, 30, tzinfo=SHANGHAI)
# Cut-off is 16:00 the day before: 17 h 30 min earlier.
SECONDS_TO_DOOR = 17 * 3600 + 30 * 60


@pytest.fixture
def lm() -> LastMileWorld:
    return build_last_mile_world()


def act(
    actor: User,
    order_id: int,
    outcome: str,
    *,
    action_id: str | None = None,
    at: datetime = AT_DOOR,
    paid_by: str = "",
    reason: str = "",
) -> ActionResult:
    raw = {
        "action_id": action_id or str(uuid.uuid4()),
        "order_id": order_id,
        "outcome": outcome,
        "client_at": at.isoformat(),
        "paid_by": paid_by,
        "reason": reason,
    }
    [result] = courier_actions_sync(actor=actor, actions=[raw], now=NOW)
    return result


def snapshot() -> tuple[int, int, int, int, int]:
    return (
        DeliveryEvent.objects.count(),
        OrderEvent.objects.count(),
        AuditLog.objects.count(),
        Notification.objects.count(),
        Order.objects.filter(status="delivered").count(),
    )


def test_courier_sees_own_rosters_in_walking_order_with_masked_phones(lm):
    volunteer = lm.volunteers[0]

    [roster] = courier_rosters(scope=scope_of(volunteer), actor=volunteer, delivery_date=DAY)

    assert [(s.floor, s.room) for s in roster.stops] == [
        (1, "101"), (1, "102"), (2, "201"), (2, "202"), (3, "301"), (3, "302"), (4, "401"),
    ]  # fmt: skip
    phones = dict(Household.objects.values_list("pk", "phone"))
    assert [s.phone for s in roster.stops] == [mask_phone(phones[s.household_id]) for s in roster.stops]
    assert all("****" in s.phone for s in roster.stops)
    assert [p.order_id for s in roster.stops for p in s.packages] == lm.roster_orders(volunteer)
    assert all(p.can_act and p.outcome == "" for s in roster.stops for p in s.packages)


def test_delivered_drives_the_order_records_time_audits_and_notifies(lm, django_capture_on_commit_callbacks):
    volunteer = lm.volunteers[0]
    order_id = lm.roster_orders(volunteer)[0]
    action_id = str(uuid.uuid4())

    with django_capture_on_commit_callbacks(execute=True):
        result = act(volunteer, order_id, "delivered", action_id=action_id)

    event = DeliveryEvent.objects.get()
    assert result == ActionResult(
        action_id=action_id, status=201, code="recorded", message=result.message, order_id=order_id,
        outcome="delivered", event_id=event.pk, applied=True,
    )  # fmt: skip
    assert (event.order_id, event.courier_id, event.outcome, str(event.action_id)) == (
        order_id, volunteer.pk, "delivered", action_id,
    )  # fmt: skip
    assert (event.happened_at, event.recorded_at, event.seconds_from_cutoff) == (AT_DOOR, NOW, SECONDS_TO_DOOR)
    assert Order.objects.get(pk=order_id).status == "delivered"
    assert list(AuditLog.objects.filter(target_id=str(order_id)).order_by("pk").values_list("action", flat=True))[
        -2:
    ] == ["order.deliver", "lastmile.delivered"]
    notice = Notification.objects.get()
    assert (notice.kind, notice.language, notice.status, notice.order_id) == ("delivered", "zh-hans", "sent", order_id)
    assert notice.body.startswith("已送达：")
    assert f"#{order_id}" in notice.body
    assert "09:30" in notice.body
    assert "13812345678" not in notice.body
    assert CourierAction.objects.get().status_code == 201


def test_replay_returns_the_first_result_and_changes_nothing(lm):
    volunteer = lm.volunteers[0]
    order_id = lm.roster_orders(volunteer)[0]
    action_id = str(uuid.uuid4())
    first = act(volunteer, order_id, "delivered", action_id=action_id)
    before = snapshot()

    again = act(volunteer, order_id, "delivered", action_id=action_id)
    reused = act(volunteer, order_id, "refused", action_id=action_id)

    assert again == ActionResult(**{**first.as_dict(), "replayed": True})
    assert (reused.status, reused.code) == (422, "validation_failed")
    assert snapshot() == before


def test_same_courier_tapping_twice_gets_the_first_event_back(lm):
    volunteer = lm.volunteers[0]
    order_id = lm.roster_orders(volunteer)[0]
    first = act(volunteer, order_id, "delivered")
    before = snapshot()

    second = act(volunteer, order_id, "delivered")

    assert (second.status, second.code, second.event_id, second.applied) == (
        200,
        "already_recorded",
        first.event_id,
        False,
    )
    assert snapshot() == before


def test_not_reached_keeps_the_order_pending_and_may_be_followed_by_delivered(lm):
    volunteer = lm.volunteers[0]
    order_id = lm.roster_orders(volunteer)[0]

    missed = act(volunteer, order_id, "not_reached", at=datetime(2030, 4, 12, 9, 0, tzinfo=SHANGHAI))
    assert (missed.status, missed.outcome) == (201, "not_reached")
    assert Order.objects.get(pk=order_id).status == "verified"
    assert DeliveryEvent.objects.get().seconds_from_cutoff is None
    missed_again = act(volunteer, order_id, "not_reached")
    assert (missed_again.status, missed_again.event_id) == (200, missed.event_id)

    delivered = act(volunteer, order_id, "delivered")

    assert (delivered.status, delivered.outcome) == (201, "delivered")
    assert list(DeliveryEvent.objects.order_by("pk").values_list("outcome", flat=True)) == ["not_reached", "delivered"]
    assert Order.objects.get(pk=order_id).status == "delivered"
    assert sorted(Notification.objects.values_list("kind", flat=True)) == ["delivered", "not_reached"]


def test_a_late_not_reached_never_moves_a_delivered_package_back(lm):
    volunteer = lm.volunteers[0]
    order_id = lm.roster_orders(volunteer)[0]
    delivered = act(volunteer, order_id, "delivered")
    before = snapshot()

    late = act(volunteer, order_id, "not_reached", at=datetime(2030, 4, 12, 9, 0, tzinfo=SHANGHAI))

    assert (late.status, late.code, late.outcome, late.event_id) == (
        200,
        "already_recorded",
        "delivered",
        delivered.event_id,
    )
    assert snapshot() == before
    assert Order.objects.get(pk=order_id).status == "delivered"


def test_refused_fails_the_order_with_a_reason_and_is_final(lm):
    volunteer = lm.volunteers[0]
    order_id = lm.roster_orders(volunteer)[0]

    refused = act(volunteer, order_id, "refused", reason="不要了")

    assert (refused.status, refused.outcome) == (201, "refused")
    order = Order.objects.get(pk=order_id)
    assert (order.status, order.reason) == ("failed", "不要了")
    before = snapshot()
    delivered = act(volunteer, order_id, "delivered")
    assert (delivered.status, delivered.code, delivered.outcome) == (409, "delivery_conflict", "refused")
    assert snapshot() == before


def test_a_second_courier_confirming_the_same_package_gets_a_conflict(lm):
    first, second = lm.volunteers
    # The walk was handed to a second volunteer as well (a stand-in), so both have the package.
    walk = PlanRoster.objects.get(plan=lm.plan, volunteer=first)
    PlanRoster.objects.create(
        plan=lm.plan, part=walk.part, compound=walk.compound, number=9, volunteer=second,
        household_count=walk.household_count, stops=walk.stops,
    )  # fmt: skip
    order_id = lm.roster_orders(first)[0]
    act(first, order_id, "delivered")
    before = snapshot()

    clash = act(second, order_id, "delivered")

    assert (clash.status, clash.code, clash.outcome, clash.applied) == (409, "delivery_conflict", "delivered", False)
    assert snapshot() == before
    assert DeliveryEvent.objects.get().courier_id == first.pk
    # The refusal of a package someone else delivered is a conflict too.
    assert act(second, order_id, "refused").status == 409


def test_packages_off_the_couriers_rosters_are_not_found(lm):
    volunteer = lm.volunteers[0]
    other_walk = lm.roster_orders(lm.volunteers[1])[0]
    other_compound = lm.household_order("B1").pk
    pickup = lm.household_order("A2").pk
    before = snapshot()

    results = [act(volunteer, order_id, "delivered") for order_id in (other_walk, other_compound, pickup, 999_999)]

    assert [(r.status, r.code) for r in results] == [(404, "not_found")] * 4
    assert snapshot() == before
    assert [a.status_code for a in CourierAction.objects.order_by("received_at", "pk")] == [404] * 4


def test_malformed_actions_name_their_field_and_change_nothing(lm):
    volunteer = lm.volunteers[0]
    order_id = lm.roster_orders(volunteer)[0]
    good = {
        "action_id": str(uuid.uuid4()),
        "order_id": order_id,
        "outcome": "delivered",
        "client_at": AT_DOOR.isoformat(),
    }
    before = snapshot()

    results = courier_actions_sync(
        actor=volunteer,
        actions=[
            {**good, "action_id": "not-a-uuid"},
            {**good, "outcome": "lost"},
            {**good, "order_id": "1"},
            {**good, "client_at": "2030-04-12 09:30"},
            {**good, "paid_by": "iou"},
            "delivered",
        ],
        now=NOW,
    )

    assert [(r.status, r.code) for r in results] == [(422, "validation_failed")] * 6
    assert snapshot() == before
    assert CourierAction.objects.count() == 0


def test_an_unbelievable_phone_clock_falls_back_to_the_server_time(lm):
    volunteer = lm.volunteers[0]
    order_id = lm.roster_orders(volunteer)[0]

    act(volunteer, order_id, "delivered", at=datetime(2030, 4, 13, 9, 0, tzinfo=SHANGHAI))

    event = DeliveryEvent.objects.get()
    assert (event.happened_at, event.seconds_from_cutoff) == (NOW, 18 * 3600)


def test_delivery_times_give_median_and_p90_per_compound(lm):
    volunteer = lm.volunteers[0]
    orders = lm.roster_orders(volunteer)
    for minutes, order_id in zip([0, 10, 20, 30, 40, 50, 60], orders, strict=True):
        act(volunteer, order_id, "delivered", at=datetime(2030, 4, 12, 9, minutes % 60, tzinfo=SHANGHAI) if minutes < 60
            else datetime(2030, 4, 12, 10, 0, tzinfo=SHANGHAI))  # fmt: skip

    [times] = delivery_times(scope=scope_of(lm.command), delivery_date=DAY)

    base = 17 * 3600
    assert (times.compound_id, times.households) == (lm.pw.ow.world.regions["A1"].pk, 7)
    assert (times.median_s, times.p90_s) == (base + 30 * 60, base + 60 * 60)
    # Out of scope: community B's subdistrict sees nothing of A1.
    assert (
        delivery_times(scope=scope_of(user(Role.COMMUNITY, region=lm.pw.ow.world.regions["B"])), delivery_date=DAY)
        == []
    )


# --- pickup ---------------------------------------------------------------------------------------


def a2_volunteer(lm: LastMileWorld) -> User:
    return user(Role.VOLUNTEER, region=lm.pw.ow.world.regions["A2"])


def test_scanned_and_typed_pickup_codes_name_the_household(lm):
    desk = a2_volunteer(lm)
    household_id = lm.pw.ow.household("A2")
    payload = pickup_payload_sign(household_id=household_id, delivery_date=DAY)
    typed = pickup_typed_code(household_id=household_id, delivery_date=DAY)

    assert pickup_code_resolve(actor=desk, code=payload, delivery_date=DAY).household_id == household_id
    spaced = f"{typed[:4]} {typed[4:]}"
    assert pickup_code_resolve(actor=desk, code=spaced, delivery_date=DAY).household_id == household_id


def _reason(lm: LastMileWorld, code: str, *, actor: User | None = None, day: date = DAY) -> str:
    with pytest.raises(PickupCodeInvalid) as caught:
        pickup_code_resolve(actor=actor or a2_volunteer(lm), code=code, delivery_date=day)
    return str(caught.value.data["reason"])


def test_forged_altered_expired_and_foreign_pickup_codes_are_rejected_for_their_reason(lm):
    household_id = lm.pw.ow.household("A2")
    payload = pickup_payload_sign(household_id=household_id, delivery_date=DAY)
    # Another household's id with the genuine signature; one character of the signature changed.
    claim, signature = payload.rsplit(":", 1)
    other = signing.dumps({"h": lm.pw.ow.household("A1a"), "d": DAY.isoformat()}, salt=SALT, compress=False)
    spliced = other.split(":", 1)[0] + ":" + payload.split(":", 1)[1]
    altered = f"{claim}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    other_purpose = signing.dumps({"h": household_id, "d": DAY.isoformat()}, salt="baogong.delivery.green-pass")
    # Signed four days ago (by the real clock the signature uses): older than the three days a code lives.
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 4 * 24 * 3600):
        stale = pickup_payload_sign(household_id=household_id, delivery_date=DAY)
    yesterday = pickup_payload_sign(household_id=household_id, delivery_date=date(2030, 4, 11))
    tomorrow = pickup_payload_sign(household_id=household_id, delivery_date=date(2030, 4, 13))
    wrong_digits = f"{(int(pickup_typed_code(household_id=household_id, delivery_date=DAY)) + 1) % 10**8:08d}"
    b1_code = pickup_payload_sign(household_id=lm.pw.ow.household("B1"), delivery_date=DAY)

    assert [
        _reason(lm, altered),
        _reason(lm, spliced),
        _reason(lm, other_purpose),
        _reason(lm, "not a code"),
        _reason(lm, stale),
        _reason(lm, yesterday),
        _reason(lm, tomorrow),
        _reason(lm, wrong_digits),
        _reason(lm, b1_code),
    ] == ["forged", "forged", "forged", "forged", "expired", "expired", "other_day", "unknown", "not_here"]


def test_handover_delivers_once_and_a_second_handover_is_a_conflict(lm, django_capture_on_commit_callbacks):
    desk = a2_volunteer(lm)
    household_id = lm.pw.ow.household("A2")
    order = lm.household_order("A2")
    action_id = uuid.uuid4()
    moment = datetime(2030, 4, 12, 7, 20, tzinfo=SHANGHAI)

    [event] = pickup_handover(actor=desk, household_id=household_id, delivery_date=DAY, action_id=action_id, now=moment)

    assert (event.order_id, event.outcome, event.courier_id, event.seconds_from_cutoff) == (
        order.pk, "handed_over", desk.pk, 15 * 3600 + 20 * 60,
    )  # fmt: skip
    assert Order.objects.get(pk=order.pk).status == "delivered"
    before = snapshot()
    replay = pickup_handover(actor=desk, household_id=household_id, delivery_date=DAY, action_id=action_id, now=moment)
    assert [e.pk for e in replay] == [event.pk]
    with pytest.raises(DeliveryConflict):
        pickup_handover(actor=desk, household_id=household_id, delivery_date=DAY, action_id=uuid.uuid4(), now=moment)
    with pytest.raises(NotFound):
        pickup_handover(
            actor=lm.volunteers[0], household_id=household_id, delivery_date=DAY, action_id=uuid.uuid4(), now=moment
        )
    assert snapshot() == before


def test_pickup_ready_tells_each_household_its_slot_once(lm, django_capture_on_commit_callbacks):
    desk = a2_volunteer(lm)
    order = lm.household_order("A2")

    with django_capture_on_commit_callbacks(execute=True):
        sent = pickup_ready_notify(actor=desk, compound_id=order.compound_id, delivery_date=DAY)
    again = pickup_ready_notify(actor=desk, compound_id=order.compound_id, delivery_date=DAY)

    assert (sent, again) == (1, 0)
    notice = Notification.objects.get()
    assert (notice.kind, notice.household_id, notice.status) == ("pickup_ready", order.household_id, "sent")
    assert notice.body.startswith("按楼栋单元定时取货：")
    assert "07:15" in notice.body
    assert "07:30" in notice.body


def test_pickup_ready_names_the_pickup_group_when_the_day_has_no_slots(lm, django_capture_on_commit_callbacks):
    desk = a2_volunteer(lm)
    order = lm.household_order("A2")
    PlanPickupSlot.objects.all().delete()

    assert pickup_ready_notify(actor=desk, compound_id=order.compound_id, delivery_date=DAY) == 1

    body = Notification.objects.get().body
    assert body.startswith("按楼栋单元定时取货：")
    assert "1号楼 1单元" in body
    assert "%(" not in body


def test_pickup_ready_is_refused_outside_the_scope_and_for_other_roles(lm):
    order = lm.household_order("A2")
    with pytest.raises(PermissionDenied):
        pickup_ready_notify(actor=lm.pw.ow.supplier, compound_id=order.compound_id, delivery_date=DAY)
    # A1's volunteer does not serve A2: nothing of A2 is in its scope, so nobody is told.
    assert pickup_ready_notify(actor=lm.volunteers[0], compound_id=order.compound_id, delivery_date=DAY) == 0
    assert Notification.objects.count() == 0
