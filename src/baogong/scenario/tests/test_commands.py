"""The `generate` and `demo_setup` management commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.utils import translation

from baogong.accounts.models import Role, User
from baogong.core.models import AuditLog
from baogong.regions.models import Household, Region, RegionLevel
from baogong.scenario.services import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

DEMO_USERNAMES = [
    "command",
    "department",
    "subdistrict",
    "community",
    "supplier",
    "volunteer",
    "checkpoint",
    "resident",
]


def test_generate_prints_counts_and_refuses_a_second_run():
    out = StringIO()
    call_command("generate", "--preset", "demo", "--seed", "3", stdout=out)
    assert "households" in out.getvalue()
    assert Household.objects.count() == 2400

    with translation.override("en"), pytest.raises(CommandError, match="already holds regions"):
        call_command("generate", "--preset", "demo", "--seed", "4", stdout=StringIO())
    assert AuditLog.objects.filter(action="scenario.generate").count() == 1


def test_demo_setup_creates_one_login_per_role_and_is_idempotent():
    out = StringIO()
    call_command("demo_setup", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000" in text
    assert DEMO_PASSWORD in text

    demo_users = {u.username: u for u in User.objects.filter(username__in=[*DEMO_USERNAMES, "admin"])}
    assert sorted(demo_users) == sorted([*DEMO_USERNAMES, "admin"])
    assert sorted(demo_users[name].role for name in DEMO_USERNAMES) == sorted(Role.values)
    assert demo_users["admin"].is_superuser
    for name in [*DEMO_USERNAMES, "admin"]:
        assert authenticate(username=name, password=DEMO_PASSWORD) == demo_users[name]

    root = Region.objects.get(level=RegionLevel.COUNTY)
    assert demo_users["command"].region == root
    assert demo_users["checkpoint"].region == root
    assert demo_users["department"].organisation.name == "商务局"
    community = demo_users["community"].region
    assert community.level == RegionLevel.COMMUNITY
    assert community.parent == demo_users["subdistrict"].region
    compound = demo_users["volunteer"].region
    assert compound.parent == community
    assert demo_users["supplier"].organisation == compound.pairing.supermarket
    assert demo_users["resident"].household.compound == compound

    users, regions, audits = User.objects.count(), Region.objects.count(), AuditLog.objects.count()
    call_command("demo_setup", stdout=StringIO())
    assert (User.objects.count(), Region.objects.count(), AuditLog.objects.count()) == (users, regions, audits)


def test_demo_setup_keeps_an_existing_scenario():
    call_command("generate", "--preset", "demo", "--seed", "5", stdout=StringIO())
    households = list(Household.objects.order_by("pk").values_list("head_name", flat=True)[:20])
    call_command("demo_setup", "--seed", "1", stdout=StringIO())
    assert list(Household.objects.order_by("pk").values_list("head_name", flat=True)[:20]) == households
    assert AuditLog.objects.filter(action="scenario.generate").count() == 1
