"""The ordering API: status codes, idempotency over HTTP, scoping, and bad input that changes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC

import pytest

from baogong.accounts.models import Role
from baogong.orders.models import HouseholdQuota, IdempotencyKey, OfferLine, Order, PurchaseOrder
from baogong.orders.services import purchase_orders_consolidate
from baogong.orders.tests.factories import AFTER_CUTOFF, DAY, NOW, build_ordering_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def ow(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return build_ordering_world()


def signed_in(client, account):
    client.force_login(account)
    return client


def post_order(client, body, key="auto"):
    headers = {} if key is None else {"Idempotency-Key": str(uuid.uuid4()) if key == "auto" else key}
    return client.post("/api/orders", data=json.dumps(body), content_type="application/json", headers=headers)


def body_for(ow, *lines, **extra):
    return {
        "delivery_date": DAY.isoformat(),
        "lines": [{"offer_line_id": ow.offers[name].pk, "quantity": quantity} for name, quantity in lines],
        **extra,
    }


def state():
    return (
        Order.objects.count(),
        IdempotencyKey.objects.count(),
        sorted(HouseholdQuota.objects.values_list("key", "taken")),
        sorted(OfferLine.objects.values_list("pk", "reserved")),
    )


def test_resident_sees_the_offers_of_their_supermarket(client, ow):
    response = signed_in(client, ow.resident).get("/api/offers")

    assert response.status_code == 200
    data = response.json()
    assert (data["supermarket_id"], data["delivery_date"], data["window"]["is_open"], data["delivery_mode"]) == (
        ow.supermarket.pk,
        "2030-04-12",
        True,
        "door",
    )
    assert [(line["id"], line["price"], line["available"]) for line in data["lines"]] == [
        (ow.offers["rice"].pk, "55.50", 20),
        (ow.offers["veg"].pk, "38.00", 30),
        (ow.offers["veg2"].pk, "45.00", 30),
        (ow.offers["relief"].pk, "60.00", 10),
    ]


def test_place_then_retry_returns_the_same_response(client, ow):
    signed_in(client, ow.resident)
    key = str(uuid.uuid4())

    first = post_order(client, body_for(ow, ("veg", 1), ("rice", 1)), key=key)
    retry = post_order(client, body_for(ow, ("veg", 1), ("rice", 1)), key=key)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content
    assert first.json()["total"] == "93.50"
    assert Order.objects.count() == 1
    detail = client.get(f"/api/orders/{first.json()['id']}")
    assert (detail.status_code, detail.json()["status"]) == (200, "placed")
    listed = client.get("/api/orders")
    assert [item["id"] for item in listed.json()["items"]] == [first.json()["id"]]


def test_first_answer_is_byte_for_byte_what_the_schema_renders(client, ow, monkeypatch):
    # The first answer is the JSON text stored with the key, not rendered through OrderOut; a
    # retry and a later read are rendered. A time with microseconds is where they would part.
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW.replace(microsecond=123456))
    signed_in(client, ow.resident)
    key = str(uuid.uuid4())

    first = post_order(client, body_for(ow, ("veg", 1), ("rice", 1)), key=key)
    retry = post_order(client, body_for(ow, ("veg", 1), ("rice", 1)), key=key)
    detail = client.get(f"/api/orders/{first.json()['id']}")

    assert (first.status_code, retry.status_code, detail.status_code) == (201, 201, 200)
    assert first.content == retry.content == detail.content
    assert first["Content-Type"] == retry["Content-Type"] == detail["Content-Type"] == "application/json; charset=utf-8"
    assert first.json()["created_at"] == f"{NOW.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.123Z"
    assert [line["amount"] for line in first.json()["lines"]] == ["38.00", "55.50"]


@pytest.mark.parametrize(("language", "names"), [("zh-hans", ["套餐VEG-A", "大米"]), ("en", ["Package VEG-A", "Rice"])])
def test_answer_names_the_kit_and_the_goods_in_the_request_language(client, ow, language, names):
    signed_in(client, ow.resident)
    body = body_for(ow, ("veg", 1), ("rice", 2))
    key = str(uuid.uuid4())

    first = client.post(
        "/api/orders",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Idempotency-Key": key, "Accept-Language": language},
    )
    detail = client.get(f"/api/orders/{first.json()['id']}", headers={"Accept-Language": language})

    assert first.status_code == 201
    assert [(line["name"], line["kind"], line["quantity"]) for line in first.json()["lines"]] == [
        (names[0], "package", 1),
        (names[1], "item", 2),
    ]
    assert first.content == detail.content
    # The package counts against the household's cap for its kind of kit, the item against its line.
    assert sorted(HouseholdQuota.objects.values_list("key", "taken")) == [
        ("kit:vegetable_package", 1),
        (f"offer:{ow.offers['rice'].pk}", 2),
    ]


def test_same_key_different_body_is_422_and_changes_nothing(client, ow):
    signed_in(client, ow.resident)
    post_order(client, body_for(ow, ("veg", 1)), key="order-1")
    before = state()

    response = post_order(client, body_for(ow, ("veg", 1), ("rice", 1)), key="order-1")

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("idempotency_key_reused", "Idempotency-Key")
    assert state() == before


def test_missing_key_is_400_with_a_clear_message(client, ow):
    signed_in(client, ow.resident)
    before = state()

    response = post_order(client, body_for(ow, ("veg", 1)), key=None)

    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in response.json()["message"]
    assert state() == before


@pytest.mark.parametrize(
    ("lines", "status", "field"),
    [
        ([{"offer_line_id": 999999, "quantity": 1}], 422, "lines[0].offer_line_id"),
        ([{"offer_line_id": "veg", "quantity": -1}], 422, "lines[0].quantity"),
        (
            [{"offer_line_id": "veg", "quantity": 1}, {"offer_line_id": "rice", "quantity": 10**15}],
            422,
            "lines[1].quantity",
        ),
        ([{"offer_line_id": "veg", "quantity": 1}, {"offer_line_id": "rice", "quantity": 3}], 409, "lines[1].quantity"),
        ([], 422, "lines"),
    ],
)
def test_bad_lines_get_a_clear_4xx_and_change_nothing(client, ow, lines, status, field):
    signed_in(client, ow.resident)
    for line in lines:
        if isinstance(line["offer_line_id"], str):
            line["offer_line_id"] = ow.offers[line["offer_line_id"]].pk
    before = state()

    response = post_order(client, {"delivery_date": DAY.isoformat(), "lines": lines})

    assert (response.status_code, response.json()["field"]) == (status, field)
    assert state() == before


def test_closed_window_is_409_and_changes_nothing(client, ow, monkeypatch):
    signed_in(client, ow.resident)
    monkeypatch.setattr("django.utils.timezone.now", lambda: AFTER_CUTOFF)
    before = state()

    response = post_order(client, body_for(ow, ("veg", 1)))

    assert (response.status_code, response.json()["field"]) == (409, "delivery_date")
    assert "16:00" in response.json()["message"]
    assert state() == before


def test_proxy_order_for_a_household_in_scope_and_404_outside(client, ow):
    signed_in(client, ow.community)
    proxy = {"channel": "phone", "read_back_confirmed": True, "payment_method": "cash"}
    before = state()

    outside = post_order(client, body_for(ow, ("veg", 1), household_id=ow.household("B1"), **proxy))
    assert (outside.status_code, outside.json()["field"]) == (404, "household_id")
    assert state() == before
    no_household = post_order(client, body_for(ow, ("veg", 1), **proxy))
    assert (no_household.status_code, no_household.json()["field"]) == (422, "household_id")

    placed = post_order(client, body_for(ow, ("veg", 1), household_id=ow.household("A2"), **proxy))

    assert placed.status_code == 201
    data = placed.json()
    assert (data["household_id"], data["placed_by_id"], data["is_proxy"], data["payment_status"]) == (
        ow.household("A2"),
        ow.community.pk,
        True,
        "due",
    )


def test_other_roles_cannot_order(client, ow):
    signed_in(client, ow.supplier)

    response = post_order(client, body_for(ow, ("veg", 1), household_id=ow.household("A1a")))

    assert response.status_code == 403
    assert Order.objects.count() == 0


def test_cancel_over_the_api(client, ow):
    signed_in(client, ow.resident)
    order_id = post_order(client, body_for(ow, ("veg", 1))).json()["id"]

    response = client.post(
        f"/api/orders/{order_id}/cancel", data={"reason": "not needed"}, content_type="application/json"
    )
    again = client.post(
        f"/api/orders/{order_id}/cancel", data={"reason": "not needed"}, content_type="application/json"
    )

    assert (response.status_code, response.json()["status"], response.json()["payment_status"]) == (
        200,
        "cancelled",
        "refunded",
    )
    assert again.status_code == 409
    assert OfferLine.objects.get(pk=ow.offers["veg"].pk).reserved == 0


def test_resident_cannot_read_or_cancel_a_neighbours_order(client, ow):
    signed_in(client, ow.community)
    neighbour = post_order(
        client, body_for(ow, ("veg", 1), household_id=ow.household("A1b"), channel="phone", read_back_confirmed=True)
    ).json()["id"]
    client.logout()
    signed_in(client, ow.resident)

    assert client.get(f"/api/orders/{neighbour}").status_code == 404
    cancel = client.post(f"/api/orders/{neighbour}/cancel", data={"reason": "x"}, content_type="application/json")
    assert cancel.status_code == 404
    assert Order.objects.get(pk=neighbour).status == "placed"


def test_supplier_lists_and_short_confirms_its_purchase_orders(client, ow):
    signed_in(client, ow.resident)
    order_id = post_order(client, body_for(ow, ("veg", 1), ("rice", 2))).json()["id"]
    purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)
    purchase_order = PurchaseOrder.objects.get()
    client.logout()

    other = signed_in(client, ow.other_supplier)
    assert other.get("/api/purchase-orders").json()["count"] == 0
    assert other.get(f"/api/purchase-orders/{purchase_order.pk}").status_code == 404
    client.logout()
    signed_in(client, ow.supplier)
    listed = client.get("/api/purchase-orders")
    detail = client.get(f"/api/purchase-orders/{purchase_order.pk}")
    bad = client.post(
        f"/api/purchase-orders/{purchase_order.pk}/confirm",
        content_type="application/json",
        data={"shortages": [{"offer_line_id": ow.offers["rice"].pk, "confirmed_quantity": 5, "reason": "x"}]},
    )
    confirmed = client.post(
        f"/api/purchase-orders/{purchase_order.pk}/confirm",
        content_type="application/json",
        data={
            "shortages": [{"offer_line_id": ow.offers["rice"].pk, "confirmed_quantity": 1, "reason": "supplier short"}]
        },
    )

    assert [item["id"] for item in listed.json()["items"]] == [purchase_order.pk]
    assert [(b["building_name"], b["quantity"]) for b in detail.json()["buildings"]] == [
        ("A1 1号楼", 1),
        ("A1 1号楼", 2),
    ]
    assert (bad.status_code, bad.json()["field"]) == (422, "shortages[0].confirmed_quantity")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "short_confirmed"
    assert [(line["quantity"], line["confirmed_quantity"]) for line in confirmed.json()["lines"]] == [(2, 1), (1, 1)]
    order = Order.objects.get(pk=order_id)
    assert (order.status, order.is_partial, str(order.amount_due)) == ("confirmed", True, "93.50")


def test_unauthenticated_calls_are_401(client, ow):
    assert client.get("/api/offers").status_code == 401
    assert post_order(client, body_for(ow, ("veg", 1))).status_code == 401
    assert Order.objects.count() == 0


def test_openapi_declares_the_order_statuses(client, ow):
    document = client.get("/api/openapi.json").json()

    place = document["paths"]["/api/orders"]["post"]["responses"]
    assert set(place) == {"201", "400", "401", "403", "404", "409", "422"}
    headers = [p["name"] for p in document["paths"]["/api/orders"]["post"]["parameters"]]
    assert headers == ["Idempotency-Key"]
    assert Role.SUPPLIER  # the supplier endpoints exist
    assert "/api/purchase-orders/{purchase_order_id}/confirm" in document["paths"]
