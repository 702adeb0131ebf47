"""The authentication backend: Django's ModelBackend with the account read written out."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext

from baogong.accounts.backends import ModelBackend
from baogong.accounts.models import Role, User
from baogong.core.tests.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    return build_world().users


def _fields(account: User) -> dict[str, object]:
    return {field.attname: getattr(account, field.attname) for field in User._meta.concrete_fields}


def test_the_account_read_builds_the_same_user_as_the_orm(users):
    account = users[Role.COMMUNITY]
    User.objects.filter(pk=account.pk).update(
        last_login=datetime(2030, 4, 11, 6, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai")), is_staff=True, phone="13900000001"
    )

    loaded = ModelBackend().get_user(str(account.pk))

    assert type(loaded) is User
    assert _fields(loaded) == _fields(User.objects.get(pk=account.pk))
    assert (loaded.is_staff, loaded.is_active, loaded.region_id) == (True, True, account.region_id)
    assert loaded._state.adding is False
    assert loaded._state.db == "default"


def test_an_unknown_or_inactive_account_is_nobody(users):
    account = users[Role.RESIDENT]
    User.objects.filter(pk=account.pk).update(is_active=False)

    assert ModelBackend().get_user(account.pk) is None
    assert ModelBackend().get_user(999_999) is None


def test_signing_in_through_the_page_records_this_backend(client, users):
    account = users[Role.COMMAND]
    account.set_password("pw-for-tests-only")
    account.save()

    answer = client.post("/login/", {"username": account.username, "password": "pw-for-tests-only"})

    assert answer.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "baogong.accounts.backends.ModelBackend"
    assert client.get("/api/me").json()["id"] == account.pk
    assert settings.AUTHENTICATION_BACKENDS[-1] == "baogong.accounts.backends.ModelBackend"


@pytest.mark.postgres
def test_on_postgresql_the_read_is_one_prepared_statement(users):
    account = users[Role.COMMAND]
    ModelBackend().get_user(account.pk)

    with CaptureQueriesContext(connection) as queries:
        loaded = ModelBackend().get_user(account.pk)

    assert loaded.pk == account.pk
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("EXECUTE baogong_")
