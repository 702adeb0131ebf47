"""Concurrent pass issuance on PostgreSQL with real threads (one connection each)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from baogong.core.errors import Conflict
from baogong.core.tests.concurrency import run_concurrently as run_shared
from baogong.delivery.models import GreenPass, GreenPassCounter
from baogong.delivery.services import pass_issue
from baogong.delivery.tests import factories
from baogong.regions.tests.factories import make_tree
from baogong.stock.tests.factories import stock_point

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(workers: int, calls: int, func) -> list[str]:
    return run_shared(workers, calls, func, refused=Conflict)


def test_concurrent_issuance_never_duplicates_numbers():
    tree = make_tree()
    owner = factories.organisation(tree.county)
    depot = stock_point(tree.county)
    vehicles = [factories.vehicle(owner) for _ in range(40)]
    driver = factories.driver(owner)
    start = timezone.now()

    outcomes = run_concurrently(
        12,
        40,
        lambda i: pass_issue(
            actor=None,
            region=tree.county,
            vehicle=vehicles[i],
            driver=driver,
            valid_from=start,
            valid_until=start + timedelta(hours=8),
            destinations=[tree.compound],
            origin_stock_point=depot,
        ),
    )

    numbers = list(GreenPass.objects.values_list("serial", flat=True))
    assert outcomes == ["ok"] * 40
    assert sorted(numbers) == list(range(1, 41))
    assert GreenPass.objects.values("number").distinct().count() == 40
    assert GreenPassCounter.objects.get().last_serial == 40


def test_concurrent_passes_for_one_vehicle_leave_exactly_one_active():
    tree = make_tree()
    owner = factories.organisation(tree.county)
    depot = stock_point(tree.county)
    vehicle = factories.vehicle(owner)
    driver = factories.driver(owner)
    start = timezone.now()

    outcomes = run_concurrently(
        8,
        8,
        lambda i: pass_issue(
            actor=None,
            region=tree.county,
            vehicle=vehicle,
            driver=driver,
            valid_from=start + timedelta(minutes=i),
            valid_until=start + timedelta(hours=8),
            destinations=[tree.compound],
            origin_stock_point=depot,
        ),
    )

    assert sorted(outcomes) == ["ok"] + ["refused"] * 7
    assert GreenPass.objects.filter(vehicle=vehicle).count() == 1
    # Refused issuances roll back their serial with them: numbers stay gapless.
    assert GreenPassCounter.objects.get().last_serial == 1


def test_exclusion_constraint_refuses_overlap_even_without_the_service():
    from django.db import IntegrityError, transaction

    tree = make_tree()
    owner = factories.organisation(tree.county)
    vehicle = factories.vehicle(owner)
    driver = factories.driver(owner)
    depot = stock_point(tree.county)
    first = factories.green_pass(
        region=tree.county, vehicle=vehicle, driver=driver, destinations=[tree.compound], origin=depot
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        GreenPass.objects.create(
            number="000000999999",
            area_code="000000",
            serial=999_999,
            region=tree.county,
            vehicle=vehicle,
            driver=driver,
            valid_from=first.valid_from + timedelta(hours=1),
            valid_until=first.valid_until + timedelta(hours=1),
            origin_stock_point=depot,
        )
    assert GreenPass.objects.count() == 1
