"""R21 offline-delivery-sync: a phone outbox replayed against the sync endpoint.

200 packages on 20 rosters of 10 in one sealed compound, four couriers. Each
package gets a "delivered" action from its courier, 40 of them an earlier
"not reached" too, and 10 a second "delivered" from another courier who holds
the same walk. Every action is queued three times, the outboxes are shuffled,
and 10 % of the responses are dropped on the way back (the phone keeps those
actions and sends them again, as courier.js does).

Must hold: exactly one delivery event per package (200/200), no package or
order ever seen to move backward, each conflicting second confirmation answered
409 (10/10) and every replay answered exactly as the first time, no 5xx.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from baogong.accounts.models import Role, User
from baogong.accounts.tests.factories import user
from baogong.lastmile.models import DeliveryEvent
from baogong.lastmile.tests.world import build_last_mile_world
from baogong.orders.models import Order, OrderEvent, OrderStatus
from baogong.planning.models import PlanRoster
from baogong.regions.models import Household

pytestmark = pytest.mark.django_db

PACKAGES = 200
ROSTER_SIZE = 10
COURIERS = 4
COPIES = 3
DROP_RATE = 0.10
NOT_REACHED_EVERY = 5
CONFLICTS = 10
BATCH = 8
SEED = 21
SHANGHAI = ZoneInfo("Asia/Shanghai")
DOOR = datetime(2030, 4, 12, 9, 0, tzinfo=SHANGHAI)


def _world() -> tuple[list[User], dict[int, list[int]], list[int]]:
    """Couriers, each courier's packages (order ids), and the packages a second courier also holds."""
    lm = build_last_mile_world()
    a1 = lm.pw.ow.world.regions["A1"]
    unit = lm.pw.ow.world.regions["A1-unit"]
    template = lm.household_order("A1a")
    households = Household.objects.bulk_create(
        [
            Household(
                unit=unit, compound=a1, room=f"9{n:03d}", head_name="李四", size=2, phone=f"1370000{n:04d}",
                id_number="",
            )
            for n in range(PACKAGES)
        ]
    )  # fmt: skip
    # Orders as the gate leaves them (checked, ready to walk); their lines play no part in delivery.
    fields = {
        f.name: getattr(template, f.name)
        for f in Order._meta.concrete_fields
        if f.name not in {"id", "household", "created_at", "updated_at"}
    }
    orders = Order.objects.bulk_create(
        [Order(**{**fields, "household": h, "status": OrderStatus.VERIFIED}) for h in households]
    )
    couriers = [user(Role.VOLUNTEER, region=a1) for _ in range(COURIERS)]
    walk = lm.plan.rosters.filter(compound=a1).first()
    assert walk is not None
    owned: dict[int, list[int]] = defaultdict(list)
    for number, start in enumerate(range(0, PACKAGES, ROSTER_SIZE), start=101):
        courier = couriers[(number - 101) % COURIERS]
        chunk = list(zip(households[start : start + ROSTER_SIZE], orders[start : start + ROSTER_SIZE], strict=True))
        PlanRoster.objects.create(
            plan=lm.plan, part=walk.part, compound=a1, number=number, volunteer=courier, household_count=len(chunk),
            stops=[{"household": h.pk, "building": "1", "unit": "1", "floor": 9, "room": h.room} for h, _ in chunk],
        )  # fmt: skip
        owned[courier.pk].extend(o.pk for _, o in chunk)
    # Courier 1 also holds the first ten households of courier 0's first walk (a stand-in).
    shared = owned[couriers[0].pk][:CONFLICTS]
    PlanRoster.objects.create(
        plan=lm.plan, part=walk.part, compound=a1, number=199, volunteer=couriers[1], household_count=CONFLICTS,
        stops=[{"household": Order.objects.get(pk=o).household_id, "building": "1", "unit": "1", "floor": 9,
                "room": ""} for o in shared],
    )  # fmt: skip
    return couriers, owned, shared


def _action(order_id: int, outcome: str, at: datetime) -> dict[str, Any]:
    return {"action_id": str(uuid.uuid4()), "order_id": order_id, "outcome": outcome, "client_at": at.isoformat()}


