"""The demo county as a reviewer checks it: every demo login sees only its own scope."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

from baogong.accounts.models import User
from baogong.regions.models import Household, Region
from baogong.stock.models import StockPoint

PASSWORD = "baogong-demo"
PHONE = re.compile(r"1[3-9]\d{9}")

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(capsys):
    call_command("demo_setup", "--seed", "1")
    capsys.readouterr()


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD), username
    return client


def households_seen(client: Client) -> set[int]:
    seen: set[int] = set()
    offset = 0
    while True:
        page = client.get("/api/households", {"limit": 200, "offset": offset}).json()
        seen |= {row["id"] for row in page["items"]}
        offset += 200
        if offset >= page["count"]:
            return seen


def in_subtree(region: Region) -> set[int]:
    return set(Household.objects.filter(unit__path__startswith=region.path).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "username", ["command", "department", "subdistrict", "community", "supplier", "volunteer", "checkpoint", "resident"]
)
def test_every_demo_login_reaches_its_home_page(demo, username):
    response = signed_in(username).get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain, "home should send each role to its own page"


def test_household_visibility_follows_each_scope(demo):
    accounts = {
        u.username: u
        for u in User.objects.filter(username__in=["command", "subdistrict", "community", "volunteer", "resident"])
    }
    everything = set(Household.objects.values_list("pk", flat=True))
    assert households_seen(signed_in("command")) == everything
    assert households_seen(signed_in("subdistrict")) == in_subtree(accounts["subdistrict"].region)
    assert households_seen(signed_in("community")) == in_subtree(accounts["community"].region)
    assert households_seen(signed_in("volunteer")) == in_subtree(accounts["volunteer"].region)
    assert households_seen(signed_in("resident")) == {accounts["resident"].household_id}
    for role in ("supplier", "checkpoint"):
        assert households_seen(signed_in(role)) == set()
    assert (
        len(in_subtree(accounts["community"].region))
        < len(in_subtree(accounts["subdistrict"].region))
        < len(everything)
    )


def test_other_communitys_household_is_not_found_on_pages_and_api(demo):
    community = User.objects.get(username="community").region
    outside = Household.objects.exclude(unit__path__startswith=community.path).order_by("pk").first()
    client = signed_in("community")
    assert client.get(f"/regions/households/{outside.pk}/").status_code == 404
    assert client.get(f"/api/households/{outside.pk}").status_code == 404
    assert client.get(f"/regions/{outside.compound_id}/").status_code == 404


def test_supplier_sees_only_its_own_stock_points(demo):
    supplier = User.objects.get(username="supplier")
    own = set(StockPoint.objects.filter(organisation=supplier.organisation).values_list("pk", flat=True))
    page = signed_in("supplier").get("/api/stock/points", {"limit": 200}).json()
    assert own
    assert {row["id"] for row in page["items"]} == own


def test_no_full_phone_number_in_masked_lists(demo):
    for username in ("command", "department", "community", "volunteer"):
        body = signed_in(username).get("/api/households", {"limit": 200}).content.decode()
        assert PHONE.search(body) is None, username


def test_demo_residents_have_something_to_order(demo):
    from baogong.orders.models import OfferLine

    client = signed_in("resident")
    client.cookies["django_language"] = "en"
    html = client.get("/orders/").content.decode()
    assert OfferLine.objects.count() == 48
    assert "Standard vegetable package (5.5 kg, 6 kinds)" in html
