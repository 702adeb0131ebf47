"""Region drill-down, zone status form, household list and household page through the test client."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.core.models import AuditLog, PersonalDataAccess
from baogong.core.tests.page_data import County, build_county, extra_households
from baogong.enterprises.models import CompoundPairing, Organisation
from baogong.regions.models import ZoneStatus

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def county() -> County:
    return build_county()


def signed_in(account: User, *, language: str = "en") -> Client:
    client = Client()
    client.force_login(account)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def region_url(region_id: int) -> str:
    return reverse("regions:region_detail", args=[region_id])


def household_url(household_id: int) -> str:
    return reverse("regions:household_detail", args=[household_id])


class TestRegionPage:
    def test_community_page_shows_breadcrumbs_status_and_children(self, county: County) -> None:
        account = user(Role.COMMUNITY, region=county.a.community)
        html = signed_in(account).get(region_url(county.a.community.pk)).content.decode()
        # The community worker sees no ancestor above their own region.
        assert county.a.subdistrict.name not in html
        assert f'data-region="{county.a.compound.pk}"' in html
        assert "sealed (封控)" in html
        assert ">2</td><td>7</td>" in html

    def test_compound_page_for_command(self, county: County) -> None:
        html = signed_in(county.command).get(region_url(county.a.compound.pk)).content.decode()
        for ancestor in (county.a.county, county.a.subdistrict, county.a.community):
            assert f'href="{region_url(ancestor.pk)}"' in html
        assert '<span class="zone zone-sealed" id="zone-status">sealed (封控)</span>' in html
        assert "suspected case" in html
        assert f'data-household="{county.household_a1.pk}"' in html
        assert f'data-household="{county.household_a2.pk}"' in html
        assert f'data-household="{county.household_b1.pk}"' not in html
        assert 'action="{}"'.format(reverse("regions:zone_status_set", args=[county.a.compound.pk])) in html
        assert reverse("regions:roster_import") in html

    def test_household_list_is_masked_with_badges(self, county: County) -> None:
        account = user(Role.COMMUNITY, region=county.a.community)
        html = signed_in(account).get(region_url(county.a.compound.pk)).content.decode()
        assert "138****1111" in html
        assert "13800001111" not in html
        assert "王**" in html
        assert '<span class="badge">empty-nest / alone elderly</span>' in html
        assert '<span class="badge badge-warn">can\'t order online</span>' in html
        assert PersonalDataAccess.objects.count() == 0

    def test_search_by_phone_tail_without_javascript(self, county: County) -> None:
        client = signed_in(county.command)
        html = client.get(region_url(county.a.compound.pk), {"q": "2222"}).content.decode()
        assert f'data-household="{county.household_a2.pk}"' in html
        assert f'data-household="{county.household_a1.pk}"' not in html
        assert "<html" in html

    def test_search_as_htmx_partial(self, county: County) -> None:
        client = signed_in(county.command)
        response = client.get(region_url(county.a.compound.pk), {"q": "101"}, headers={"HX-Request": "true"})
        html = response.content.decode()
        assert html.startswith('<div id="households">')
        assert "<html" not in html
        assert f'data-household="{county.household_a1.pk}"' in html
        assert f'data-household="{county.household_a2.pk}"' not in html
        assert "HX-Request" in response["Vary"]

    def test_household_list_paginates_by_50(self, county: County) -> None:
        extra_households(county.a, 55)
        client = signed_in(county.command)
        first = client.get(region_url(county.a.compound.pk)).content.decode()
        second = client.get(region_url(county.a.compound.pk), {"page": 2}).content.decode()
        assert first.count("data-household=") == 50
        assert second.count("data-household=") == 7
        assert "57 households" in first
        assert "Page 2 of 2" in second

    @pytest.mark.parametrize("extra", [0, 60])
    def test_household_list_query_count_is_fixed(self, county: County, extra: int, django_assert_num_queries) -> None:
        extra_households(county.a, extra)
        client = signed_in(county.command)
        url = region_url(county.a.compound.pk)
        # session with its user, the user's region (scope), the compound, count, one page of households
        with django_assert_num_queries(5):
            response = client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200

    def test_community_b_compound_is_not_found_for_community_a(self, county: County) -> None:
        account = user(Role.COMMUNITY, region=county.a.community)
        response = signed_in(account).get(region_url(county.b.compound.pk))
        assert response.status_code == 404
        assert county.b.compound.name not in response.content.decode()

    def test_unknown_region_is_not_found(self, county: County) -> None:
        assert signed_in(county.command).get(region_url(999_999)).status_code == 404

    def test_anonymous_is_sent_to_login(self, county: County, client: Client) -> None:
        response = client.get(region_url(county.a.compound.pk))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    @pytest.mark.parametrize("role", [Role.COMMUNITY, Role.VOLUNTEER, Role.CHECKPOINT])
    def test_zone_form_hidden_for_other_roles(self, county: County, role: str) -> None:
        account = user(role, region=county.a.community)
        html = signed_in(account).get(region_url(county.a.compound.pk)).content.decode()
        assert reverse("regions:zone_status_set", args=[county.a.compound.pk]) not in html


class TestZoneStatusForm:
    def url(self, county: County) -> str:
        return reverse("regions:zone_status_set", args=[county.b.compound.pk])

    def test_subdistrict_seals_a_compound_for_seven_days(self, county: County) -> None:
        account = user(Role.SUBDISTRICT, region=county.b.subdistrict)
        response = signed_in(account).post(self.url(county), {"status": "sealed", "reason": "positive test"})
        assert response.status_code == 302
        assert response["Location"] == region_url(county.b.compound.pk)
        zone = ZoneStatus.objects.get(region=county.b.compound)
        assert (zone.status, zone.reason, zone.set_by) == ("sealed", "positive test", account)
        assert zone.ends_at - zone.starts_at == timedelta(days=7)
        assert AuditLog.objects.filter(action="zone_status.set", target_id=str(county.b.compound.pk)).count() == 1

    def test_command_sets_explicit_period(self, county: County) -> None:
        response = signed_in(county.command).post(
            self.url(county),
            {
                "status": "controlled",
                "reason": "contacts",
                "starts_at": "2030-03-01T08:00",
                "ends_at": "2030-03-04T08:00",
            },
        )
        assert response.status_code == 302
        zone = ZoneStatus.objects.get(region=county.b.compound)
        assert zone.status == "controlled"
        assert zone.starts_at == datetime(2030, 3, 1, 8, 0, tzinfo=SHANGHAI)
        assert zone.ends_at == datetime(2030, 3, 4, 8, 0, tzinfo=SHANGHAI)

    def test_missing_reason_names_the_field_and_changes_nothing(self, county: County) -> None:
        before = (ZoneStatus.objects.count(), AuditLog.objects.count())
        response = signed_in(county.command).post(self.url(county), {"status": "sealed", "reason": ""})
        html = response.content.decode()
        assert response.status_code == 422
        assert '<small class="error" id="reason-error" role="alert">Reason: This field is required.</small>' in html
        assert (ZoneStatus.objects.count(), AuditLog.objects.count()) == before

    def test_end_before_start_names_the_field_and_changes_nothing(self, county: County) -> None:
        before = (ZoneStatus.objects.count(), AuditLog.objects.count())
        response = signed_in(county.command).post(
            self.url(county),
            {"status": "sealed", "reason": "x", "starts_at": "2030-03-04T08:00", "ends_at": "2030-03-01T08:00"},
        )
        html = response.content.decode()
        assert response.status_code == 422
        assert 'id="ends_at-error" role="alert">Ends at: The end must be after the start.</small>' in html
        assert 'value="x"' in html
        assert (ZoneStatus.objects.count(), AuditLog.objects.count()) == before

    @pytest.mark.parametrize("role", [Role.COMMUNITY, Role.VOLUNTEER, Role.CHECKPOINT])
    def test_other_roles_get_404_and_nothing_changes(self, county: County, role: str) -> None:
        account = user(role, region=county.b.community)
        response = signed_in(account).post(self.url(county), {"status": "sealed", "reason": "x"})
        assert response.status_code == 404
        assert ZoneStatus.objects.filter(region=county.b.compound).count() == 0

    def test_subdistrict_outside_scope_gets_404(self, county: County) -> None:
        account = user(Role.SUBDISTRICT, region=county.a.subdistrict)
        response = signed_in(account).post(self.url(county), {"status": "sealed", "reason": "x"})
        assert response.status_code == 404
        assert ZoneStatus.objects.filter(region=county.b.compound).count() == 0

    def test_get_is_not_allowed(self, county: County) -> None:
        assert signed_in(county.command).get(self.url(county)).status_code == 405


class TestHouseholdPage:
    def test_masked_by_default_and_writes_no_access_row(self, county: County) -> None:
        account = user(Role.COMMUNITY, region=county.a.community)
        html = signed_in(account).get(household_url(county.household_a1.pk)).content.decode()
        assert '<dd id="phone" class="nowrap">138****1111</dd>' in html
        assert '<dd id="id-number" class="nowrap">1****************4</dd>' in html
        assert 'name="reveal"' in html
        assert PersonalDataAccess.objects.count() == 0

    @pytest.mark.parametrize("role", [Role.COMMUNITY, Role.SUBDISTRICT])
    def test_reveal_shows_numbers_and_writes_exactly_one_row(self, county: County, role: str) -> None:
        region = county.a.community if role == Role.COMMUNITY else county.a.subdistrict
        account = user(role, region=region)
        response = signed_in(account).post(household_url(county.household_a1.pk), {"reveal": "1"})
        html = response.content.decode()
        assert '<dd id="phone" class="nowrap">13800001111</dd>' in html
        assert '<dd id="id-number" class="nowrap">110101195001011234</dd>' in html
        assert "no-store" in response["Cache-Control"]
        access = PersonalDataAccess.objects.get()
        assert (access.actor, access.subject_type, access.subject_id) == (
            account,
            "household",
            str(county.household_a1.pk),
        )
        assert access.fields == ["head_name", "phone", "id_number"]
        assert access.purpose == "household_page"

    @pytest.mark.parametrize("role", [Role.COMMAND, Role.VOLUNTEER])
    def test_other_roles_never_see_unmasked(self, county: County, role: str) -> None:
        account = user(role, region=county.a.county if role == Role.COMMAND else county.a.community)
        response = signed_in(account).post(household_url(county.household_a1.pk), {"reveal": "1"})
        html = response.content.decode()
        assert response.status_code == 200
        assert "13800001111" not in html
        assert "138****1111" in html
        assert 'name="reveal"' not in html
        assert PersonalDataAccess.objects.count() == 0

    def test_resident_sees_own_household_masked(self, county: County) -> None:
        resident = user(Role.RESIDENT, household=county.household_a1)
        client = signed_in(resident)
        html = client.get(household_url(county.household_a1.pk)).content.decode()
        assert "138****1111" in html
        assert 'name="reveal"' not in html
        assert client.get(household_url(county.household_a2.pk)).status_code == 404

    def test_community_b_household_is_not_found_for_community_a(self, county: County) -> None:
        account = user(Role.COMMUNITY, region=county.a.community)
        client = signed_in(account)
        assert client.get(household_url(county.household_b1.pk)).status_code == 404
        assert client.post(household_url(county.household_b1.pk), {"reveal": "1"}).status_code == 404
        assert PersonalDataAccess.objects.count() == 0

    def test_chinese_by_default(self, county: County) -> None:
        account = user(Role.COMMUNITY, region=county.a.community)
        html = signed_in(account, language="zh-hans").get(household_url(county.household_a1.pk)).content.decode()
        assert "显示电话和身份证号" in html
        assert "独居老人" in html


class TestCompoundPairing:
    def make_pairing(self, county: County) -> tuple[Organisation, Organisation]:
        shops = [
            Organisation.objects.create(
                kind="enterprise",
                enterprise_type="supermarket",
                code=f"SM{i}",
                name=f"Shop {i}",
                region=county.a.county,
            )
            for i in (1, 2)
        ]
        CompoundPairing.objects.create(compound=county.a.compound, supermarket=shops[0], backup=shops[1])
        return shops[0], shops[1]

    def test_subdistrict_sees_the_pairing_and_may_change_it(self, county: County) -> None:
        self.make_pairing(county)
        account = user(Role.SUBDISTRICT, region=county.a.subdistrict)
        html = signed_in(account).get(region_url(county.a.compound.pk)).content.decode()
        assert "Paired supermarket:" in html
        assert "<strong>Shop 1</strong> · backup: Shop 2" in html
        assert reverse("orders:pairing_edit", args=[county.a.compound.pk]) in html

    def test_community_worker_sees_the_pairing_without_the_change_link(self, county: County) -> None:
        self.make_pairing(county)
        account = user(Role.COMMUNITY, region=county.a.community)
        html = signed_in(account).get(region_url(county.a.compound.pk)).content.decode()
        assert "<strong>Shop 1</strong>" in html
        assert reverse("orders:pairing_edit", args=[county.a.compound.pk]) not in html

    def test_unpaired_compound_is_flagged(self, county: County) -> None:
        html = signed_in(county.command).get(region_url(county.b.compound.pk)).content.decode()
        assert '<span class="badge badge-warn">none</span>' in html
