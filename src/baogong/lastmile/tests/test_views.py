"""The courier page, the sync endpoint, the pickup code and desk, through the test client."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.lastmile.models import CourierAction, DeliveryEvent
from baogong.lastmile.pickup import pickup_payload_sign, pickup_typed_code
from baogong.lastmile.tests.world import LastMileWorld, build_last_mile_world
from baogong.notices.models import Notification
from baogong.orders.models import Order
from baogong.orders.tests.factories import DAY
from baogong.regions.models import Household

pytestmark = pytest.mark.django_db

COURIER = reverse("lastmile:courier") + f"?day={DAY.isoformat()}"
SYNC = reverse("lastmile:courier_sync")
DESK = reverse("lastmile:pickup_desk") + f"?day={DAY.isoformat()}"


@pytest.fixture
def lm() -> LastMileWorld:
    return build_last_mile_world()


def action(order_id: int, outcome: str = "delivered") -> dict[str, object]:
    return {
        "action_id": str(uuid.uuid4()),
        "order_id": order_id,
        "outcome": outcome,
        "client_at": "2030-04-12T09:30:00+08:00",
    }


def test_courier_page_lists_the_walk_with_masked_phones_in_english(client, lm):
    volunteer = lm.volunteers[0]
    client.force_login(volunteer)
    client.cookies["django_language"] = "en"

    page = client.get(COURIER)

    assert page.status_code == 200
    text = page.content.decode()
    assert 'src="/static/js/courier.js"' in text
    assert "<script>" not in text
    orders = lm.roster_orders(volunteer)
    assert [int(x) for x in re.findall(r'class="package" data-order="(\d+)"', text)] == orders
    assert "Building A1 1号楼, unit A1 1单元, floor 1, room 101" in text
    phones = Household.objects.filter(pk__in=Order.objects.filter(pk__in=orders).values("household_id"))
    for phone in phones.values_list("phone", flat=True):
        assert phone not in text
        assert f"{phone[:3]}****{phone[-4:]}" in text
    # The other volunteer's walk is not on this page.
    assert f'data-order="{lm.roster_orders(lm.volunteers[1])[0]}"' not in text


def test_courier_page_is_not_there_for_roles_that_do_not_deliver(client, lm):
    client.force_login(lm.pw.ow.supplier)
    assert client.get(COURIER).status_code == 404
    client.force_login(lm.pw.ow.resident)
    assert client.get(COURIER).status_code == 404


def test_sync_applies_a_batch_and_answers_per_action(client, lm):
    volunteer = lm.volunteers[0]
    client.force_login(volunteer)
    mine, theirs = lm.roster_orders(volunteer)[0], lm.household_order("B1").pk
    batch = [action(mine), action(theirs)]

    response = client.post(SYNC, data=json.dumps({"actions": batch}), content_type="application/json")
    again = client.post(SYNC, data=json.dumps({"actions": batch}), content_type="application/json")

    assert response.status_code == 200
    assert [(r["status"], r["code"], r["outcome"]) for r in response.json()["results"]] == [
        (201, "recorded", "delivered"),
        (404, "not_found", ""),
    ]
    assert [(r["status"], r["replayed"]) for r in again.json()["results"]] == [(201, True), (404, True)]
    assert DeliveryEvent.objects.count() == 1
    assert Order.objects.get(pk=theirs).status == "verified"


def test_sync_refuses_strangers_bad_bodies_and_missing_csrf(lm):
    volunteer = lm.volunteers[0]
    body = json.dumps({"actions": [action(lm.roster_orders(volunteer)[0])]})
    anonymous = Client()
    assert anonymous.post(SYNC, data=body, content_type="application/json").json()["code"] == "not_authenticated"

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(volunteer)
    assert strict.post(SYNC, data=body, content_type="application/json").status_code == 403

    loose = Client()
    loose.force_login(volunteer)
    bad = loose.post(SYNC, data="{not json", content_type="application/json")
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (422, "validation_failed", "actions")
    not_a_list = loose.post(SYNC, data=json.dumps({"actions": "x"}), content_type="application/json")
    assert not_a_list.status_code == 422
    loose.force_login(lm.pw.ow.supplier)
    assert loose.post(SYNC, data=body, content_type="application/json").status_code == 404
    assert (DeliveryEvent.objects.count(), CourierAction.objects.count()) == (0, 0)


def test_resident_sees_slot_and_pickup_code(client, lm):
    household = Household.objects.get(pk=lm.pw.ow.household("A2"))
    client.force_login(user(Role.RESIDENT, household=household))
    client.cookies["django_language"] = "en"

    page = client.get(reverse("lastmile:pickup_code"))

    text = page.content.decode()
    typed = pickup_typed_code(household_id=household.pk, delivery_date=DAY)
    assert page.status_code == 200
    assert f"{typed[:4]} {typed[4:]}" in text
    assert 'src="data:image/svg+xml;base64,' in text
    assert "Your slot: 07:15–07:30" in text
    # Households of door delivery have nothing to show; other roles have no such page.
    client.force_login(lm.pw.ow.resident)
    assert "You have no pickup orders." in client.get(reverse("lastmile:pickup_code")).content.decode()
    client.force_login(lm.volunteers[0])
    assert client.get(reverse("lastmile:pickup_code")).status_code == 404


def test_desk_scans_hands_over_once_and_shows_why_a_code_is_refused(client, lm):
    desk = user(Role.VOLUNTEER, region=lm.pw.ow.world.regions["A2"])
    client.force_login(desk)
    client.cookies["django_language"] = "en"
    household_id = lm.pw.ow.household("A2")
    payload = pickup_payload_sign(household_id=household_id, delivery_date=DAY)

    forged = client.post(DESK, {"code": payload[:-2] + "xx"})
    assert forged.status_code == 422
    assert 'data-reason="forged"' in forged.content.decode()

    shown = client.post(DESK, {"code": payload})
    text = shown.content.decode()
    assert shown.status_code == 200
    assert f'data-household="{household_id}"' in text
    action_id = re.search(r'name="action_id" value="([0-9a-f-]+)"', text).group(1)
    form = {"household": household_id, "day": DAY.isoformat(), "action_id": action_id}
    done = client.post(reverse("lastmile:pickup_handover"), form)
    twice = client.post(reverse("lastmile:pickup_handover"), form)

    assert (done.status_code, twice.status_code) == (302, 302)
    assert list(DeliveryEvent.objects.values_list("outcome", "courier_id")) == [("handed_over", desk.pk)]
    assert lm.household_order("A2").status == "delivered"
    again = client.post(reverse("lastmile:pickup_handover"), {**form, "action_id": str(uuid.uuid4())}, follow=True)
    assert "Already handed over at" in again.content.decode()
    assert DeliveryEvent.objects.count() == 1


def test_desk_sends_pickup_ready_notices_once(client, lm):
    desk = user(Role.VOLUNTEER, region=lm.pw.ow.world.regions["A2"])
    client.force_login(desk)

    client.post(reverse("lastmile:pickup_ready"), {"day": DAY.isoformat()})
    client.post(reverse("lastmile:pickup_ready"), {"day": DAY.isoformat()})

    assert list(Notification.objects.values_list("kind", "household_id")) == [
        ("pickup_ready", lm.pw.ow.household("A2"))
    ]
