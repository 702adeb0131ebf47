"""R11 login throttling: a locked account stays locked whatever the client claims to be."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.models import AuditLog
from baogong.core.security import client_ip_address
from baogong.regions.models import RegionLevel
from baogong.regions.tests.factories import region

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"
LIMIT = 5
LOGIN_URLS = [reverse("login"), reverse("admin:login")]


@pytest.fixture(autouse=True)
def _throttle_on():
    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=timedelta(minutes=15)):
        yield


@pytest.fixture
def county():
    return region(None, RegionLevel.COUNTY, "C 县")


@pytest.fixture
def account(county):
    # is_staff so the admin login would accept the right password.
    staff = user(Role.COMMAND, region=county, password=PASSWORD)
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    return staff


def attempt(client: Client, url: str, username: str, password: str, **headers: str):
    return client.post(url, {"username": username, "password": password, "next": "/"}, **headers)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def lockout_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "baogong.security" and r.getMessage().startswith("login locked out")]


def spoofed_address() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


@pytest.mark.parametrize("url", LOGIN_URLS, ids=["site", "admin"])
def test_after_the_limit_every_attempt_is_refused_including_the_right_password(url, account, caplog):
    caplog.set_level(logging.WARNING, logger="baogong.security")
    client = Client()
    statuses = [attempt(client, url, account.username, "wrong-password").status_code for _ in range(10)]

    # The attempt that reaches the limit is already answered with the lockout.
    assert statuses == [200] * (LIMIT - 1) + [429] * (10 - LIMIT + 1)
    right = attempt(client, url, account.username, PASSWORD)
    assert right.status_code == 429
    assert not signed_in(client)
    assert AccessAttempt.objects.get(username=account.username).failures_since_start == 11
    # Every refused attempt from the limit on is logged, naming the account by id only.
    lines = lockout_lines(caplog)
    assert len(lines) == 10 - LIMIT + 1 + 1
    assert all(f"account={account.pk} path={url} " in r.getMessage() for r in lines)
    assert all(account.username not in r.getMessage() for r in lines)
    rows = AuditLog.objects.filter(action="login.locked_out")
    assert rows.count() == len(lines)
    assert set(rows.values_list("target_type", "target_id", "actor")) == {("account", str(account.pk), None)}


@pytest.mark.parametrize("url", LOGIN_URLS, ids=["site", "admin"])
def test_spoofed_forwarded_for_headers_do_not_get_around_a_lockout(url, account, caplog, record_property):
    caplog.set_level(logging.WARNING, logger="baogong.security")
    client = Client()
    for _ in range(LIMIT):
        attempt(client, url, account.username, "wrong-password")
    caplog.clear()

    bypasses = 0
    for _ in range(20):
        address = spoofed_address()
        response = attempt(
            Client(),
            url,
            account.username,
            PASSWORD,
            HTTP_X_FORWARDED_FOR=address,
            HTTP_X_REAL_IP=address,
            REMOTE_ADDR=spoofed_address(),
        )
        bypasses += response.status_code != 429
    assert bypasses == 0
    assert len(lockout_lines(caplog)) == 20
    record_property("figure", f"{url}: locked from attempt {LIMIT}; {bypasses}/20 spoofed bypasses; 20/20 logged")


def test_a_different_account_is_not_locked_by_someone_elses_failures(account, county):
    other = user(Role.COMMAND, region=county, password=PASSWORD)
    client = Client()
    for _ in range(LIMIT):
        attempt(client, reverse("login"), account.username, "wrong-password")

    response = attempt(client, reverse("login"), other.username, PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)


def test_unknown_usernames_are_locked_out_too_without_revealing_anything(caplog):
    caplog.set_level(logging.WARNING, logger="baogong.security")
    client = Client()
    statuses = [attempt(client, reverse("login"), "13800000000", "guess").status_code for _ in range(LIMIT)]

    assert statuses == [200] * (LIMIT - 1) + [429]
    [line] = lockout_lines(caplog)
    assert "account=unknown" in line.getMessage()
    assert "13800000000" not in caplog.text


def test_the_right_password_works_again_after_the_cool_off(account):
    client = Client()
    for _ in range(LIMIT):
        attempt(client, reverse("login"), account.username, "wrong-password")
    assert attempt(client, reverse("login"), account.username, PASSWORD).status_code == 429

    record = AccessAttempt.objects.get(username=account.username)
    record.attempt_time -= timedelta(minutes=16)
    record.save(update_fields=["attempt_time"])

    response = attempt(client, reverse("login"), account.username, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)
    # A successful sign-in starts the count again.
    assert not AccessAttempt.objects.filter(username=account.username).exists()


def test_the_lockout_page_says_what_happened_in_the_users_language(account):
    client = Client()
    for _ in range(LIMIT - 1):
        attempt(client, reverse("login"), account.username, "wrong-password")

    with translation.override("en"):
        response = attempt(client, reverse("login"), account.username, "wrong", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 429
    page = response.content.decode()
    assert "This account has been locked after 5 wrong passwords." in page
    assert "Try again in 15 minutes, or ask the administrator to unlock the account." in page


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "10.0.0.9"),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}, "203.0.113.7"),
        (2, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7, 10.0.0.2"}, "203.0.113.7"),
        (2, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, "10.0.0.1"),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "not-an-address"}, "10.0.0.1"),
        (1, {"REMOTE_ADDR": "10.0.0.1"}, "10.0.0.1"),
    ],
    ids=["no-proxy-ignores-header", "one-proxy", "two-proxies", "too-few-entries", "garbage", "no-header"],
)
def test_the_client_address_trusts_only_entries_written_by_our_own_proxies(proxies, meta, expected):
    request = RequestFactory().get("/", **meta)

    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip_address(request) == expected
