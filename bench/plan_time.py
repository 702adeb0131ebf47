"""Benchmark: planning time of a whole delivery day (allocation, routing, rosters and pickup slots).

    python bench/plan_time.py                                   # county preset in a fresh SQLite file
    DATABASE_URL=postgres://USER@HOST:5432/NAME \\
      python bench/plan_time.py --city-fraction 0.1            # city preset in scratch database NAME_plan
    ... --city-fraction 0.1 --keep, then --reuse --keep           # plan the kept city database again

What it does, in one run:

1. Builds the world in a scratch database: the county in a fresh SQLite file
   under BAOGONG_VAR_DIR (or a temporary directory); the city in a scratch
   PostgreSQL database `<name>_plan` next to DATABASE_URL's (recreated, never
   that database itself; dropped afterwards unless --keep). The scenario is
   `scenario_generate` with the preset and seed (for the city only the first
   `--city-fraction` of subdistricts get households).
2. Writes one day of demand as fixtures, in bulk: `orders_per_household_per_day`
   of the scenario parameters (0.34) of all households order from their paired
   supermarket. Each order is valid as the ordering path would leave it after
   confirmation: status confirmed, lines on the supermarket's offer lines for
   the day, amounts = unit price x quantity, total = sum of lines, cash due on
   delivery, proxy channel read back, offer lines' `reserved` = what was
   ordered, one confirmed purchase order per supermarket and compound. A few
   vulnerable households get a free relief kit instead. Milk is offered (and
   ordered) far beyond what the supermarkets hold, the deliberate shortage the
   allocation must share out; other goods are mostly covered by stock. Order
   events, payments and per-household quotas are not written: the ordering
   path has its own benchmark (bench/order_rush.py), and the planner reads
   none of them.
3. On PostgreSQL, runs ANALYZE first: the statistics autovacuum keeps on a
   live database, which a bulk-loaded scratch database lacks.
   Plans the day as production does: one process runs `day_plan_start`
   (the plan and one allocation task per supermarket), then `--workers`
   database task workers (`db_worker --batch`, as `baogong worker` runs) run
   the allocations; the last allocation of a plan splits the fleet and queues
   one task per subdistrict, which the same workers solve. All processes have Django loaded
   before the clock starts, as long-running workers do.
4. Prints wall time and the phases (allocation, fleet split, and per part:
   reading loads, routing, rosters and pickup slots, storing rows), summed over
   parts and for the slowest part, peak RSS of every process, the counts, the
   solution quality, and pass/fail against the targets. Also a same-run
   reference: a fixed CPU-bound loop timed before and after the plan, so a
   result from a loaded machine can be told from a slow planner.

For a city fraction it also extrapolates to the whole city, labelled as such.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DAY = "2030-04-12"
COUNTY_TARGET_S = 60.0
CITY_TARGET_S = 600.0
CITY_MEMORY_TARGET_MIB = 8 * 1024
CITY_HOUSEHOLDS = 10_580_000
CITY_SUBDISTRICTS = 215
# What an order holds: (kind, code, price, chance an order has it, largest quantity). The package is
# the staple; milk is the short item (supermarkets hold a few hundred cases, orders ask for thousands).
ORDER_MENU: tuple[tuple[str, str, str, float, int], ...] = (
    ("kit", "veg_package_std", "30.00", 0.8, 1),
    ("commodity", "rice_5kg", "32.00", 0.15, 1),
    ("commodity", "oil_5l", "65.00", 0.08, 1),
    ("commodity", "eggs", "18.00", 0.15, 1),
    ("commodity", "pork_frozen", "28.00", 0.15, 2),
    ("commodity", "milk", "6.50", 0.35, 2),
)
RELIEF_KIT = "relief_kit_8"
RELIEF_SHARE_OF_VULNERABLE = 0.05
REFERENCE_LOOPS = 3_000_000


# --- helpers --------------------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reference_loop() -> float:
    """A fixed CPU-bound piece of pure Python; its time says how much of a core this process got."""
    started = time.perf_counter()
    total = 0
    for i in range(REFERENCE_LOOPS):
        total = (total + i * i) % 1_000_003
    elapsed = time.perf_counter() - started
    assert total >= 0
    return elapsed


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baogong.config.settings.base")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def _emit(data: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(data, default=str), flush=True)


def _result_of(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit("child printed no result:\n" + output[-4000:])


def _run(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, *args], env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-8000:])
        raise SystemExit(completed.returncode)
    return _result_of(completed.stdout)


def _waiting_child(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    """A child that loads Django, prints READY and waits for a line on stdin before it starts."""
    child = subprocess.Popen(
        [sys.executable, __file__, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if line.strip() != "READY":
        raise SystemExit(f"child {args} did not start: {line!r}; see {log}")
    return child


def _go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def _finish(child: subprocess.Popen[str], log: Path) -> dict[str, Any]:
    assert child.stdout is not None
    output = child.stdout.read()
    if child.wait() != 0:
        raise SystemExit(f"child failed; see {log}\n{output[-2000:]}")
    return _result_of(output)


def _wait_for_go() -> None:
    print("READY", flush=True)
    sys.stdin.readline()


# --- children -------------------------------------------------------------------------------------


def child_generate(preset: str, seed: int, fraction: float) -> None:
    _django()
    from baogong.scenario.services import scenario_generate

    started = time.perf_counter()
    result = scenario_generate(actor=None, preset=preset, seed=seed, subdistrict_fraction=fraction)
    _emit({"seconds": time.perf_counter() - started, "counts": result.counts, "peak_rss_mib": _peak_rss_mib()})


def child_orders(seed: int, preset: str) -> None:
    """One day of confirmed orders, written in bulk (see the module docstring for what is and is not written)."""
    _django()
    from decimal import Decimal

    from django.db import connection, transaction
    from django.db.models import Count

    from baogong.accounts.models import Role, User
    from baogong.catalog.models import Commodity, Kit
    from baogong.enterprises.models import CompoundPairing
    from baogong.orders.models import (
        Channel,
        DeliveryMode,
        OfferKind,
        OfferLine,
        Order,
        OrderLine,
        OrderStatus,
        PaymentMethod,
        PaymentStatus,
        PurchaseOrder,
        PurchaseOrderLine,
        PurchaseOrderStatus,
    )
    from baogong.planning.services import instances_insert
    from baogong.regions.models import Household
    from baogong.scenario.parameters import preset_get

    def rows_insert(model: Any, instances: list[Any]) -> None:
        # A whole city's day is millions of rows: COPY on PostgreSQL (the planner's own row writer).
        if connection.vendor == "postgresql":
            instances_insert(instances)
        else:
            model.objects.bulk_create(instances, batch_size=2000)

    def order_insert(orders: list[Any]) -> None:
        if connection.vendor != "postgresql":
            Order.objects.bulk_create(orders, batch_size=2000)
            return
        # Keys from the table's own sequence, so the lines can point at their orders without reading back.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('orders_order', 'id')) FROM generate_series(1, %s)",
                [len(orders)],
            )
            for order, (pk,) in zip(orders, cursor.fetchall(), strict=True):
                order.pk = pk
        instances_insert(orders, keys=True)

    started = time.perf_counter()
    share = float(preset_get(name=preset).generator["orders_per_household_per_day"])
    day = __import__("datetime").date.fromisoformat(DAY)
    rng = random.Random(seed)
    kits = {k.code: k for k in Kit.objects.all()}
    commodities = {c.code: c for c in Commodity.objects.all()}
    menu = [(kind, code, Decimal(price), chance, cap) for kind, code, price, chance, cap in ORDER_MENU]
    relief = kits[RELIEF_KIT]
    with_households = set(
        Household.objects.values("compound_id")
        .annotate(n=Count("id"))
        .filter(n__gt=0)
        .values_list("compound_id", flat=True)
    )
    pairings = list(
        CompoundPairing.objects.filter(compound_id__in=with_households)
        .order_by("supermarket_id", "compound_id")
        .values_list("supermarket_id", "compound_id")
    )
    volunteers: dict[int, int] = {}
    for pk, region_id in User.objects.filter(role=Role.VOLUNTEER).order_by("-pk").values_list("pk", "region_id"):
        volunteers[region_id] = pk
    by_supermarket: dict[int, list[int]] = {}
    for supermarket_id, compound_id in pairings:
        by_supermarket.setdefault(supermarket_id, []).append(compound_id)

    totals = {"orders": 0, "order_lines": 0, "relief_orders": 0, "purchase_orders": 0, "households": 0}
    ordered_units: dict[str, int] = {}
    for supermarket_id, compounds in by_supermarket.items():
        with transaction.atomic():
            # Offer lines first (quantities set once the orders are drawn): orders reference them.
            offers = {
                code: OfferLine(
                    supermarket_id=supermarket_id,
                    delivery_date=day,
                    kind=OfferKind.PACKAGE if kind == "kit" else OfferKind.ITEM,
                    kit=kits[code] if kind == "kit" else None,
                    commodity=commodities[code] if kind == "commodity" else None,
                    price=price,
                    quantity=1,
                    household_cap=cap,
                )
                for kind, code, price, _chance, cap in menu
            }
            offers[RELIEF_KIT] = OfferLine(
                supermarket_id=supermarket_id,
                delivery_date=day,
                kind=OfferKind.PACKAGE,
                kit=relief,
                price=Decimal("0.00"),
                quantity=1,
                household_cap=1,
            )
            OfferLine.objects.bulk_create(offers.values())
            reserved = dict.fromkeys(offers, 0)
            for compound_id in compounds:
                rows = list(
                    Household.objects.filter(compound_id=compound_id)
                    .order_by("pk")
                    .values_list("pk", "unit_id", "unit__parent_id", "vulnerability_mask")
                )
                totals["households"] += len(rows)
                chosen = [row for row in rows if rng.random() < share]
                if not chosen:
                    continue
                po = PurchaseOrder.objects.create(
                    supermarket_id=supermarket_id,
                    compound_id=compound_id,
                    delivery_date=day,
                    status=PurchaseOrderStatus.CONFIRMED,
                    order_count=len(chosen),
                )
                orders: list[Order] = []
                drafts: list[list[tuple[str, int, Decimal]]] = []
                for household_id, unit_id, building_id, mask in chosen:
                    assert building_id is not None  # every unit of a generated scenario is in a building
                    if mask and rng.random() < RELIEF_SHARE_OF_VULNERABLE:
                        lines = [(RELIEF_KIT, 1, Decimal("0.00"))]
                        method, status = PaymentMethod.FREE, PaymentStatus.WAIVED
                    else:
                        lines = [
                            (code, rng.randint(1, cap), price)
                            for _kind, code, price, chance, cap in menu
                            if rng.random() < chance
                        ] or [(menu[0][1], 1, menu[0][2])]
                        method, status = PaymentMethod.CASH, PaymentStatus.DUE
                    total = sum((price * quantity for _code, quantity, price in lines), Decimal("0.00"))
                    orders.append(
                        Order(
                            household_id=household_id,
                            compound_id=compound_id,
                            building_id=building_id,
                            unit_id=unit_id,
                            supermarket_id=supermarket_id,
                            delivery_date=day,
                            channel=Channel.DOOR_TO_DOOR,
                            placed_by_id=volunteers[compound_id],
                            read_back_confirmed=True,
                            status=OrderStatus.CONFIRMED,
                            delivery_mode=DeliveryMode.DOOR,
                            payment_method=method,
                            payment_status=status,
                            total=total,
                            amount_due=Decimal("0.00") if method == PaymentMethod.FREE else total,
                            purchase_order=po,
                        )
                    )
                    drafts.append(lines)
                    totals["relief_orders"] += method == PaymentMethod.FREE
                order_insert(orders)
                order_lines: list[OrderLine] = []
                po_units: dict[str, int] = {}
                for order, lines in zip(orders, drafts, strict=True):
                    for code, quantity, price in lines:
                        offer = offers[code]
                        order_lines.append(
                            OrderLine(
                                order=order,
                                offer_line=offer,
                                kind=offer.kind,
                                kit_id=offer.kit_id,
                                commodity_id=offer.commodity_id,
                                quantity=quantity,
                                confirmed_quantity=quantity,
                                unit_price=price,
                                amount=price * quantity,
                            )
                        )
                        po_units[code] = po_units.get(code, 0) + quantity
                rows_insert(OrderLine, order_lines)
                rows_insert(
                    PurchaseOrderLine,
                    [
                        PurchaseOrderLine(
                            purchase_order=po, offer_line=offers[code], quantity=units, confirmed_quantity=units
                        )
                        for code, units in sorted(po_units.items())
                    ],
                )
                po.total = sum((order.total for order in orders), Decimal("0.00"))
                po.save(update_fields=["total"])
                for code, units in po_units.items():
                    reserved[code] += units
                    ordered_units[code] = ordered_units.get(code, 0) + units
                totals["orders"] += len(orders)
                totals["order_lines"] += len(order_lines)
                totals["purchase_orders"] += 1
            for code, offer in offers.items():
                # Offered exactly what was ordered: sold out, as on a lockdown day.
                offer.quantity = max(1, reserved[code])
                offer.reserved = reserved[code]
            OfferLine.objects.bulk_update(offers.values(), ["quantity", "reserved"], batch_size=500)
    _emit(
        {
            "seconds": time.perf_counter() - started,
            **totals,
            "units": ordered_units,
            "supermarkets": len(by_supermarket),
            "peak_rss_mib": _peak_rss_mib(),
        }
    )


def child_start(time_limit_s: float) -> None:
    _django()
    from datetime import date

    from baogong.planning.day_plan import day_plan_start
    from baogong.regions.models import Region

    # The county is one tree; the city's sixteen districts are sixteen roots, so a city day is one plan
    # per district, all of whose subdistricts go to the same workers.
    roots = list(Region.objects.filter(parent__isnull=True).order_by("pk"))
    _wait_for_go()
    started = time.perf_counter()
    plans = [
        day_plan_start(actor=None, delivery_date=date.fromisoformat(DAY), area=root, time_limit_s=time_limit_s).pk
        for root in roots
    ]
    _emit({"plans": plans, "seconds": time.perf_counter() - started, "peak_rss_mib": _peak_rss_mib()})


def child_worker(worker_id: str) -> None:
    _django()
    from django.core.management import call_command

    from baogong.planning.models import DayPlan, DayPlanStatus

    _wait_for_go()
    started = time.perf_counter()
    # A batch worker leaves when the queue is empty, but a plan queues its parts only when its last
    # allocation is done: while any plan is unsettled, the queue may fill again, so look again.
    while True:
        call_command("db_worker", batch=True, startup_delay=False, reload=False, interval=0.2, worker_id=worker_id)
        if not DayPlan.objects.exclude(status__in=[DayPlanStatus.DONE, DayPlanStatus.FAILED]).exists():
            break
        time.sleep(0.1)
    _emit({"worker": worker_id, "seconds": time.perf_counter() - started, "peak_rss_mib": _peak_rss_mib()})


def child_report(plan_ids: list[int]) -> None:
    _django()
    from django.db.models import Count, Sum

    from baogong.orders.models import Order, OrderLine
    from baogong.planning.day_plan import PART_PHASES, day_plan_timings
    from baogong.planning.models import (
        AllocationItem,
        AllocationLine,
        DayPlan,
        DayPlanPart,
        PlanPickupSlot,
        PlanRoster,
        PlanRoute,
        PlanStop,
    )
    from baogong.regions.models import Household

    plans = list(DayPlan.objects.filter(pk__in=plan_ids).order_by("pk"))
    run_ids = [run for plan in plans for run in plan.allocation_runs]
    per_plan = [day_plan_timings(plan=plan).as_dict() for plan in plans]
    timings = {
        key: round(sum(float(t[key] or 0) for t in per_plan), 3)
        for key in ("allocation_work_s", "split_s", "parts_timed", *PART_PHASES)
    }
    timings["parts_timed"] = int(timings["parts_timed"])
    # The plans' allocation stages run at the same time on the same workers: the slowest is the stage's wall.
    timings["allocation_s"] = max(float(t["allocation_s"] or 0) for t in per_plan)
    timings["slowest_part_s"] = max(float(t["slowest_part_s"] or 0) for t in per_plan)

    def total(field: str) -> Any:
        return sum(getattr(plan, field) for plan in plans)

    parts = []
    for part in DayPlanPart.objects.filter(plan__in=plans).select_related("subdistrict").order_by("pk"):
        solver = part.solver or {}
        parts.append(
            {
                "code": part.subdistrict.code,
                "status": part.status,
                "stops": part.stops,
                "assigned": part.stops_assigned,
                "vehicles": len(part.vehicle_ids),
                "used": part.vehicles_used,
                "timings": solver.get("timings", {}),
                "feasible": solver.get("feasible"),
                "started": part.started_at.timestamp() if part.started_at else None,
                "finished": part.finished_at.timestamp() if part.finished_at else None,
            }
        )
    items = []
    for row in (
        AllocationItem.objects.filter(run_id__in=run_ids)
        .values("commodity__code", "kit__code")
        .annotate(supply=Sum("supply"), demand=Sum("demand"), allocated=Sum("allocated"), unmet=Sum("unmet"))
        .order_by("commodity__code", "kit__code")
    ):
        items.append(
            {
                "item": row["commodity__code"] or row["kit__code"],
                "supply": row["supply"],
                "demand": row["demand"],
                "allocated": row["allocated"],
                "unmet": row["unmet"],
            }
        )
    rosters = PlanRoster.objects.filter(plan__in=plans)
    roster_households = rosters.aggregate(n=Sum("household_count"))["n"] or 0
    slot_households = PlanPickupSlot.objects.filter(plan__in=plans).aggregate(n=Sum("household_count"))["n"] or 0
    stop_households = PlanStop.objects.filter(plan__in=plans).aggregate(n=Sum("households"))["n"] or 0
    statuses = sorted({plan.status for plan in plans})
    _emit(
        {
            "status": statuses[0] if len(statuses) == 1 else "/".join(statuses),
            "plans": len(plans),
            "parts_total": total("parts_total"),
            "parts_failed": total("parts_failed"),
            "households": Household.objects.count(),
            "orders": Order.objects.count(),
            "order_lines": OrderLine.objects.count(),
            "allocation_lines": AllocationLine.objects.filter(run_id__in=run_ids).count(),
            "allocation_runs": len(run_ids),
            "items": items,
            "stops": total("stops"),
            "stops_assigned": total("stops_assigned"),
            "vehicles_available": total("vehicles_available"),
            "vehicles_used": total("vehicles_used"),
            "routes": PlanRoute.objects.filter(plan__in=plans).count(),
            "trips": PlanRoute.objects.filter(plan__in=plans).aggregate(n=Sum("trips"))["n"] or 0,
            "distance_km": total("distance_km"),
            "load_kg": total("load_kg"),
            "capacity_kg": total("capacity_kg"),
            "unrouted_kg": total("unrouted_kg"),
            "unmet_units": total("unmet_units"),
            "rosters": rosters.count(),
            "rosters_unstaffed": rosters.exclude(unstaffed_reason="").count(),
            "pickup_slots": PlanPickupSlot.objects.filter(plan__in=plans).count(),
            "roster_households": roster_households,
            "slot_households": slot_households,
            "stop_households": stop_households,
            "stops_by_reason": dict(
                PlanStop.objects.filter(plan__in=plans)
                .exclude(unassigned_reason="")
                .values_list("unassigned_reason")
                .annotate(n=Count("id"))
                .values_list("unassigned_reason", "n")
            ),
            "timings": timings,
            "phases": list(PART_PHASES),
            "parts": parts,
        }
    )


# --- the run --------------------------------------------------------------------------------------


def _migrate(env: dict[str, str]) -> None:
    completed = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(completed.returncode)


def plan_run(env: dict[str, str], *, workers: int, time_limit_s: float, work: Path) -> dict[str, Any]:
    start = _waiting_child(["--child", "start", "--time-limit", str(time_limit_s)], env, work / "start.log")
    pool = [
        _waiting_child(["--child", "worker", "--worker-id", f"bench-{n}"], env, work / f"worker-{n}.log")
        for n in range(workers)
    ]
    load_before = os.getloadavg()
    started = time.perf_counter()
    _go(start)
    created = _finish(start, work / "start.log")
    allocated = time.perf_counter()
    for worker in pool:
        _go(worker)
    done = [_finish(worker, work / f"worker-{n}.log") for n, worker in enumerate(pool)]
    finished = time.perf_counter()
    return {
        "wall_s": finished - started,
        "start_s": allocated - started,
        "fan_out_s": finished - allocated,
        "start": created,
        "workers": done,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def report(label: str, world: dict[str, Any], orders: dict[str, Any], run: dict[str, Any], out: dict[str, Any],
           *, time_limit_s: float, reference: tuple[float, float]) -> None:  # fmt: skip
    t = out["timings"]
    parts = out["parts"]
    busy = [p for p in parts if p["stops"]]
    part_total = sum(sum(p["timings"].get(k, 0.0) for k in out["phases"]) for p in parts)
    print(f"\n{label}")
    print(f"  world: {out['households']:,} households; generated in {world['seconds']:.1f} s "
          f"(peak RSS {world['peak_rss_mib']:.0f} MiB)")  # fmt: skip
    print(f"  demand fixtures: {orders['orders']:,} orders ({orders['relief_orders']:,} free relief kits), "
          f"{orders['order_lines']:,} lines, {orders['purchase_orders']:,} purchase orders, "
          f"{orders['supermarkets']} supermarkets, written in {orders['seconds']:.1f} s "
          "(not part of the plan)")  # fmt: skip
    print(f"  reference loop ({REFERENCE_LOOPS:,} iterations): {reference[0]:.2f} s before, {reference[1]:.2f} s after")
    print(f"  load average before / after: {run['load_before'][0]:.1f} / {run['load_after'][0]:.1f}")
    print(f"  routing time limit per subdistrict: {time_limit_s:g} s; workers: {len(run['workers'])}")
    print(f"  WALL TIME, whole plan            {run['wall_s']:8.2f} s")
    print(f"    start (plans created, allocations queued) {run['start_s']:8.2f} s"
          f"  ({out['plans']} plan(s), {out['parts_total']} subdistricts)")  # fmt: skip
    print(f"    fan-out over {len(run['workers'])} workers (allocations, then parts) {run['fan_out_s']:8.2f} s")
    print(f"      allocation stage, wall         {t['allocation_s']:8.2f} s  (from the plan's creation to its last "
          f"supermarket; slowest plan)")  # fmt: skip
    print(f"      allocation of {out['allocation_runs']} supermarkets, summed {t['allocation_work_s']:8.2f} s")
    print(f"      fleet split (summed over plans){t['split_s']:8.2f} s")
    print(f"  part phases, summed over {t['parts_timed']} parts ({len(busy)} with stops):")
    for phase in out["phases"]:
        slowest = max((p["timings"].get(phase, 0.0) for p in parts), default=0.0)
        print(f"    {phase:<10} {t[phase]:8.2f} s   (largest single part {slowest:6.2f} s)")
    print(f"    all phases {part_total:8.2f} s; slowest part {t['slowest_part_s']:.2f} s; "
          f"ideal fan-out on {len(run['workers'])} workers {part_total / len(run['workers']):.2f} s")  # fmt: skip
    print(f"  ratio wall time / reference loop: {run['wall_s'] / ((reference[0] + reference[1]) / 2):.1f}")
    print("  peak RSS:")
    print(f"    start process {run['start']['peak_rss_mib']:8.1f} MiB")
    for w in run["workers"]:
        print(f"    {w['worker']:<13} {w['peak_rss_mib']:8.1f} MiB  (ran {w['seconds']:.1f} s)")
    print(f"  counts: {out['orders']:,} orders, {out['order_lines']:,} order lines, "
          f"{out['allocation_lines']:,} allocation lines; {out['stops']:,} stops, {out['routes']:,} routes "
          f"({out['trips']:,} trips), {out['rosters']:,} rosters ({out['rosters_unstaffed']:,} unstaffed), "
          f"{out['pickup_slots']:,} pickup slots")  # fmt: skip
    print(f"  households planned: {out['stop_households']:,} at stops = {out['roster_households']:,} on rosters "
          f"+ {out['slot_households']:,} in pickup slots")  # fmt: skip
    print(f"  quality: {out['stops_assigned']:,}/{out['stops']:,} stops routed; vehicles "
          f"{out['vehicles_used']}/{out['vehicles_available']}; {out['distance_km']:,.0f} km; load "
          f"{out['load_kg']:,.0f} kg of {out['capacity_kg']:,.0f} kg capacity used; not routed "
          f"{out['unrouted_kg']:,.0f} kg {out['stops_by_reason']}")  # fmt: skip
    print("  allocation by item (supply / demand / allocated / unmet units):")
    for item in out["items"]:
        print(f"    {item['item']:<18} {item['supply']:>10,} {item['demand']:>10,} {item['allocated']:>10,} "
              f"{item['unmet']:>9,}")  # fmt: skip
    print(f"  plan status {out['status']}, parts failed {out['parts_failed']}")


def bench_county(options: argparse.Namespace) -> None:
    base = Path(os.environ.get("BAOGONG_VAR_DIR") or tempfile.gettempdir())
    work = Path(tempfile.mkdtemp(prefix="plan-time-", dir=base))
    db_file = str(work / "county.sqlite3")
    env = {"BAOGONG_SQLITE_PATH": db_file, "BAOGONG_VAR_DIR": str(work), "DATABASE_URL": ""}
    try:
        _migrate(env)
        world = _run(["--child", "generate", "--preset", "county", "--seed", str(options.seed)], env)
        orders = _run(["--child", "orders", "--seed", str(options.seed), "--preset", "county"], env)
        before = reference_loop()
        run = plan_run(env, workers=options.workers, time_limit_s=options.time_limit, work=work)
        after = reference_loop()
        out = _run(["--child", "report", "--plans", ",".join(map(str, run["start"]["plans"]))], env)
        report("Delivery-day plan: county preset, SQLite", world, orders, run, out,
               time_limit_s=options.time_limit, reference=(before, after))  # fmt: skip
        ok = out["status"] == "done" and run["wall_s"] <= COUNTY_TARGET_S
        print(f"  TARGET wall ≤ {COUNTY_TARGET_S:.0f} s: {'PASS' if ok else 'FAIL'} ({run['wall_s']:.1f} s)")
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"  kept {work}")


def _scratch_urls() -> tuple[str, str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("--city-fraction needs DATABASE_URL pointing to a PostgreSQL server.")
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "baogong") + "_plan"
    return urlunsplit(parts._replace(path=f"/{name}")), urlunsplit(parts._replace(path="/postgres")), name


def child_reset() -> None:
    """Empty the planner's tables and the task queue of a kept scratch database, to plan its day again."""
    _django()
    from django.apps import apps
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    tables = [model._meta.db_table for model in apps.get_app_config("planning").get_models()]
    tables.append(DBTaskResult._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)} CASCADE")
    _emit({"truncated": tables})