def test_offline_replay_yields_exactly_one_event_per_package(record_property) -> None:
    rng = random.Random(SEED)
    couriers, owned, shared = _world()
    actions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for courier in couriers:
        for index, order_id in enumerate(owned[courier.pk]):
            if index % NOT_REACHED_EVERY == 0:
                actions[courier.pk].append(_action(order_id, "not_reached", DOOR - timedelta(minutes=30)))
            actions[courier.pk].append(_action(order_id, "delivered", DOOR + timedelta(minutes=index)))
    second = [_action(order_id, "delivered", DOOR + timedelta(minutes=1)) for order_id in shared]
    actions[couriers[1].pk].extend(second)
    conflict_ids = {a["action_id"] for a in second} | {
        a["action_id"] for a in actions[couriers[0].pk] if a["order_id"] in shared and a["outcome"] == "delivered"
    }

    outboxes = {}
    for courier in couriers:
        entries = [dict(a) for a in actions[courier.pk] for _ in range(COPIES)]
        rng.shuffle(entries)
        outboxes[courier.pk] = entries
    phones = {}
    for courier in couriers:
        phones[courier.pk] = Client()
        phones[courier.pk].force_login(courier)

    url = reverse("lastmile:courier_sync")
    first_answer: dict[str, dict[str, Any]] = {}
    seen_outcomes: dict[int, list[str]] = defaultdict(list)
    requests = dropped = server_errors = replay_mismatches = sent_actions = 0
    started = time.perf_counter()
    while any(outboxes.values()):
        courier_id = rng.choice([pk for pk, box in outboxes.items() if box])
        box = outboxes[courier_id]
        batch, outboxes[courier_id] = box[:BATCH], box[BATCH:]
        response = phones[courier_id].post(url, data=json.dumps({"actions": batch}), content_type="application/json")
        requests += 1
        sent_actions += len(batch)
        if response.status_code >= 500:
            server_errors += 1
        if rng.random() < DROP_RATE:
            # The answer never reached the phone: it keeps the actions and sends them again later.
            dropped += 1
            outboxes[courier_id].extend(batch)
            continue
        assert response.status_code == 200, response.content
        for result in response.json()["results"]:
            server_errors += result["status"] >= 500
            key = result["action_id"]
            comparable = {k: v for k, v in result.items() if k != "replayed"}
            if key in first_answer:
                # A replay repeats the first answer word for word (even one given before a later outcome).
                replay_mismatches += comparable != first_answer[key]
            else:
                first_answer[key] = comparable
            if result["outcome"] and not result["replayed"]:
                # Fresh decisions, in the order the server made them.
                seen_outcomes[result["order_id"]].append(result["outcome"])
    elapsed = time.perf_counter() - started

    all_packages = [o for ids in owned.values() for o in ids]
    events = Counter(
        DeliveryEvent.objects.filter(order_id__in=all_packages, outcome="delivered").values_list("order_id", flat=True)
    )
    packages_with_one_event = sum(1 for order_id in all_packages if events[order_id] == 1)
    # Backward, as the server decided: any fresh answer after "delivered" that says otherwise.
    backward_seen = sum(
        1
        for outcomes in seen_outcomes.values()
        for i, outcome in enumerate(outcomes)
        if outcome != "delivered" and "delivered" in outcomes[:i]
    )
    # Backward, as the database holds it: each order went verified → delivered and nothing after.
    histories: dict[int, list[str]] = defaultdict(list)
    for order_id, to_status in (
        OrderEvent.objects.filter(order_id__in=all_packages).order_by("pk").values_list("order_id", "to_status")
    ):
        histories[order_id].append(to_status)
    backward_stored = sum(1 for order_id in all_packages if histories[order_id] != ["delivered"])
    # ... and a "not reached" stored after the delivery would be one too.
    kept = defaultdict(list)
    for order_id, outcome in (
        DeliveryEvent.objects.filter(order_id__in=all_packages).order_by("pk").values_list("order_id", "outcome")
    ):
        kept[order_id].append(outcome)
    backward_stored += sum(1 for outcomes in kept.values() if outcomes[-1] != "delivered")
    statuses = Counter(Order.objects.filter(pk__in=all_packages).values_list("status", flat=True))
    conflict_answers = Counter(first_answer[a]["status"] for a in conflict_ids)
    conflicting_second = conflict_answers[409]
    winners = {
        order_id: DeliveryEvent.objects.get(order_id=order_id, outcome="delivered").courier_id for order_id in shared
    }

    figure = (
        f"{packages_with_one_event}/{PACKAGES} packages with exactly one delivery event; "
        f"{backward_seen + backward_stored} backward transitions; {conflicting_second}/{CONFLICTS} conflicting "
        f"second confirmations answered 409; {server_errors} 5xx"
    )
    record_property("figure", figure)
    print(
        f"\nR21 offline-delivery-sync: {packages_with_one_event}/{PACKAGES} packages with exactly one delivery event; "
        f"{backward_seen + backward_stored} backward transitions; {conflicting_second}/{CONFLICTS} conflicting "
        f"second confirmations answered 409; {server_errors} 5xx; {replay_mismatches} replays answered differently; "
        f"{requests} requests ({dropped} responses dropped), {sent_actions} actions sent for "
        f"{len(first_answer)} distinct ids; {DeliveryEvent.objects.filter(outcome='not_reached').count()} "
        f"not-reached events kept; {elapsed:.2f} s"
    )
    assert packages_with_one_event == PACKAGES
    assert (
        DeliveryEvent.objects.filter(order_id__in=all_packages)
        .exclude(outcome__in=["delivered", "not_reached"])
        .count()
        == 0
    )
    assert (backward_seen, backward_stored) == (0, 0)
    assert statuses == {"delivered": PACKAGES}
    assert conflicting_second == CONFLICTS
    assert conflict_answers == {201: CONFLICTS, 409: CONFLICTS}
    assert all(winner in {couriers[0].pk, couriers[1].pk} for winner in winners.values())
    assert server_errors == 0
    assert replay_mismatches == 0
    assert dropped > 0
    assert len(first_answer) == sum(len(a) for a in actions.values())
