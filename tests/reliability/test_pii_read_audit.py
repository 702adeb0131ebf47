"""R16 pii-read-audit: every unmasked view writes exactly one access row; masked views write none.

The reveal points: a household's page revealed by a roster keeper (POST), a
household over the API with `unmasked=true`, a household's admin change form,
and a pass's driver phone with `unmask=1`. (Lists, sheets and exports are
always masked, so they only appear among the masked reads.) Thirty reveals
must leave exactly thirty rows naming the actor, time, subject, fields,
purpose and the request's id, and no personal value; thirty masked reads,
including an unmask asked for by a role that may not have it, leave none. The
rows cannot be changed or deleted.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from baogong.accounts.models import Role, User
from baogong.core.models import PersonalDataAccess
from baogong.core.tests.world import PERSONAL, build_world
from baogong.delivery.tests.factories import driver, green_pass, organisation, vehicle

pytestmark = pytest.mark.django_db

DRIVER_PHONE = "13977776666"
REVEALS = 30


@pytest.fixture
def world():
    world = build_world()
    employer = organisation(world.regions["C"])
    world.green_pass = green_pass(  # type: ignore[attr-defined]
        region=world.regions["C"],
        vehicle=vehicle(employer),
        driver=driver(employer, phone=DRIVER_PHONE, name="周师傅"),
        destinations=[world.regions["A1"]],
        origin=world.points["C"],
    )
    world.admin = User.objects.create_superuser("root-r16", password="pw-for-tests-only")  # type: ignore[attr-defined]
    return world


def as_user(client, account):
    client.logout()
    client.force_login(account)
    return client


def test_r16_every_reveal_writes_one_row_and_masked_reads_none(client, world, record_property):
    households = [world.households[k] for k in ("A1a", "A1b", "A2")]
    community, subdistrict = world.users[Role.COMMUNITY], world.users[Role.SUBDISTRICT]
    command = world.users[Role.COMMAND]
    pass_id = world.green_pass.pk

    def household_page_reveal(i):
        return (
            as_user(client, community).post(f"/regions/households/{households[i % 3].pk}/"),
            community,
            households[i % 3],
        )

    def api_reveal(i):
        target = households[i % 3]
        return as_user(client, subdistrict).get(f"/api/households/{target.pk}?unmasked=true"), subdistrict, target

    def admin_reveal(i):
        target = households[i % 3]
        return as_user(client, world.admin).get(f"/admin/regions/household/{target.pk}/change/"), world.admin, target

    def driver_reveal(i):
        return as_user(client, command).get(f"/delivery/passes/{pass_id}/?unmask=1"), command, world.green_pass.driver

    reveals = [household_page_reveal] * 8 + [api_reveal] * 8 + [admin_reveal] * 7 + [driver_reveal] * 7
    expected = []
    for i, reveal in enumerate(reveals):
        response, actor, subject = reveal(i)
        assert response.status_code == 200, (reveal.__name__, response.status_code)
        expected.append((actor.pk, subject.pk, response["X-Request-Id"]))

    rows = list(PersonalDataAccess.objects.order_by("pk"))
    complete = [
        r
        for r in rows
        if r.created_at and r.actor_id and r.subject_type and r.subject_id and r.fields and r.purpose and r.request_id
    ]
    assert [(r.actor_id, int(r.subject_id), r.request_id) for r in rows] == expected
    assert len(complete) == REVEALS
    assert sorted({(r.subject_type, r.purpose, tuple(r.fields)) for r in rows}) == [
        ("driver", "dispatch", ("phone", "licence_number")),
        ("household", "admin", ("head_name", "phone", "id_number")),
        ("household", "api", ("head_name", "phone", "id_number")),
        ("household", "household_page", ("head_name", "phone", "id_number")),
    ]

    # Masked reads, the refused unmask included.
    masked = [
        lambda i: as_user(client, community).get(f"/regions/households/{households[i % 3].pk}/"),
        lambda i: as_user(client, subdistrict).get(f"/api/households/{households[i % 3].pk}"),
        lambda i: as_user(client, command).get(f"/api/households/{households[i % 3].pk}?unmasked=true"),
        lambda i: as_user(client, community).get("/api/households"),
        lambda i: as_user(client, command).get(f"/delivery/passes/{pass_id}/"),
        lambda i: as_user(client, subdistrict).get(f"/delivery/passes/{pass_id}/?unmask=1"),
    ]
    masked_statuses = [masked[i % len(masked)](i).status_code for i in range(REVEALS)]
    assert set(masked_statuses) == {200}
    assert PersonalDataAccess.objects.count() == REVEALS

    # No personal value in the table, read back raw.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_personaldataaccess")
        dump = repr(cursor.fetchall())
    values = [v for person in PERSONAL.values() for v in person] + [DRIVER_PHONE, "周师傅"]
    leaked = [v for v in values if v in dump]
    assert leaked == []

    # Append-only: every change is refused, through the ORM and raw SQL.
    attempts = [
        lambda: PersonalDataAccess.objects.filter(pk=rows[0].pk).update(purpose="forged"),
        lambda: PersonalDataAccess.objects.filter(pk=rows[1].pk).delete(),
        lambda: rows[2].delete(),
        lambda: connection.cursor().execute("UPDATE core_personaldataaccess SET actor_id = NULL"),
        lambda: connection.cursor().execute("DELETE FROM core_personaldataaccess"),
    ]
    refused = 0
    for attempt in attempts:
        try:
            with transaction.atomic():
                attempt()
        except DatabaseError:
            refused += 1
    assert PersonalDataAccess.objects.count() == REVEALS
    assert list(PersonalDataAccess.objects.order_by("pk").values_list("purpose", flat=True)) == [
        r.purpose for r in rows
    ]
    record_property(
        "figure",
        f"R16: {len(rows)} rows for {REVEALS} reveals (page, API, admin, driver phone), each with actor, time, "
        f"subject, fields, purpose, request id; 0 rows for {REVEALS} masked reads; {len(leaked)} personal values "
        f"in the table; {refused}/{len(attempts)} UPDATE/DELETE attempts refused",
    )
    assert refused == len(attempts)
