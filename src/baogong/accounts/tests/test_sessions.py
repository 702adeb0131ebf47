"""The session backend: Django's database sessions, read together with their account in one query."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.signals import request_finished
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baogong.accounts.backends import ModelBackend
from baogong.accounts.models import Role, Session, User
from baogong.accounts.sessions import SessionStore, session_read_sql, take_account_row
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

    # What a signed-in request reads before the view: the session with its account, prepared.
    assert [q["sql"].split("(")[0] for q in queries] == [f"EXECUTE {sql.prepared_name(session_read_sql())}"]


def test_a_signed_in_request_reads_session_and_account_in_one_query(client, users):
    account = users[Role.COMMAND]
    session = _stored(account, expires_in=timedelta(hours=1))
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    client.get("/api/me")

    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/api/me")

    assert (answer.status_code, answer.json()["id"]) == (200, account.pk)
    assert len(queries) == 1


def test_signing_in_and_out_keeps_the_account_column(client, users):
    account = users[Role.COMMUNITY]
    account.set_password("pw-for-tests-only")
    account.save()

    client.post("/login/", {"username": account.username, "password": "pw-for-tests-only"})
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert list(Session.objects.values_list("session_key", "account_id")) == [(key, account.pk)]

    # A new key for the same sign-in (as after a password change) keeps the column.
    store = SessionStore(key)
    store.cycle_key()
    assert list(Session.objects.values_list("session_key", "account_id")) == [(store.session_key, account.pk)]
    assert store.session_key != key


def test_a_session_of_nobody_has_no_account(users):
    store = SessionStore()
    store["django_language"] = "en"
    store.save()

    assert Session.objects.get(session_key=store.session_key).account_id is None
    assert SessionStore(store.session_key).load() == {"django_language": "en"}
    assert take_account_row(users[Role.COMMAND].pk) is None


def test_the_account_row_is_taken_once_and_only_for_its_account(users):
    account, other = users[Role.RESIDENT], users[Role.COMMAND]
    session = _stored(account, expires_in=timedelta(hours=1))
    # The account read on its own, once, so that on PostgreSQL it is prepared before the counts below.
    assert ModelBackend().get_user(other.pk).pk == other.pk
    SessionStore(session.session_key).load()

    assert take_account_row(other.pk) is None
    with CaptureQueriesContext(connection) as queries:
        loaded = ModelBackend().get_user(account.pk)
    assert (loaded.pk, len(queries)) == (account.pk, 0)
    # Taken: asking again reads the account from the database.
    with CaptureQueriesContext(connection) as queries:
        assert ModelBackend().get_user(account.pk).pk == account.pk
    assert len(queries) == 1


def test_a_later_session_read_replaces_the_row_of_an_earlier_one(users):
    account = users[Role.RESIDENT]
    SessionStore(_stored(account, expires_in=timedelta(hours=1)).session_key).load()
    # An unknown key, then an expired one: neither leaves the first session's account behind.
    for key in ("0" * 32, _stored(account, expires_in=timedelta(seconds=-1)).session_key):
        SessionStore(key).load()
        assert take_account_row(account.pk) is None
        SessionStore(_stored(account, expires_in=timedelta(hours=1)).session_key).load()


def test_a_session_without_the_column_still_signs_its_account_in(client, users):
    # A row written before the column existed (or by any other writer) names its account only in its data.
    account = users[Role.COMMAND]
    session = _stored(account, expires_in=timedelta(hours=1))
    Session.objects.filter(pk=session.pk).update(account=None)
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    assert client.get("/api/me").json()["id"] == account.pk


def test_an_inactive_account_read_with_its_session_is_nobody(client, users):
    account = users[Role.COMMAND]
    session = _stored(account, expires_in=timedelta(hours=1))
    User.objects.filter(pk=account.pk).update(is_active=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    assert client.get("/api/me").status_code == 401


def test_a_row_nobody_took_is_dropped_when_the_request_ends(users):
    account = users[Role.RESIDENT]
    SessionStore(_stored(account, expires_in=timedelta(hours=1)).session_key).load()

    request_finished.send(sender=None)

    assert take_account_row(account.pk) is None


def test_a_session_naming_an_account_that_is_gone_saves_and_signs_nobody_in(client, users):
    account = users[Role.RESIDENT]
    session = signed_in_session(account, expires_at=timezone.now() + timedelta(hours=1))
    store = SessionStore()
    data = store.decode(session.session_data)
    # The account is deleted while a request of its session is still on its way.
    User.objects.filter(pk=account.pk).delete()
    store.update(data)
    store.save()
    # What a commit would check: no foreign key refuses the row (the test's transaction never commits).
    connection.check_constraints(table_names=[Session._meta.db_table])

    assert Session.objects.get(session_key=store.session_key).account_id == account.pk
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    assert client.get("/api/me").status_code == 401


def test_deleting_an_account_deletes_its_sessions(users):
    account = users[Role.RESIDENT]
    _stored(account, expires_in=timedelta(hours=1))
    kept = _stored(users[Role.COMMAND], expires_in=timedelta(hours=1))

    account.delete()

    assert list(Session.objects.values_list("session_key", flat=True)) == [kept.session_key]


def test_the_upgrade_carries_live_sessions_over_with_their_accounts(users, monkeypatch):
    from django.apps import apps
    from django.contrib.sessions.backends.db import SessionStore as DjangoStore
    from django.contrib.sessions.models import Session as DjangoSession

    moving = importlib.import_module("baogong.accounts.migrations.0003_session")
    account = users[Role.RESIDENT]
    later, earlier = timezone.now() + timedelta(hours=1), timezone.now() - timedelta(hours=1)
    signed_in = signed_in_session(account, expires_at=later).session_data
    nobody = DjangoStore().encode({"django_language": "en"})
    monkeypatch.setattr(moving, "BATCH", 2)  # more sessions than one batch
    DjangoSession.objects.bulk_create(
        [
            DjangoSession(session_key="a" * 32, session_data=signed_in, expire_date=later),
            DjangoSession(session_key="b" * 32, session_data=nobody, expire_date=later),
            DjangoSession(session_key="c" * 32, session_data=signed_in, expire_date=earlier),
            # Signed with another secret: the data does not decode, so it names nobody.
            DjangoSession(session_key="d" * 32, session_data="forged:data", expire_date=later),
            DjangoSession(session_key="e" * 32, session_data=signed_in, expire_date=later),
        ]
    )

    moving.move_live_sessions(apps, None)

    moved = sorted(Session.objects.values_list("session_key", "account_id"))
    assert moved == [("a" * 32, account.pk), ("b" * 32, None), ("d" * 32, None), ("e" * 32, account.pk)]
    assert DjangoSession.objects.count() == 0

    # And back, for a rollback: the live sessions return to Django's table.
    moving.move_sessions_back(apps, None)
    assert sorted(DjangoSession.objects.values_list("session_key", flat=True)) == [
        "a" * 32,
        "b" * 32,
        "d" * 32,
        "e" * 32,
    ]