def bench_city(options: argparse.Namespace) -> None:
    import psycopg

    scratch, maintenance, name = _scratch_urls()
    work = Path(tempfile.mkdtemp(prefix="plan-time-city-", dir=os.environ.get("BAOGONG_VAR_DIR") or None))
    env = {"DATABASE_URL": scratch, "BAOGONG_VAR_DIR": str(work)}
    cache = work.parent / f"{name}.json"
    try:
        if options.reuse:
            # A database kept by an earlier run (--keep) with the same fraction: plan its day again.
            saved = json.loads(cache.read_text())
            world, orders = saved["world"], saved["orders"]
            _run(["--child", "reset"], env)
        else:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
            _migrate(env)
            world = _run(["--child", "generate", "--preset", "city", "--seed", str(options.seed),
                          "--fraction", str(options.city_fraction)], env)  # fmt: skip
            orders = _run(["--child", "orders", "--seed", str(options.seed), "--preset", "city"], env)
            cache.write_text(json.dumps({"world": world, "orders": orders}))
        # A freshly bulk-loaded database has no planner statistics until autovacuum analyses it (it is
        # off on some benchmark machines); without them PostgreSQL guesses and may scan whole tables.
        analysing = time.perf_counter()
        with psycopg.connect(scratch, autocommit=True) as conn:
            conn.execute("ANALYZE")
        print(f"  planner statistics (ANALYZE, not part of the plan): {time.perf_counter() - analysing:.1f} s")
        before = reference_loop()
        run = plan_run(env, workers=options.workers, time_limit_s=options.time_limit, work=work)
        after = reference_loop()
        out = _run(["--child", "report", "--plans", ",".join(map(str, run["start"]["plans"]))], env)
        report(f"Delivery-day plan: city preset, PostgreSQL, first {options.city_fraction:.0%} of subdistricts",
               world, orders, run, out, time_limit_s=options.time_limit, reference=(before, after))  # fmt: skip
        extrapolate(run, out, time_limit_s=options.time_limit, workers=options.workers)
    finally:
        if not options.keep:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(work, ignore_errors=True)
            cache.unlink(missing_ok=True)
        else:
            print(f"  kept database {name} and {work}")


