from datetime import timedelta

import pytest
from django.utils import timezone

from baogong.accounts.models import Role
from baogong.core.models import PersonalDataAccess
from baogong.core.tests.world import build_world
from baogong.regions.models import RegionLevel
from baogong.regions.services import zone_status_set

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def command_client(client, world):
    client.force_login(world.users[Role.COMMAND])
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/api/me",
        "/api/regions",
        "/api/regions/1",
        "/api/regions/1/zone-statuses",
        "/api/households",
        "/api/households/1",
    ],
)
def test_unauthenticated_calls_answer_401(client, url):
    response = client.get(url, **EN)

    assert (response.status_code, response.json()) == (401, {"code": "not_authenticated", "message": "Sign in first."})


def test_me_describes_the_account(client, world):
    account = world.users[Role.VOLUNTEER]
    client.force_login(account)

    assert client.get("/api/me").json() == {
        "id": account.pk,
        "username": account.username,
        "role": "volunteer",
        "region_id": world.regions["A1"].pk,
        "organisation_id": None,
        "household_id": None,
        "api_version": "1",
    }


def test_regions_filter_by_level_and_page(command_client, world):
    response = command_client.get("/api/regions", {"level": RegionLevel.COMPOUND, "limit": 2, "offset": 1})

    body = response.json()
    assert (body["count"], body["limit"], body["offset"]) == (3, 2, 1)
    # Ordered by path, i.e. tree order: A1, A2, B1.
    assert [item["id"] for item in body["items"]] == [world.regions["A2"].pk, world.regions["B1"].pk]


def test_regions_filter_by_parent(command_client, world):
    response = command_client.get("/api/regions", {"parent": world.regions["A"].pk})

    assert [item["code"] for item in response.json()["items"]] == [world.regions["A1"].code, world.regions["A2"].code]


def test_region_detail_carries_own_and_effective_zone_status(command_client, world):
    compound, unit = world.regions["A1"], world.regions["A1-unit"]
    zone_status_set(actor=None, region=compound, status="sealed", reason="suspected case")

    compound_body = command_client.get(f"/api/regions/{compound.pk}").json()
    unit_body = command_client.get(f"/api/regions/{unit.pk}").json()

    assert compound_body == {
        "id": compound.pk,
        "code": compound.code,
        "name": "A1 小区",
        "level": 4,
        "parent_id": world.regions["A"].pk,
        "is_rural": False,
        "latitude": None,
        "longitude": None,
        "zone_status": "sealed",
        "effective_zone_status": "sealed",
    }
    assert (unit_body["zone_status"], unit_body["effective_zone_status"]) == (None, "sealed")


def test_region_without_any_status_is_normal(command_client, world):
    body = command_client.get(f"/api/regions/{world.regions['B1'].pk}").json()

    assert (body["zone_status"], body["effective_zone_status"]) == (None, "normal")


def test_zone_status_history_is_newest_first(command_client, world):
    compound = world.regions["A1"]
    start = timezone.now() - timedelta(days=10)
    first = zone_status_set(actor=None, region=compound, status="controlled", reason="contact", starts_at=start)
    second = zone_status_set(
        actor=world.users[Role.COMMAND],
        region=compound,
        status="prevention",
        reason="clear",
        starts_at=start + timedelta(days=3),
    )

    rows = command_client.get(f"/api/regions/{compound.pk}/zone-statuses").json()

    assert [(row["id"], row["status"], row["reason"], row["set_by_id"]) for row in rows] == [
        (second.pk, "prevention", "clear", world.users[Role.COMMAND].pk),
        (first.pk, "controlled", "contact", None),
    ]


def test_households_list_is_masked_and_exact(command_client, world):
    household = world.households["A1a"]

    response = command_client.get("/api/households", {"compound": world.regions["A1"].pk, "limit": 1})

    assert response.json() == {
        "count": 2,
        "limit": 1,
        "offset": 0,
        "items": [
            {
                "id": household.pk,
                "compound_id": world.regions["A1"].pk,
                "building": "A1 1号楼",
                "unit": "A1 1单元",
                "room": "101",
                "head_name": "赵**",
                "size": 3,
                "phone": "139****0011",
                "id_number": "1****************1",
                "vulnerability_tags": ["elderly_alone"],
                "can_order_online": True,
                "masked": True,
            }
        ],
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "102"}, ["A1b"]),
        ({"q": "0033"}, ["A2"]),
        ({"q": "B1 1号楼"}, ["B1"]),
        ({"vulnerable": "true"}, ["A1a"]),
        ({"compound": "A2"}, ["A2"]),
        ({"compound": "S2"}, ["B1"]),
    ],
)
def test_households_filters(command_client, world, params, expected):
    if "compound" in params:
        params = {"compound": world.regions[params["compound"]].pk}

    response = command_client.get("/api/households", params)

    assert [item["id"] for item in response.json()["items"]] == [world.households[k].pk for k in expected]


def test_unmasked_list_is_not_a_thing(client, world):
    """Lists stay masked even for roles that may unmask a single household."""
    client.force_login(world.users[Role.COMMUNITY])

    items = client.get("/api/households", {"unmasked": "true"}).json()["items"]

    assert {item["masked"] for item in items} == {True}
    assert PersonalDataAccess.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/regions?limit=0", "limit"),
        ("/api/regions?limit=201", "limit"),
        ("/api/regions?offset=-1", "offset"),
        ("/api/regions?level=7", "level"),
        ("/api/regions?parent=abc", "parent"),
        ("/api/regions/0", "region_id"),
        ("/api/regions/9223372036854775808", "region_id"),
        ("/api/households?q=%00", "q"),
        ("/api/households?q=" + "1" * 65, "q"),
        ("/api/households/0?unmasked=maybe", "unmasked"),
    ],
)
def test_invalid_input_answers_422_naming_the_field(command_client, url, field):
    response = command_client.get(url, **EN)

    body = response.json()
    assert (response.status_code, body["code"], body["message"], body["field"]) == (
        422,
        "validation_failed",
        "The input is not valid.",
        field,
    )
    assert field in [error["field"] for error in body["data"]["errors"]]


def test_households_list_query_count_does_not_grow_with_rows(command_client, world, django_assert_num_queries):
    # session with its account, the account's region (scope), count, page: one page query whatever its length.
    with django_assert_num_queries(4):
        response = command_client.get("/api/households", {"limit": 200})

    assert response.json()["count"] == 4


def test_regions_list_query_count(command_client, django_assert_num_queries):
    with django_assert_num_queries(4):
        command_client.get("/api/regions", {"limit": 200})
