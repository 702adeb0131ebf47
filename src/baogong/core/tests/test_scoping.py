"""Who sees what: every role against the same small county, through selectors and the API."""

from __future__ import annotations

import json

import pytest

from baogong.accounts.models import Role
from baogong.core.models import PersonalDataAccess
from baogong.core.scoping import PERSONAL_DATA_ROLES, scope_of
from baogong.core.tests.world import A1_TREE, A_TREE, ALL_REGIONS, PERSONAL, S1_TREE, S2_TREE, build_world
from baogong.regions.selectors import household_list, region_list
from baogong.stock.selectors import stock_point_list

pytestmark = pytest.mark.django_db

# role -> (regions, households, stock points) it must see, by world key.
EXPECTED = {
    Role.COMMAND: (ALL_REGIONS, ("A1a", "A1b", "A2", "B1"), ("C", "A", "B", "S")),
    Role.DEPARTMENT: (S1_TREE, ("A1a", "A1b", "A2"), ("A", "S")),
    Role.SUBDISTRICT: (S1_TREE, ("A1a", "A1b", "A2"), ("A", "S")),
    Role.COMMUNITY: (A_TREE, ("A1a", "A1b", "A2"), ("A", "S")),
    Role.VOLUNTEER: (A1_TREE, ("A1a", "A1b"), ("S",)),
    Role.CHECKPOINT: (S2_TREE, (), ()),
    Role.SUPPLIER: ((), (), ("S",)),
    Role.RESIDENT: ((), ("A1a",), ()),
}
ROLES = list(EXPECTED)


@pytest.fixture
def world():
    return build_world()


def _login(client, world, role):
    client.force_login(world.users[role])
    return client


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_every_role_is_covered():
    assert set(EXPECTED) == set(Role)


@pytest.mark.parametrize("role", ROLES)
def test_selectors_return_exactly_the_scope(world, role):
    regions, households, points = EXPECTED[role]
    scope = scope_of(world.users[role])

    assert set(region_list(scope=scope).values_list("pk", flat=True)) == world.region_ids(*regions)
    assert set(household_list(scope=scope).values_list("pk", flat=True)) == world.household_ids(*households)
    assert set(stock_point_list(scope=scope).values_list("pk", flat=True)) == world.point_ids(*points)


@pytest.mark.parametrize("role", ROLES)
def test_api_lists_return_exactly_the_scope(client, world, role):
    regions, households, points = EXPECTED[role]
    _login(client, world, role)

    assert _ids(client.get("/api/regions", {"limit": 200})) == world.region_ids(*regions)
    assert _ids(client.get("/api/households", {"limit": 200})) == world.household_ids(*households)
    assert _ids(client.get("/api/stock/points", {"limit": 200})) == world.point_ids(*points)


@pytest.mark.parametrize("role", ROLES)
def test_api_details_answer_404_outside_the_scope(client, world, role):
    regions, households, points = EXPECTED[role]
    _login(client, world, role)

    for key, obj in world.regions.items():
        for url in (f"/api/regions/{obj.pk}", f"/api/regions/{obj.pk}/zone-statuses"):
            assert client.get(url).status_code == (200 if key in regions else 404), url
    for key, obj in world.households.items():
        assert client.get(f"/api/households/{obj.pk}").status_code == (200 if key in households else 404)
    for key, obj in world.points.items():
        for suffix in ("", "/balances", "/movements"):
            url = f"/api/stock/points/{obj.pk}{suffix}"
            assert client.get(url).status_code == (200 if key in points else 404), url


def test_community_worker_of_a_gets_not_found_for_b(client, world):
    _login(client, world, Role.COMMUNITY)
    urls = [
        f"/api/households/{world.households['B1'].pk}",
        f"/api/regions/{world.regions['B'].pk}",
        f"/api/stock/points/{world.points['B'].pk}",
    ]

    for url in urls:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert (response.status_code, response.json()) == (404, {"code": "not_found", "message": "Not found."}), url


def test_out_of_scope_answer_equals_nonexistent_answer(client, world):
    _login(client, world, Role.COMMUNITY)
    missing_id = max(h.pk for h in world.households.values()) + 1000

    hidden = client.get(f"/api/households/{world.households['B1'].pk}")
    missing = client.get(f"/api/households/{missing_id}")

    assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)