def extrapolate(run: dict[str, Any], out: dict[str, Any], *, time_limit_s: float, workers: int) -> None:
    """Scale the measured fraction to the whole city: per-household work linearly, routing per subdistrict."""
    scale = CITY_HOUSEHOLDS / max(out["households"], 1)
    t = out["timings"]
    busy = [p for p in out["parts"] if p["stops"]]
    if not busy:
        print("  no subdistrict had stops; nothing to extrapolate")
        return
    routing_per_part = sum(p["timings"].get("routing_s", 0.0) for p in busy) / len(busy)
    other = sum(sum(p["timings"].get(k, 0.0) for k in out["phases"] if k != "routing_s") for p in out["parts"])
    # Supermarkets are allocated by the workers in parallel; the split runs once per plan, counted serially.
    allocation = (t["allocation_work_s"] or 0.0) * scale / workers
    split = (t["split_s"] or 0.0) * scale
    fan_out = (other * scale + routing_per_part * CITY_SUBDISTRICTS) / workers
    total = allocation + split + fan_out
    start_rss = run["start"]["peak_rss_mib"]
    worker_rss = max(w["peak_rss_mib"] for w in run["workers"])
    print(f"  EXTRAPOLATION to the whole city ({CITY_HOUSEHOLDS:,} households, {CITY_SUBDISTRICTS} subdistricts), "
          f"not measured:")  # fmt: skip
    print(f"    allocation {allocation:8.0f} s  (measured {t['allocation_work_s']:.1f} s summed x {scale:.1f}, "
          f"over {workers} workers)")  # fmt: skip
    print(f"    fleet split {split:7.0f} s")
    print(f"    fan-out    {fan_out:8.0f} s  (non-routing part work x {scale:.1f}, plus "
          f"{routing_per_part:.1f} s routing x {CITY_SUBDISTRICTS} subdistricts, over {workers} workers)")  # fmt: skip
    print(f"    wall       {total:8.0f} s ({total / 60:.1f} min); target {CITY_TARGET_S / 60:.0f} min: "
          f"{'within' if total <= CITY_TARGET_S else 'OVER'}")  # fmt: skip
    print(f"    memory: start process peaked at {start_rss:.0f} MiB for {out['orders']:,} orders; "
          f"workers at {worker_rss:.0f} MiB (a worker holds one subdistrict at a time)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="task worker processes (one per core)")
    parser.add_argument("--time-limit", type=float, default=5.0, help="routing time limit per subdistrict (s)")
    parser.add_argument("--city-fraction", type=float, default=None, help="plan the city with this share filled")
    parser.add_argument("--skip-county", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--reuse", action="store_true", help="city: plan again in the database kept by --keep")
    children = ["generate", "orders", "start", "worker", "report", "reset"]
    parser.add_argument("--child", choices=children, help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="county", help=argparse.SUPPRESS)
    parser.add_argument("--fraction", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--plans", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child == "generate":
        child_generate(options.preset, options.seed, options.fraction)
    elif options.child == "orders":
        child_orders(options.seed, options.preset)
    elif options.child == "start":
        child_start(options.time_limit)
    elif options.child == "worker":
        child_worker(options.worker_id)
    elif options.child == "reset":
        child_reset()
    elif options.child == "report":
        child_report([int(pk) for pk in options.plans.split(",")])
    else:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        if not options.skip_county:
            bench_county(options)
        if options.city_fraction is not None:
            bench_city(options)


if __name__ == "__main__":
    main()
