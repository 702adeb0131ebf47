"""Stock point list and stock point page through the test client."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.core.tests.page_data import County, build_county
from baogong.enterprises.models import Organisation, OrganisationKind
from baogong.stock.models import StockMovement
from baogong.stock.services import stock_receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def county() -> County:
    return build_county()


def signed_in(account: User, *, language: str = "en") -> Client:
    client = Client()
    client.force_login(account)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def detail_url(point_id: int) -> str:
    return reverse("stock:stock_point_detail", args=[point_id])


def cells(html: str, attribute: str, value: object) -> list[str]:
    match = re.search(rf'<tr data-{attribute}="{value}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={value}"
    return [
        " ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
    ]


class TestStockPointList:
    def test_command_sees_every_point(self, county: County) -> None:
        html = signed_in(county.command).get(reverse("stock:stock_point_list")).content.decode()
        for point in (county.county_depot, county.depot_a, county.depot_b):
            assert f'data-point="{point.pk}"' in html

    def test_subdistrict_sees_its_points_only(self, county: County) -> None:
        account = user(Role.SUBDISTRICT, region=county.a.subdistrict)
        html = signed_in(account).get(reverse("stock:stock_point_list")).content.decode()
        assert f'data-point="{county.depot_a.pk}"' in html
        assert f'data-point="{county.depot_b.pk}"' not in html
        assert f'data-point="{county.county_depot.pk}"' not in html

    def test_supplier_sees_what_it_operates(self, county: County) -> None:
        shop = Organisation.objects.create(
            kind=OrganisationKind.ENTERPRISE,
            enterprise_type="supermarket",
            code="E1",
            name="Shop",
            region=county.a.county,
        )
        county.depot_b.organisation = shop
        county.depot_b.save()
        account = user(Role.SUPPLIER, organisation=shop)
        html = signed_in(account).get(reverse("stock:stock_point_list")).content.decode()
        assert html.count("data-point=") == 1
        assert f'data-point="{county.depot_b.pk}"' in html

    def test_resident_sees_none(self, county: County) -> None:
        account = user(Role.RESIDENT, household=county.household_a1)
        html = signed_in(account).get(reverse("stock:stock_point_list")).content.decode()
        assert "No stock points in your area." in html


class TestStockPointPage:
    def test_balances_and_ledger_newest_first(self, county: County) -> None:
        html = signed_in(county.command).get(detail_url(county.county_depot.pk)).content.decode()
        balance = county.county_depot.balances.get(commodity=county.rice)
        assert cells(html, "balance", balance.pk) == [
            f"{county.rice.name_en} rice",
            "L1",
            "2030-01-31",
            "100 bag 10 kg",
        ]
        movements = list(StockMovement.objects.filter(point=county.county_depot).order_by("-created_at", "-id"))
        positions = [html.index(f'data-movement="{m.pk}"') for m in movements]
        assert positions == sorted(positions)
        issue = next(m for m in movements if m.kind == "issue")
        local = issue.created_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
        assert cells(html, "movement", issue.pk) == [
            local.strftime("%Y-%m-%d %H:%M"),
            "issue",
            f"{county.rice.name_en} L1",
            "−20",
            "100",
            county.command.username,
            "relief kits",
        ]

    def test_ledger_paginates_by_50(self, county: County) -> None:
        for i in range(55):
            stock_receive(actor=county.command, point=county.depot_b, commodity=county.rice, quantity=1, reason=f"r{i}")
        client = signed_in(county.command)
        first = client.get(detail_url(county.depot_b.pk)).content.decode()
        second = client.get(detail_url(county.depot_b.pk), {"page": 2}).content.decode()
        assert first.count("data-movement=") == 50
        assert second.count("data-movement=") == 5
        assert ">r54</td>" in first
        assert ">r0</td>" in second

    def test_point_outside_scope_is_not_found(self, county: County) -> None:
        account = user(Role.COMMUNITY, region=county.a.community)
        client = signed_in(account)
        assert client.get(detail_url(county.depot_a.pk)).status_code == 404
        response = client.get(detail_url(county.depot_b.pk))
        assert response.status_code == 404
        assert "Depot B" not in response.content.decode()

    def test_chinese_labels_by_default(self, county: County) -> None:
        html = signed_in(county.command, language="zh-hans").get(detail_url(county.county_depot.pk)).content.decode()
        assert "台账" in html
        assert county.rice.name_zh in html
        assert "出库" in html