def test_households_filtered_by_a_compound_outside_the_scope_answer_404(client, world):
    _login(client, world, Role.VOLUNTEER)

    response = client.get("/api/households", {"compound": world.regions["A2"].pk})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def _household_bodies(client, world, households, *, unmasked):
    """Every API body that carries a household the caller can see."""
    params = {"unmasked": "true"} if unmasked else {}
    bodies = [client.get("/api/households", {"limit": 200}).content]
    for key in households:
        response = client.get(f"/api/households/{world.households[key].pk}", params)
        assert response.status_code == 200
        bodies.append(response.content)
    return bodies


def _raw_values_in(bodies) -> set[str]:
    """Which raw phone numbers, ID numbers and names appear in any body (bytes and decoded text)."""
    found = set()
    for body in bodies:
        text = json.dumps(json.loads(body), ensure_ascii=False)
        for values in PERSONAL.values():
            for value in values:
                if value.encode() in body or value in text:
                    found.add(value)
    return found


NON_PERSONAL_DATA_ROLES = [role for role in ROLES if role not in PERSONAL_DATA_ROLES and role != Role.RESIDENT]


@pytest.mark.parametrize("role", NON_PERSONAL_DATA_ROLES)
@pytest.mark.parametrize("unmasked", [False, True])
def test_other_roles_never_receive_raw_personal_data(client, world, role, unmasked):
    _login(client, world, role)

    bodies = _household_bodies(client, world, EXPECTED[role][1], unmasked=unmasked)

    assert _raw_values_in(bodies) == set()
    assert PersonalDataAccess.objects.count() == 0


def test_department_sees_its_jurisdiction_masked(client, world):
    _login(client, world, Role.DEPARTMENT)

    items = client.get("/api/households").json()["items"]

    assert sorted((item["room"], item["phone"], item["masked"]) for item in items) == [
        ("101", "139****0011", True),
        ("102", "139****0022", True),
        ("201", "139****0033", True),
    ]


@pytest.mark.parametrize("role", sorted(PERSONAL_DATA_ROLES))
def test_personal_data_roles_see_masked_lists(client, world, role):
    _login(client, world, role)

    bodies = [client.get("/api/households", {"limit": 200}).content]
    bodies += [client.get(f"/api/households/{world.households[key].pk}").content for key in EXPECTED[role][1]]

    assert _raw_values_in(bodies) == set()
    assert PersonalDataAccess.objects.count() == 0


@pytest.mark.parametrize("role", sorted(PERSONAL_DATA_ROLES))
def test_personal_data_roles_unmask_a_household_and_each_view_is_logged(client, world, role):
    _login(client, world, role)
    target = world.households["A2"]

    response = client.get(f"/api/households/{target.pk}", {"unmasked": "true"})

    assert response.status_code == 200
    assert (response.json()["head_name"], response.json()["phone"], response.json()["id_number"]) == PERSONAL["A2"]
    assert response.json()["masked"] is False
    assert list(
        PersonalDataAccess.objects.values_list("actor_id", "subject_type", "subject_id", "fields", "purpose")
    ) == [(world.users[role].pk, "household", str(target.pk), ["head_name", "phone", "id_number"], "api")]


def test_resident_sees_only_their_own_household_and_may_unmask_it(client, world):
    _login(client, world, Role.RESIDENT)
    own = world.households["A1a"]

    masked = client.get(f"/api/households/{own.pk}")
    unmasked = client.get(f"/api/households/{own.pk}", {"unmasked": "true"})
    neighbour = client.get(f"/api/households/{world.households['A1b'].pk}", {"unmasked": "true"})

    assert _raw_values_in([masked.content]) == set()
    assert _raw_values_in([unmasked.content]) == set(PERSONAL["A1a"])
    assert neighbour.status_code == 404
    assert list(PersonalDataAccess.objects.values_list("actor_id", "subject_id")) == [
        (world.users[Role.RESIDENT].pk, str(own.pk))
    ]


@pytest.mark.parametrize("role", ROLES)
def test_stock_and_region_bodies_carry_no_personal_data(client, world, role):
    _login(client, world, role)
    bodies = [
        client.get("/api/regions", {"limit": 200}).content,
        client.get("/api/stock/points", {"limit": 200}).content,
        client.get("/api/me").content,
    ]

    assert _raw_values_in(bodies) == set()
