"""Ordering pages through the test client: resident and proxy orders, supermarkets, pairings, the whole journey."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.models import AuditLog
from baogong.enterprises.models import CompoundPairing
from baogong.orders.models import (
    HouseholdQuota,
    IdempotencyKey,
    OfferLine,
    Order,
    OrderEvent,
    Payment,
    PurchaseOrder,
)
from baogong.orders.services import LineRequest, order_place, purchase_orders_consolidate
from baogong.orders.tests.factories import AFTER_CUTOFF, DAY, NOW, build_ordering_world, new_key
from baogong.regions.models import Household
from baogong.regions.services import zone_status_set

pytestmark = pytest.mark.django_db
# The session with its account (one query), and the reads each page needs (see the tests at the end).
QUERIES_ORDER_PAGE = 11
QUERIES_PROXY_FIND = 4


@pytest.fixture
def ow(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return build_ordering_world()


def signed_in(account, *, language: str = "en") -> Client:
    client = Client()
    client.force_login(account)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def token_of(html: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def state():
    return (
        Order.objects.count(),
        OrderEvent.objects.count(),
        Payment.objects.count(),
        IdempotencyKey.objects.count(),
        sorted(HouseholdQuota.objects.values_list("key", "taken")),
        sorted(OfferLine.objects.values_list("pk", "reserved")),
    )


def order_form(ow, token: str, **quantities: int) -> dict[str, str]:
    data = {"token": token, "delivery_date": DAY.isoformat(), "payment_method": "online"}
    data.update({f"qty_{ow.offers[name].pk}": str(quantity) for name, quantity in quantities.items()})
    return data


def seal(ow, compound: str = "A1") -> None:
    zone_status_set(
        actor=None,
        region=ow.world.regions[compound],
        status="sealed",
        reason="case in building",
        starts_at=NOW - timedelta(hours=1),
    )


# --- the resident's page ---------------------------------------------------------------------------


class TestResidentOrdering:
    def test_page_shows_the_offer_window_caps_and_delivery_mode(self, ow):
        seal(ow)

        response = signed_in(ow.resident).get(reverse("orders:order_new"))

        html = response.content.decode()
        assert response.status_code == 200
        assert '<dd id="supermarket">E 超市</dd>' in html
        assert '<dd id="delivery-day">2030-04-12</dd>' in html
        assert '<dd id="delivery-mode">door delivery</dd>' in html
        assert "Ordering for 2030-04-12 is open until 2030-04-11 16:00." in html
        assert f'data-offer="{ow.offers["veg"].pk}"' in html
        assert "Cabbage" not in html  # English names of goods in English
        assert "Chinese cabbage × 2" in html
        assert "¥38.00" in html
        assert "30 left" in html
        assert "limit 2 per household" in html  # rice
        assert f'data-offer="{ow.offers["other_veg"].pk}"' not in html
        assert response["Cache-Control"].startswith("max-age=0")

    def test_sealed_compound_resident_orders_a_package_for_door_delivery_and_a_double_submit_makes_one_order(self, ow):
        seal(ow)
        client = signed_in(ow.resident)
        token = token_of(client.get(reverse("orders:order_new")).content.decode())

        first = client.post(reverse("orders:order_new"), order_form(ow, token, veg=1))
        second = client.post(reverse("orders:order_new"), order_form(ow, token, veg=1))

        order = Order.objects.get()
        assert (first.status_code, first["Location"]) == (302, reverse("orders:order_detail", args=[order.pk]))
        assert (second.status_code, second["Location"]) == (302, reverse("orders:order_detail", args=[order.pk]))
        assert (order.household_id, order.channel, order.placed_by_id, order.delivery_mode, order.total) == (
            ow.household("A1a"),
            "online",
            ow.resident.pk,
            "door",
            Decimal("38.00"),
        )
        assert [(line.offer_line_id, line.quantity) for line in order.lines.all()] == [(ow.offers["veg"].pk, 1)]
        assert OfferLine.objects.get(pk=ow.offers["veg"].pk).reserved == 1
        page = client.get(second["Location"]).content.decode()
        assert "This order was already placed; here it is." in page
        assert '<span class="status status-placed" id="order-status">placed</span>' in page
        mine = client.get(reverse("orders:order_new")).content.decode()
        assert f'<li data-order="{order.pk}">' in mine

    def test_controlled_compound_shows_pickup_by_unit(self, ow):
        zone_status_set(
            actor=None, region=ow.world.regions["A1"], status="controlled", reason="x", starts_at=NOW - timedelta(1)
        )

        html = signed_in(ow.resident).get(reverse("orders:order_new")).content.decode()

        assert '<dd id="delivery-mode">pickup by building and unit · pickup at A1 1号楼 A1 1单元</dd>' in html

    def test_closed_window_shows_the_message_and_a_post_changes_nothing(self, ow, monkeypatch):
        client = signed_in(ow.resident)
        token = token_of(client.get(reverse("orders:order_new")).content.decode())
        monkeypatch.setattr("django.utils.timezone.now", lambda: AFTER_CUTOFF)
        before = state()

        page = client.get(reverse("orders:order_new")).content.decode()
        response = client.post(reverse("orders:order_new"), order_form(ow, token, veg=1))

        assert "Ordering for 2030-04-13 opens at 2030-04-12 06:00 and closes at 2030-04-12 16:00." in page
        assert 'id="place-order"' not in page
        html = response.content.decode()
        assert response.status_code == 409
        assert "Ordering for 2030-04-12 is open from 2030-04-11 06:00 to 2030-04-11 16:00." in html
        assert "Ordering for 2030-04-12 closed at 2030-04-11 16:00." in html
        assert 'id="place-order"' not in html
        assert state() == before

    def test_cap_error_is_shown_at_the_line_and_changes_nothing(self, ow):
        client = signed_in(ow.resident)
        token = token_of(client.get(reverse("orders:order_new")).content.decode())
        before = state()

        response = client.post(reverse("orders:order_new"), order_form(ow, token, veg=1, veg2=1))

        assert response.status_code == 409
        assert "Your household may order at most 1 of this per delivery day." in response.content.decode()
        assert state() == before

    def test_nothing_chosen_is_refused(self, ow):
        client = signed_in(ow.resident)
        token = token_of(client.get(reverse("orders:order_new")).content.decode())
        before = state()

        response = client.post(reverse("orders:order_new"), order_form(ow, token))

        assert response.status_code == 422
        assert "Choose at least one package or item." in response.content.decode()
        assert state() == before

    def test_changed_resubmit_of_a_sent_form_gets_a_fresh_form_not_a_second_order(self, ow):
        client = signed_in(ow.resident)
        token = token_of(client.get(reverse("orders:order_new")).content.decode())
        client.post(reverse("orders:order_new"), order_form(ow, token, veg=1))

        response = client.post(reverse("orders:order_new"), order_form(ow, token, rice=1))

        html = response.content.decode()
        assert response.status_code == 409
        assert "This form was already sent." in html
        assert token_of(html) != token
        assert Order.objects.count() == 1

    def test_cancel_before_cutoff_shows_the_refund(self, ow):
        client = signed_in(ow.resident)
        token = token_of(client.get(reverse("orders:order_new")).content.decode())
        client.post(reverse("orders:order_new"), order_form(ow, token, veg=1))
        order = Order.objects.get()

        response = client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "bought elsewhere"})

        assert response.status_code == 302
        html = client.get(response["Location"]).content.decode()
        assert "Order cancelled; ¥38.00 refunded." in html
        assert '<dd class="refund">¥38.00 · 2030-04-11 06:00</dd>' in html
        assert '<span class="status status-cancelled" id="order-status">cancelled</span>' in html
        assert OfferLine.objects.get(pk=ow.offers["veg"].pk).reserved == 0

    def test_cancel_after_cutoff_is_refused_and_changes_nothing(self, ow, monkeypatch):
        client = signed_in(ow.resident)
        token = token_of(client.get(reverse("orders:order_new")).content.decode())
        client.post(reverse("orders:order_new"), order_form(ow, token, veg=1))
        order = Order.objects.get()
        monkeypatch.setattr("django.utils.timezone.now", lambda: AFTER_CUTOFF)
        before = state()

        response = client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "late"})

        assert response.status_code == 409
        assert "Orders can be cancelled only before the cut-off at 2030-04-11 16:00." in response.content.decode()
        assert state() == before

    def test_resident_cannot_see_a_neighbours_order(self, ow):
        placed = order_place(
            actor=ow.community,
            household_id=ow.household("A1b"),
            delivery_date=DAY,
            lines=[LineRequest(offer_line_id=ow.offers["veg"].pk, quantity=1)],
            idempotency_key=new_key(),
            channel="phone",
            payment_method="cash",
            read_back_confirmed=True,
        )

        response = signed_in(ow.resident).get(reverse("orders:order_detail", args=[placed.order_id]))

        assert response.status_code == 404

    def test_page_in_chinese(self, ow):
        html = signed_in(ow.resident, language="zh-hans").get(reverse("orders:order_new")).content.decode()

        assert "大白菜 × 2" in html
        assert "送货上门" in html or "上门配送" in html


# --- proxy ordering --------------------------------------------------------------------------------


class TestProxyOrdering:
    def test_find_lists_offline_households_first_and_filters_them(self, ow):
        Household.objects.filter(pk=ow.household("A1b")).update(can_order_online=False)
        client = signed_in(ow.community)

        html = client.get(reverse("orders:proxy")).content.decode()
        only = client.get(reverse("orders:proxy"), {"offline": "on"}, headers={"HX-Request": "true"})

        rows = re.findall(r'<li data-household="(\d+)">', html)
        assert [int(pk) for pk in rows] == [ow.household("A1b"), ow.household("A1a"), ow.household("A2")]
        assert html.count("can't order online") == 2  # the checkbox label and A1b's badge
        assert only.content.decode().startswith('<div id="households">')
        assert [int(pk) for pk in re.findall(r'<li data-household="(\d+)">', only.content.decode())] == [
            ow.household("A1b")
        ]

    def test_find_by_phone_tail(self, ow):
        html = signed_in(ow.community).get(reverse("orders:proxy"), {"q": "0033"}).content.decode()

        assert [int(pk) for pk in re.findall(r'<li data-household="(\d+)">', html)] == [ow.household("A2")]
        assert "139****0033" in html

    def test_proxy_order_for_an_offline_resident_records_channel_and_placed_by(self, ow):
        Household.objects.filter(pk=ow.household("A1b")).update(can_order_online=False)
        client = signed_in(ow.community)
        url = reverse("orders:proxy_order_new", args=[ow.household("A1b")])
        token = token_of(client.get(url).content.decode())
        data = order_form(ow, token, veg=1, rice=2)
        data.update(
            payment_method="cash", channel="phone", read_back_confirmed="on", read_back_note="daughter confirmed"
        )

        response = client.post(url, data)

        order = Order.objects.get()
        assert response.status_code == 302
        assert (
            order.household_id,
            order.placed_by_id,
            order.channel,
            order.read_back_confirmed,
            order.read_back_note,
            order.payment_method,
            order.payment_status,
            order.total,
        ) == (
            ow.household("A1b"),
            ow.community.pk,
            "phone",
            True,
            "daughter confirmed",
            "cash",
            "due",
            Decimal("149.00"),
        )
        html = client.get(response["Location"]).content.decode()
        assert '<dd id="order-for">A1 1号楼 A1 1单元 room 102 · 钱**</dd>' in html
        assert f'<dd id="placed-by">{ow.community.username} (community worker) · phone</dd>' in html
        assert '<dd id="read-back">read back and confirmed · daughter confirmed</dd>' in html
        # The resident of A1b would see the same; the resident of A1a does not see it at all.
        assert signed_in(ow.resident).get(response["Location"]).status_code == 404

    def test_proxy_order_without_read_back_is_refused_and_changes_nothing(self, ow):
        client = signed_in(ow.community)
        url = reverse("orders:proxy_order_new", args=[ow.household("A1b")])
        token = token_of(client.get(url).content.decode())
        data = order_form(ow, token, veg=1)
        data.update(payment_method="cash", channel="wechat")
        before = state()

        response = client.post(url, data)

        assert response.status_code == 422
        assert "Read the order back to the household and tick that they confirmed it." in response.content.decode()
        assert state() == before

    def test_community_worker_of_another_community_gets_404_for_the_household(self, ow):
        other = user(Role.COMMUNITY, region=ow.world.regions["B"])
        url = reverse("orders:proxy_order_new", args=[ow.household("A1b")])
        before = state()

        page = signed_in(other).get(url)
        post = signed_in(other).post(
            url,
            {
                **order_form(ow, "form-x", veg=1),
                "payment_method": "cash",
                "channel": "phone",
                "read_back_confirmed": "on",
            },
        )

        assert (page.status_code, post.status_code) == (404, 404)
        assert state() == before

    def test_residents_and_suppliers_cannot_open_proxy_pages(self, ow):
        assert signed_in(ow.resident).get(reverse("orders:proxy")).status_code == 403
        assert signed_in(ow.supplier).get(reverse("orders:proxy")).status_code == 403
        url = reverse("orders:proxy_order_new", args=[ow.household("A1a")])
        assert signed_in(ow.resident).get(url).status_code == 403


# --- supermarkets -----------------------------------------------------------------------------------


def place_online(ow, household="A1a", **quantities):
    actor = ow.resident if household == "A1a" else ow.community
    extra = {} if household == "A1a" else {"channel": "phone", "payment_method": "cash", "read_back_confirmed": True}
    return order_place(
        actor=actor,
        household_id=ow.household(household),
        delivery_date=DAY,
        lines=[LineRequest(offer_line_id=ow.offers[name].pk, quantity=q) for name, q in quantities.items()],
        idempotency_key=new_key(),
        **extra,
    ).order_id


class TestSupplierPages:
    def test_supplier_sees_only_its_purchase_orders(self, ow):
        place_online(ow, veg=1)
        b1 = user(Role.COMMUNITY, region=ow.world.regions["B"])
        order_place(
            actor=b1,
            household_id=ow.household("B1"),
            delivery_date=DAY,
            lines=[LineRequest(offer_line_id=ow.offers["other_veg"].pk, quantity=1)],
            idempotency_key=new_key(),
            channel="phone",
            payment_method="cash",
            read_back_confirmed=True,
        )
        made = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
        mine = next(po for po in made if po.supermarket_id == ow.supermarket.pk)
        theirs = next(po for po in made if po.supermarket_id == ow.other_supermarket.pk)

        html = signed_in(ow.supplier).get(reverse("orders:purchase_order_list")).content.decode()

        assert re.findall(r'data-purchase-order="(\d+)"', html) == [str(mine.pk)]
        assert signed_in(ow.supplier).get(reverse("orders:purchase_order_detail", args=[theirs.pk])).status_code == 404
        assert (
            signed_in(ow.supplier).get(reverse("orders:purchase_order_pick_list", args=[theirs.pk])).status_code == 404
        )

    def test_short_confirm_flows_back_to_the_orders(self, ow):
        first = place_online(ow, veg=1)
        second = place_online(ow, household="A1b", veg=1)
        purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]
        veg = ow.offers["veg"].pk
        client = signed_in(ow.supplier)
        page = client.get(reverse("orders:purchase_order_detail", args=[purchase_order.pk])).content.decode()
        assert f'name="confirmed_{veg}"' in page

        response = client.post(
            reverse("orders:purchase_order_confirm", args=[purchase_order.pk]),
            {f"confirmed_{veg}": "1", f"reason_{veg}": "truck short of cabbage"},
        )

        assert response.status_code == 302
        purchase_order.refresh_from_db()
        assert purchase_order.status == "short_confirmed"
        # The elderly resident's household (A1a) is served first; A1b's order is short and told why.
        assert Order.objects.get(pk=first).status == "confirmed"
        short = Order.objects.get(pk=second)
        assert (short.status, short.reason, short.amount_due) == ("short", "truck short of cabbage", Decimal("0.00"))
        html = signed_in(ow.community).get(reverse("orders:order_detail", args=[second])).content.decode()
        assert "truck short of cabbage" in html

    def test_short_without_reason_is_refused_and_changes_nothing(self, ow):
        place_online(ow, veg=1)
        place_online(ow, household="A1b", veg=1)
        purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]
        veg = ow.offers["veg"].pk
        before = (state(), list(PurchaseOrder.objects.values_list("status", flat=True)))

        response = signed_in(ow.supplier).post(
            reverse("orders:purchase_order_confirm", args=[purchase_order.pk]),
            {f"confirmed_{veg}": "1", f"reason_{veg}": ""},
        )

        assert response.status_code == 422
        assert "Give the reason for the shortage." in response.content.decode()
        assert (state(), list(PurchaseOrder.objects.values_list("status", flat=True))) == before

    def test_other_supplier_cannot_confirm(self, ow):
        place_online(ow, veg=1)
        purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]

        response = signed_in(ow.other_supplier).post(
            reverse("orders:purchase_order_confirm", args=[purchase_order.pk]), {}
        )

        assert response.status_code == 404
        assert PurchaseOrder.objects.get().status == "open"

    def test_supplier_marks_picked_then_loaded(self, ow):
        order_id = place_online(ow, veg=1)
        purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]
        client = signed_in(ow.supplier)
        client.post(reverse("orders:purchase_order_confirm", args=[purchase_order.pk]), {})

        picked = client.post(reverse("orders:order_step", args=[order_id, "pick"]))
        loaded = client.post(reverse("orders:order_step", args=[order_id, "load"]))
        again = client.post(reverse("orders:order_step", args=[order_id, "load"]))
        unknown = client.post(reverse("orders:order_step", args=[order_id, "deliver"]))

        assert picked["Location"] == reverse("orders:purchase_order_detail", args=[purchase_order.pk])
        assert loaded.status_code == 302
        assert (again.status_code, unknown.status_code) == (409, 404)
        assert list(OrderEvent.objects.filter(order_id=order_id).values_list("to_status", flat=True)) == [
            "placed",
            "confirmed",
            "picked",
            "loaded",
        ]
        assert signed_in(ow.resident).post(reverse("orders:order_step", args=[order_id, "pick"])).status_code == 403


# --- pairings -----------------------------------------------------------------------------------------


class TestPairing:
    def test_subdistrict_changes_a_compounds_pairing(self, ow):
        subdistrict = ow.world.users[Role.SUBDISTRICT]
        client = signed_in(subdistrict)
        listing = client.get(reverse("orders:pairing_list")).content.decode()
        assert re.findall(r'data-compound="(\d+)"', listing) == [
            str(ow.world.regions["A1"].pk),
            str(ow.world.regions["A2"].pk),
        ]

        response = client.post(
            reverse("orders:pairing_edit", args=[ow.world.regions["A2"].pk]),
            {"supermarket": ow.other_supermarket.pk, "backup": ow.supermarket.pk},
        )

        assert response["Location"] == reverse("orders:pairing_list")
        pairing = CompoundPairing.objects.get(compound=ow.world.regions["A2"])
        assert (pairing.supermarket_id, pairing.backup_id) == (ow.other_supermarket.pk, ow.supermarket.pk)
        assert AuditLog.objects.filter(action="pairing.set", target_id=str(ow.world.regions["A2"].pk)).count() == 1

    def test_same_backup_is_refused_and_changes_nothing(self, ow):
        client = signed_in(ow.world.users[Role.SUBDISTRICT])

        response = client.post(
            reverse("orders:pairing_edit", args=[ow.world.regions["A2"].pk]),
            {"supermarket": ow.supermarket.pk, "backup": ow.supermarket.pk},
        )

        assert response.status_code == 422
        assert "The backup must be a different supermarket." in response.content.decode()
        pairing = CompoundPairing.objects.get(compound=ow.world.regions["A2"])
        assert (pairing.supermarket_id, pairing.backup_id) == (ow.supermarket.pk, None)

    def test_out_of_scope_compound_is_404_and_community_workers_may_not_pair(self, ow):
        client = signed_in(ow.world.users[Role.SUBDISTRICT])
        assert client.get(reverse("orders:pairing_edit", args=[ow.world.regions["B1"].pk])).status_code == 404
        assert signed_in(ow.community).get(reverse("orders:pairing_list")).status_code == 403


# --- the whole journey ----------------------------------------------------------------------------------


def test_resident_and_proxy_orders_reach_the_supermarkets_pick_list(ow):
    seal(ow)
    Household.objects.filter(pk=ow.household("A1b")).update(can_order_online=False)
    resident = signed_in(ow.resident)
    token = token_of(resident.get(reverse("orders:order_new")).content.decode())
    resident.post(reverse("orders:order_new"), order_form(ow, token, veg=1, rice=2))
    community = signed_in(ow.community)
    proxy_url = reverse("orders:proxy_order_new", args=[ow.household("A1b")])
    token = token_of(community.get(proxy_url).content.decode())
    proxy = order_form(ow, token, veg2=1)
    proxy.update(payment_method="free", channel="hotline", read_back_confirmed="on")
    community.post(proxy_url, proxy)
    resident_order, proxy_order = Order.objects.order_by("id")

    purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0]
    pick_list = signed_in(ow.supplier).get(reverse("orders:purchase_order_pick_list", args=[purchase_order.pk]))

    html = pick_list.content.decode()
    assert pick_list.status_code == 200
    assert '<section class="pick-building" data-building="A1 1号楼">' in html
    assert "<tr><td>Rice</td><td>2</td></tr>" in html
    assert "<tr><td>Package VEG-A</td><td>1</td></tr>" in html
    assert "<tr><td>Package VEG-B</td><td>1</td></tr>" in html
    assert f'<li data-order="{resident_order.pk}"><strong>A1 1单元 101</strong>' in html
    assert f'<li data-order="{proxy_order.pk}"><strong>A1 1单元 102</strong>' in html
    assert "Rice × 2; Package VEG-A × 1" in html or "Package VEG-A × 1; Rice × 2" in html
    assert "赵" not in html
    assert "13900000011" not in html


# --- query counts of the pages people reload all morning ------------------------------------------------


def test_order_page_queries_do_not_grow_with_offers_or_orders(ow, django_assert_num_queries):
    client = signed_in(ow.resident)
    for _ in range(3):
        token = token_of(client.get(reverse("orders:order_new")).content.decode())
        client.post(reverse("orders:order_new"), order_form(ow, token, rice=1))
        HouseholdQuota.objects.all().delete()

    with django_assert_num_queries(QUERIES_ORDER_PAGE):
        response = client.get(reverse("orders:order_new"))

    assert len(re.findall(r"<li data-order=", response.content.decode())) == 3


def test_proxy_find_queries_do_not_grow_with_households(ow, django_assert_num_queries):
    client = signed_in(ow.community)

    with django_assert_num_queries(QUERIES_PROXY_FIND):
        response = client.get(reverse("orders:proxy"), headers={"HX-Request": "true"})

    assert len(re.findall(r"<li data-household=", response.content.decode())) == 3
