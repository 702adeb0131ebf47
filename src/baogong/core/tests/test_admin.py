"""The admin manages master data and is no way around the ledger, the audit trail or masking."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from baogong.accounts.models import User
from baogong.catalog.tests.factories import commodity
from baogong.core.models import AuditLog, PersonalDataAccess
from baogong.core.tests.world import PERSONAL, build_world
from baogong.regions.models import Region, RegionLevel
from baogong.stock.models import StockBalance, StockMovement
from baogong.stock.services import stock_receive

pytestmark = pytest.mark.django_db

READ_ONLY_MODELS = [StockBalance, StockMovement, AuditLog, PersonalDataAccess]


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def superuser():
    return User.objects.create_superuser("root", "root@example.org", "pw-for-tests-only")


@pytest.fixture
def movement(world):
    return stock_receive(actor=None, point=world.points["A"], commodity=commodity(), quantity=12, reason="delivery")


@pytest.fixture
def access_row(world):
    return PersonalDataAccess.objects.create(
        actor=world.users["command"], subject_type="household", subject_id="1", fields=["phone"], purpose="test"
    )


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_superuser_opens_every_changelist_and_change_page(admin_client, world, movement, access_row):
    opened = {}
    for model in admin.site._registry:
        opened[model._meta.label] = admin_client.get(_url(model, "changelist")).status_code
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            opened[f"{model._meta.label} #"] = admin_client.get(_url(model, "change", first.pk)).status_code

    assert set(opened.values()) == {200}, opened
    # The master data and the ledger are all reachable.
    assert {
        "regions.Region #",
        "regions.Household #",
        "stock.StockMovement #",
        "core.AuditLog #",
        "core.PersonalDataAccess #",
        "enterprises.Organisation #",
        "accounts.User #",
    } <= set(opened)


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m._meta.label)
def test_ledger_and_audit_offer_no_add_or_delete(admin_client, movement, access_row, model):
    row = model._default_manager.order_by("pk").first()

    changelist = admin_client.get(_url(model, "changelist"))

    assert changelist.status_code == 200
    assert _url(model, "add").encode() not in changelist.content
    assert b'value="delete_selected"' not in changelist.content
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.get(_url(model, "delete", row.pk)).status_code == 403
    assert admin_client.post(_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model._default_manager.filter(pk=row.pk).exists()


def test_posting_a_change_to_a_movement_changes_nothing(admin_client, movement):
    before = StockMovement.objects.values().get(pk=movement.pk)
    audit_rows = AuditLog.objects.count()

    response = admin_client.post(_url(StockMovement, "change", movement.pk), {"quantity": 999, "reason": "fiddle"})

    assert response.status_code == 403
    assert StockMovement.objects.values().get(pk=movement.pk) == before
    assert StockBalance.objects.get(pk=movement.balance_id).on_hand == 12
    assert AuditLog.objects.count() == audit_rows


def test_household_changelist_is_masked(admin_client, world):
    response = admin_client.get(_url(world.households["A1a"], "changelist"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "139****0011" in body
    assert [value for values in PERSONAL.values() for value in values if value in body] == []


def test_household_form_is_for_superusers_only_and_logged(client, admin_client, world, superuser):
    household = world.households["A1b"]
    staff = User.objects.create_user("clerk", password="pw-for-tests-only", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_household", "change_household"]))
    client.force_login(staff)

    staff_list = client.get(_url(household, "changelist"))
    staff_form = client.get(_url(household, "change", household.pk))
    staff_post = client.post(_url(household, "change", household.pk), {"room": "999"})
    assert (staff_list.status_code, staff_form.status_code, staff_post.status_code) == (200, 403, 403)
    assert PersonalDataAccess.objects.count() == 0

    admin_client.force_login(superuser)
    form = admin_client.get(_url(household, "change", household.pk))

    assert form.status_code == 200
    assert PERSONAL["A1b"][1] in form.content.decode()
    assert list(PersonalDataAccess.objects.values_list("actor_id", "subject_id", "purpose")) == [
        (superuser.pk, str(household.pk), "admin")
    ]
    household.refresh_from_db()
    assert household.room == "102"


def test_household_edit_writes_an_audit_row_without_values(admin_client, world):
    household = world.households["A1b"]
    data = {
        "room": "102",
        "head_name": "钱二虎",
        "size": 4,
        "phone": "13900000099",
        "id_number": "",
        "can_order_online": "on",
        "notes": "",
        "vulnerability_tags": ["dibao", "tekun"],
    }

    response = admin_client.post(_url(household, "change", household.pk), data)

    assert response.status_code == 302
    household.refresh_from_db()
    assert (household.size, household.phone, household.vulnerability_tags) == (4, "13900000099", ["dibao", "tekun"])
    audit = AuditLog.objects.filter(action="admin.change").get()
    assert (audit.target_type, audit.target_id) == ("household", str(household.pk))
    assert audit.payload == {"fields": ["id_number", "phone", "size", "vulnerability_tags"]}
    assert "13900000099" not in str(audit.payload)


def test_region_added_in_admin_goes_through_the_service(admin_client, world):
    parent = world.regions["A"]

    response = admin_client.post(
        _url(Region, "add"),
        {
            "parent": parent.pk,
            "level": RegionLevel.COMPOUND,
            "code": "NEW-1",
            "name": "新小区",
            "latitude": "",
            "longitude": "",
        },
    )

    assert response.status_code == 302
    created = Region.objects.get(code="NEW-1")
    assert created.path == f"{parent.path}{created.pk}/"
    assert AuditLog.objects.filter(action="region.create", target_id=str(created.pk)).count() == 1


def test_region_at_the_wrong_level_is_a_form_error(admin_client, world):
    before = (Region.objects.count(), AuditLog.objects.count())

    response = admin_client.post(
        _url(Region, "add"), {"parent": world.regions["A"].pk, "level": RegionLevel.UNIT, "code": "BAD-1", "name": "x"}
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["level"]
    assert (Region.objects.count(), AuditLog.objects.count()) == before


def test_region_parent_and_level_cannot_be_changed(admin_client, world):
    compound = world.regions["A1"]

    response = admin_client.post(
        _url(Region, "change", compound.pk),
        {
            "parent": world.regions["B"].pk,
            "level": 4,
            "code": compound.code,
            "name": "renamed",
            "latitude": "",
            "longitude": "",
            "zone_statuses-TOTAL_FORMS": 0,
            "zone_statuses-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302
    compound.refresh_from_db()
    assert (compound.parent_id, compound.path, compound.name) == (world.regions["A"].pk, compound.path, "renamed")
    assert AuditLog.objects.filter(action="admin.change", target_id=str(compound.pk)).get().payload == {
        "fields": ["name"]
    }


def test_account_with_a_role_needs_its_scope(admin_client):
    before = User.objects.count()

    response = admin_client.post(
        _url(User, "add"),
        {
            "username": "worker",
            "usable_password": "false",
            "role": "community",
            "region": "",
            "organisation": "",
            "household": "",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert dict(response.context["adminform"].form.errors) == {"region": ["This role needs a region."]}
    assert User.objects.count() == before
