from datetime import date

import pytest

from baogong.accounts.models import Role
from baogong.catalog.tests.factories import commodity
from baogong.core.tests.world import build_world
from baogong.stock.services import stock_issue, stock_receive

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def rice():
    return commodity(code="RICE10", name_zh="大米", name_en="Rice", unit="bag 10 kg")


@pytest.fixture
def community_client(client, world):
    client.force_login(world.users[Role.COMMUNITY])
    return client


@pytest.mark.parametrize(
    "url", ["/api/stock/points", "/api/stock/points/1", "/api/stock/points/1/balances", "/api/stock/points/1/movements"]
)
def test_unauthenticated_calls_answer_401(client, url):
    response = client.get(url, **EN)

    assert (response.status_code, response.json()) == (401, {"code": "not_authenticated", "message": "Sign in first."})


def test_points_list_is_ordered_by_code_and_paged(community_client, world):
    body = community_client.get("/api/stock/points", {"limit": 1, "offset": 1}).json()

    expected = sorted([world.points["A"], world.points["S"]], key=lambda p: p.code)
    assert (body["count"], body["limit"], body["offset"]) == (2, 1, 1)
    assert [item["id"] for item in body["items"]] == [expected[1].pk]


def test_point_detail(community_client, world):
    point = world.points["S"]

    body = community_client.get(f"/api/stock/points/{point.pk}").json()

    assert body == {
        "id": point.pk,
        "code": point.code,
        "name": "E mart A1",
        "kind": "supermarket",
        "region_id": world.regions["A1"].pk,
        "region_name": "A1 小区",
        "organisation_id": world.organisations["E"].pk,
        "latitude": None,
        "longitude": None,
        "is_active": True,
    }


def test_point_balances_list_lots_with_stock(community_client, world, rice):
    point = world.points["A"]
    stock_receive(
        actor=None, point=point, commodity=rice, quantity=40, reason="delivery", lot="L1", expires_on=date(2027, 1, 31)
    )
    stock_receive(actor=None, point=point, commodity=rice, quantity=5, reason="delivery", lot="L2")
    stock_issue(actor=None, point=point, commodity=rice, quantity=5, reason="relief", lot="L2")

    rows = community_client.get(f"/api/stock/points/{point.pk}/balances", HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    # The emptied lot L2 is not listed.
    assert [
        (
            row["commodity_id"],
            row["commodity_code"],
            row["commodity_name"],
            row["commodity_unit"],
            row["lot"],
            row["expires_on"],
            row["on_hand"],
        )
        for row in rows
    ] == [(rice.pk, "RICE10", "大米", "bag 10 kg", "L1", "2027-01-31", 40)]


def test_point_movements_are_newest_first_and_paged(community_client, world, rice):
    point = world.points["A"]
    actor = world.users[Role.COMMUNITY]
    first = stock_receive(actor=actor, point=point, commodity=rice, quantity=10, reason="delivery", reference="PO-1")
    [second] = stock_issue(actor=None, point=point, commodity=rice, quantity=3, reason="relief")
    third = stock_receive(actor=None, point=point, commodity=rice, quantity=1, reason="delivery")

    page_one = community_client.get(f"/api/stock/points/{point.pk}/movements", {"limit": 2}).json()
    page_two = community_client.get(f"/api/stock/points/{point.pk}/movements", {"limit": 2, "offset": 2}).json()

    assert (page_one["count"], [m["id"] for m in page_one["items"]]) == (3, [third.pk, second.pk])
    assert page_two["items"] == [
        {
            "id": first.pk,
            "created_at": page_two["items"][0]["created_at"],
            "commodity_id": rice.pk,
            "commodity_code": "RICE10",
            "lot": "",
            "expires_on": None,
            "kind": "receipt",
            "quantity": 10,
            "balance_after": 10,
            "transfer_group": None,
            "counterparty_id": None,
            "actor_id": actor.pk,
            "reason": "delivery",
            "reference": "PO-1",
        }
    ]
    assert second.quantity == -3
    assert [m["quantity"] for m in page_one["items"]] == [1, -3]


@pytest.mark.parametrize("suffix", ["", "/balances", "/movements"])
def test_point_outside_scope_answers_404(community_client, world, suffix):
    response = community_client.get(f"/api/stock/points/{world.points['B'].pk}{suffix}", **EN)

    assert (response.status_code, response.json()) == (404, {"code": "not_found", "message": "Not found."})


def test_supplier_sees_only_its_organisations_points(client, world):
    client.force_login(world.users[Role.SUPPLIER])

    items = client.get("/api/stock/points").json()["items"]

    assert [item["id"] for item in items] == [world.points["S"].pk]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/stock/points?limit=201", "limit"),
        ("/api/stock/points/0", "point_id"),
        ("/api/stock/points/x/balances", "point_id"),
        ("/api/stock/points/1/movements?offset=1000000001", "offset"),
    ],
)
def test_invalid_input_answers_422_naming_the_field(community_client, url, field):
    response = community_client.get(url, **EN)

    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        422,
        "validation_failed",
        field,
    )


def test_movements_query_count_does_not_grow_with_rows(community_client, world, rice, django_assert_num_queries):
    point = world.points["A"]
    for _ in range(5):
        stock_receive(actor=None, point=point, commodity=rice, quantity=1, reason="delivery")

    # session with its account, the account's region (scope), the point, count, page.
    with django_assert_num_queries(5):
        response = community_client.get(f"/api/stock/points/{point.pk}/movements")

    assert response.json()["count"] == 5


def test_points_list_query_count(community_client, django_assert_num_queries):
    # session with its account, the account's region (scope), count, page.
    with django_assert_num_queries(4):
        community_client.get("/api/stock/points")
