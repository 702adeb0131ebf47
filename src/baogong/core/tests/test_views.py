"""Entry pages through the test client: landing redirects, login, dashboard, errors, language."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.core.tests.page_data import PASSWORD, County, build_county
from baogong.enterprises.models import Organisation, OrganisationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def county() -> County:
    return build_county()


def signed_in(account: User, *, language: str | None = None) -> Client:
    client = Client()
    client.force_login(account)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def row_cells(html: str, attribute: str, value: str) -> list[str]:
    """Text of the cells of the table row marked data-<attribute>="<value>"."""
    match = re.search(rf'<tr data-{attribute}="{value}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={value}"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)]


class TestHome:
    def test_anonymous_is_sent_to_login(self, client: Client) -> None:
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next=/"

    @pytest.mark.parametrize("role", [Role.COMMAND, Role.SUBDISTRICT, Role.CHECKPOINT])
    def test_region_roles_land_on_dashboard(self, county: County, role: str) -> None:
        account = user(role, region=county.a.subdistrict)
        response = signed_in(account).get(reverse("home"))
        assert response["Location"] == reverse("dashboard")

    def test_superuser_lands_on_dashboard(self, county: County) -> None:
        admin = User.objects.create_superuser("root", password=PASSWORD)
        assert signed_in(admin).get(reverse("home"))["Location"] == reverse("dashboard")

    @pytest.mark.parametrize("role", [Role.COMMUNITY, Role.VOLUNTEER])
    def test_community_and_volunteer_land_on_their_region(self, county: County, role: str) -> None:
        account = user(role, region=county.a.community)
        response = signed_in(account).get(reverse("home"))
        assert response["Location"] == reverse("regions:region_detail", args=[county.a.community.pk])

    def test_supplier_lands_on_stock_points(self, county: County) -> None:
        shop = Organisation.objects.create(
            kind=OrganisationKind.ENTERPRISE,
            enterprise_type="supermarket",
            code="E1",
            name="Shop",
            region=county.a.county,
        )
        account = user(Role.SUPPLIER, organisation=shop)
        assert signed_in(account).get(reverse("home"))["Location"] == reverse("stock:stock_point_list")

    def test_resident_lands_on_their_household(self, county: County) -> None:
        account = user(Role.RESIDENT, household=county.household_a1)
        response = signed_in(account).get(reverse("home"))
        assert response["Location"] == reverse("regions:household_detail", args=[county.household_a1.pk])


class TestLogin:
    def test_login_page_offers_both_languages(self, client: Client) -> None:
        response = client.get(reverse("login"))
        html = response.content.decode()
        assert response.status_code == 200
        assert '<html lang="zh-hans"' in html
        assert "登录" in html
        assert 'name="language" value="en"' in html
        assert 'name="language" value="zh-hans"' in html

    def test_login_then_redirect_home(self, county: County, client: Client) -> None:
        response = client.post(reverse("login"), {"username": county.command.username, "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == reverse("home")

    def test_wrong_password_stays_on_page(self, county: County, client: Client) -> None:
        response = client.post(reverse("login"), {"username": county.command.username, "password": "nope"})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session

    def test_logout_is_a_post(self, county: County) -> None:
        client = signed_in(county.command)
        response = client.post(reverse("logout"))
        assert response.status_code == 302
        assert "_auth_user_id" not in client.session


class TestDashboard:
    def test_command_sees_whole_county(self, county: County) -> None:
        html = signed_in(county.command, language="en").get(reverse("dashboard")).content.decode()
        assert "2 compounds, 3 households, 12 residents" in html
        assert row_cells(html, "status", "sealed") == ["sealed (封控)", "1", "2", "7"]
        assert row_cells(html, "status", "controlled") == ["controlled (管控)", "0", "0", "0"]
        assert row_cells(html, "status", "normal") == ["normal", "1", "1", "5"]
        # Rice: 100 + 10 bags of 10 kg = 1,100 kg; 1,100 / (12 x 0.15) = 611.1 days.
        assert row_cells(html, "category", "rice") == ["rice", "110", "1.10 t", "611.1 days", "≥ 100 d"]
        assert row_cells(html, "category", "protective_medical") == [
            "protective and medical supplies",
            "40",
            "0.02 t",
            "—",
            "—",
        ]
        assert row_cells(html, "region", str(county.a.subdistrict.pk))[2:] == ["2", "7"]
        assert row_cells(html, "region", str(county.b.subdistrict.pk))[2:] == ["1", "5"]

    def test_subdistrict_sees_only_its_subdistrict(self, county: County) -> None:
        account = user(Role.SUBDISTRICT, region=county.a.subdistrict)
        html = signed_in(account, language="en").get(reverse("dashboard")).content.decode()
        assert "1 compound, 2 households, 7 residents" in html
        assert row_cells(html, "status", "normal") == ["normal", "0", "0", "0"]
        # Only depot A: 10 bags = 100 kg; 100 / (7 x 0.15) = 95.2 days.
        assert row_cells(html, "category", "rice") == ["rice", "10", "0.10 t", "95.2 days", "below 100 d"]
        assert 'data-category="protective_medical"' not in html
        assert row_cells(html, "region", str(county.a.community.pk))[2:] == ["2", "7"]
        assert f'data-region="{county.b.subdistrict.pk}"' not in html
        assert county.b.subdistrict.name not in html

    def test_chinese_by_default(self, county: County) -> None:
        html = signed_in(county.command).get(reverse("dashboard")).content.decode()
        assert '<html lang="zh-hans"' in html
        assert "按管控状态统计小区" in html
        assert row_cells(html, "category", "rice") == ["大米", "110", "1.10 t", "611.1 天", "≥ 100 天"]

    def test_english_from_accept_language(self, county: County) -> None:
        client = Client(headers={"accept-language": "en"})
        client.force_login(county.command)
        html = client.get(reverse("dashboard")).content.decode()
        assert '<html lang="en"' in html
        assert "Compounds by zone status" in html

    def test_checkpoint_sees_restricted_compounds_only(self, county: County) -> None:
        account = user(Role.CHECKPOINT, region=county.a.county)
        html = signed_in(account, language="en").get(reverse("dashboard")).content.decode()
        assert county.a.compound.name in html
        assert county.b.compound.name not in html
        assert "Stock on hand" not in html

    def test_resident_gets_no_overview(self, county: County) -> None:
        account = user(Role.RESIDENT, household=county.household_a1)
        html = signed_in(account, language="en").get(reverse("dashboard")).content.decode()
        assert "There is no overview for your account." in html
        assert "Stock on hand" not in html


class TestLanguageSwitch:
    def test_set_language_sets_cookie_and_returns(self, county: County) -> None:
        client = signed_in(county.command)
        response = client.post(reverse("set_language"), {"language": "en", "next": reverse("dashboard")})
        assert response.status_code == 302
        assert response["Location"] == reverse("dashboard")
        assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
        assert "Overview" in client.get(reverse("dashboard")).content.decode()


class TestErrorPages:
    def test_unknown_address_renders_the_404_page(self, county: County) -> None:
        response = signed_in(county.command, language="en").get("/no-such-page/")
        html = response.content.decode()
        assert response.status_code == 404
        assert "This page does not exist or is outside your area." in html
        assert 'action="/logout/"' in html


class TestNavigation:
    def test_links_depend_on_role(self, county: County) -> None:
        community = user(Role.COMMUNITY, region=county.a.community)
        html = signed_in(community, language="en").get(reverse("stock:stock_point_list")).content.decode()
        nav = html.split("</nav>")[0]
        assert reverse("regions:region_detail", args=[county.a.community.pk]) in nav
        assert reverse("stock:stock_point_list") in nav
        assert reverse("dashboard") not in nav
        assert 'action="/logout/"' in nav

    def test_resident_nav_has_household_only(self, county: County) -> None:
        resident = user(Role.RESIDENT, household=county.household_a1)
        html = signed_in(resident, language="en").get(reverse("home"), follow=True).content.decode()
        nav = html.split("</nav>")[0]
        assert reverse("regions:household_detail", args=[county.household_a1.pk]) in nav
        assert reverse("stock:stock_point_list") not in nav
        assert reverse("dashboard") not in nav
