"""Two couriers and duplicated actions racing on real connections (SQLite file in WAL, or PostgreSQL).

Both couriers hold the same walk of 7 packages and confirm every package;
each action is sent three times at once (a phone retrying a request whose
answer was slow). Whatever interleaving the threads get: one event per
package, each action id answered one way every time, one courier wins each
package and the other gets 409 on all three copies.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from baogong.accounts.models import User
from baogong.lastmile.models import CourierAction, DeliveryEvent
from baogong.lastmile.services import courier_actions_sync
from baogong.lastmile.tests.world import build_last_mile_world
from baogong.orders.models import Order
from baogong.orders.tests.test_concurrency import concurrent_database, run_in_threads  # noqa: F401 - fixture
from baogong.planning.models import PlanRoster

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

COPIES = 3
THREADS = 8
AT = datetime(2030, 4, 12, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_racing_couriers_and_duplicates_leave_one_event_per_package(concurrent_database):  # noqa: F811
    lm = build_last_mile_world()
    first, second = lm.volunteers
    walk = PlanRoster.objects.get(plan=lm.plan, volunteer=first)
    PlanRoster.objects.create(
        plan=lm.plan, part=walk.part, compound=walk.compound, number=9, volunteer=second,
        household_count=walk.household_count, stops=walk.stops,
    )  # fmt: skip
    packages = lm.roster_orders(first)
    actions = [
        (courier, {"action_id": str(uuid.uuid4()), "order_id": order_id, "outcome": "delivered",
                   "client_at": AT.isoformat()})
        for order_id in packages
        for courier in (first, second)
    ]  # fmt: skip
    answers: dict[str, set[int]] = {}

    def call(courier: User, raw: dict[str, object]) -> Callable[[], str]:
        def send() -> str:
            [result] = courier_actions_sync(actor=courier, actions=[raw])
            answers.setdefault(result.action_id, set()).add(result.status)
            return str(result.status)

        return send

    outcomes = run_in_threads([call(c, raw) for c, raw in actions for _ in range(COPIES)], threads=THREADS)

    assert outcomes == Counter({"201": len(packages) * COPIES, "409": len(packages) * COPIES})
    assert all(len(statuses) == 1 for statuses in answers.values())
    assert Counter(DeliveryEvent.objects.values_list("order_id", flat=True)) == Counter(packages)
    assert CourierAction.objects.count() == len(actions)
    assert set(Order.objects.filter(pk__in=packages).values_list("status", flat=True)) == {"delivered"}
