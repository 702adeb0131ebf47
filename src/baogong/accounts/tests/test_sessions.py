"""The session backend: Django's database sessions with the per-request read written out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baogong.accounts.backends import user_read_sql
from baogong.accounts.models import Role
from baogong.accounts.sessions import SessionStore, session_read_sql
from baogong.accounts.tests.factories import signed_in_session
from baogong.core import sql
from baogong.core.tests.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    return build_world().users


def _stored(account, *, expires_in: timedelta) -> Session:
    session = signed_in_session(account, expires_at=timezone.now() + expires_in)
    session.save()
    return session


def test_a_live_session_signs_its_account_in(client, users):
    account = users[Role.COMMAND]
    session = _stored(account, expires_in=timedelta(hours=1))
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    answer = client.get("/api/me")

    assert (answer.status_code, answer.json()["id"], answer.json()["role"]) == (200, account.pk, Role.COMMAND)


def test_an_expired_or_unknown_session_signs_nobody_in(client, users):
    expired = _stored(users[Role.COMMAND], expires_in=timedelta(seconds=-1))

    for key in (expired.session_key, "0" * 32):
        client.cookies[settings.SESSION_COOKIE_NAME] = key
        assert client.get("/api/me").status_code == 401
    assert Session.objects.count() == 1


def test_load_reads_the_data_and_forgets_a_key_that_is_not_live(users):
    account = users[Role.RESIDENT]
    live = _stored(account, expires_in=timedelta(hours=1))
    expired = _stored(account, expires_in=timedelta(seconds=-1))

    store = SessionStore(live.session_key)
    gone = SessionStore(expired.session_key)

    assert store.load() == live.get_decoded()
    assert store.session_key == live.session_key
    assert (gone.load(), gone.session_key) == ({}, None)


def test_the_backend_in_use_is_this_one():
    assert settings.SESSION_ENGINE == "baogong.accounts.sessions"


@pytest.mark.postgres
def test_on_postgresql_the_read_is_prepared_once_per_session(client, users):
    session = _stored(users[Role.COMMAND], expires_in=timedelta(hours=1))
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    client.get("/api/me")

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/me").status_code == 200

    # What a signed-in request reads before the view: the session, then the account, both prepared.
    session_read = sql.prepared_name(session_read_sql())
    account_read = sql.prepared_name(user_read_sql())
    assert [q["sql"].split("(")[0] for q in queries] == [f"EXECUTE {session_read}", f"EXECUTE {account_read}"]
