"""Notices: rendered in zh-Hans whatever the sender's language, sent through the configured adapter, scoped."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.scoping import scope_of
from baogong.core.tests.world import build_world
from baogong.notices.adapters import OutgoingMessage, SendResult
from baogong.notices.models import Notification
from baogong.notices.selectors import notification_list
from baogong.notices.services import notice_send, notice_validate_body
from baogong.orders.models import OrderStatus

pytestmark = pytest.mark.django_db

TEMPLATE = gettext_lazy("%(status)s: your order %(order)s was placed at your door at %(time)s. Please take it in soon.")
SENT: list[OutgoingMessage] = []


class RecordingAdapter:
    def send(self, message: OutgoingMessage) -> SendResult:
        SENT.append(message)
        return SendResult(sent=True, reference=f"sms-{message.notification_id}")


class BrokenGateway:
    def send(self, message: OutgoingMessage) -> SendResult:
        raise ConnectionError("gateway down")


@pytest.fixture
def world():
    return build_world()


def send(household, key: str = "delivered:1") -> Notification | None:
    with transaction.atomic():
        return notice_send(
            household=household,
            kind="delivered",
            dedup_key=key,
            template=TEMPLATE,
            params={"status": OrderStatus.DELIVERED.label, "order": "#1", "time": "09:30"},
            order_id=None,
        )


def test_notice_is_rendered_in_chinese_while_the_sender_reads_english(
    world, django_capture_on_commit_callbacks, caplog
):
    household = world.households["A1a"]
    caplog.set_level(logging.INFO, logger="baogong.notices")

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notice = send(household)

    notice = Notification.objects.get()
    assert (notice.language, notice.status, notice.reference) == ("zh-hans", "sent", f"log-{notice.pk}")
    assert notice.body.startswith("已送达：")
    assert "delivered" not in notice.body
    # The log carries the masked number only.
    assert household.phone not in caplog.text
    assert f"{household.phone[:3]}****{household.phone[-4:]}" in caplog.text
    assert notice.body in caplog.text


def test_the_same_reason_notifies_once(world):
    household = world.households["A1a"]
    assert send(household) is not None
    assert send(household) is None
    assert Notification.objects.count() == 1


def test_the_adapter_is_pluggable_and_a_failing_gateway_is_recorded(
    world, settings, django_capture_on_commit_callbacks
):
    household = world.households["A1a"]
    settings.BAOGONG_NOTICE_ADAPTER = "baogong.notices.tests.test_notices.RecordingAdapter"
    SENT.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send(household, "delivered:1")
    assert [(m.household_id, m.phone, m.language) for m in SENT] == [(household.pk, household.phone, "zh-hans")]
    assert Notification.objects.get().reference == f"sms-{SENT[0].notification_id}"

    settings.BAOGONG_NOTICE_ADAPTER = "baogong.notices.tests.test_notices.BrokenGateway"
    with django_capture_on_commit_callbacks(execute=True):
        broken = send(household, "delivered:2")
    assert broken is not None
    broken.refresh_from_db()
    assert (broken.status, broken.error, broken.sent_at) == ("failed", "ConnectionError", None)


def test_bodies_with_unmasked_numbers_are_refused():
    assert notice_validate_body("138****5678 #12 09:30") == "138****5678 #12 09:30"
    for body in ("call 13812345678", "ID 110101195001011234"):
        with pytest.raises(ValueError, match="unmasked phone or ID number"):
            notice_validate_body(body)


def test_residents_see_their_own_notices_and_staff_those_in_scope(world, client):
    for key in ("A1a", "A1b", "A2", "B1"):
        send(world.households[key], f"delivered:{key}")
    ids = {n.household_id: n.pk for n in Notification.objects.all()}

    def visible(account) -> set[int]:
        return {n.household_id for n in notification_list(scope=scope_of(account))}

    h = {key: world.households[key].pk for key in ("A1a", "A1b", "A2", "B1")}
    assert visible(world.users[Role.RESIDENT]) == {h["A1a"]}
    assert visible(world.users[Role.VOLUNTEER]) == {h["A1a"], h["A1b"]}
    assert visible(world.users[Role.COMMUNITY]) == {h["A1a"], h["A1b"], h["A2"]}
    assert visible(world.users[Role.COMMAND]) == set(h.values())
    assert visible(world.users[Role.SUPPLIER]) == set()

    client.force_login(world.users[Role.RESIDENT])
    page = client.get(reverse("notices:notice_list")).content.decode()
    assert f'data-notice="{ids[h["A1a"]]}"' in page
    assert f'data-notice="{ids[h["A1b"]]}"' not in page
    client.force_login(world.users[Role.SUPPLIER])
    assert client.get(reverse("notices:notice_list")).status_code == 404
    client.force_login(user(Role.CHECKPOINT, region=world.regions["S2"]))
    assert client.get(reverse("notices:notice_list")).status_code == 404
