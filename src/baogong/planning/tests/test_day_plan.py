from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from baogong.accounts.models import Role
from baogong.core.errors import NotFound, PermissionDenied, ValidationFailed
from baogong.core.models import AuditLog
from baogong.delivery.models import Vehicle
from baogong.orders.tests.factories import DAY
from baogong.planning import day_plan
from baogong.planning.day_plan import (
    day_plan_allocation_solve,
    day_plan_part_solve,
    day_plan_solve,
    day_plan_start,
    fleet_split,
)
from baogong.planning.models import (
    AllocationItem,
    AllocationRun,
    DayPlan,
    DayPlanAllocation,
    DayPlanPart,
    DayPlanStatus,
    PlanPickupSlot,
    PlanRoster,
    PlanRoute,
    PlanStop,
)
from baogong.planning.tests.day_plan_world import EXTRA_A1_HOUSEHOLDS, build_plan_world
from baogong.regions.models import Household

pytestmark = pytest.mark.django_db

TINY = 0.3


@pytest.fixture
def pw():
    return build_plan_world()


def plan_rows() -> tuple[int, ...]:
    return (
        DayPlan.objects.count(),
        DayPlanPart.objects.count(),
        PlanRoute.objects.count(),
        PlanStop.objects.count(),
        PlanRoster.objects.count(),
        PlanPickupSlot.objects.count(),
        AllocationRun.objects.count(),
        AuditLog.objects.count(),
    )


def test_plan_solves_the_county_day(pw):
    regions = pw.ow.world.regions

    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    assert (plan.status, plan.parts_total, plan.parts_finished, plan.parts_failed) == (DayPlanStatus.DONE, 2, 2, 0)
    assert (plan.stops, plan.stops_assigned, plan.vehicles_available, plan.vehicles_used) == (3, 3, 2, 2)
    # Each subdistrict has load, so each gets one of the two vehicles; the busier one (S1) the first by plate.
    parts = {part.subdistrict_id: part for part in plan.parts.all()}
    assert parts[regions["S1"].pk].vehicle_ids == [pw.vehicles["big"].pk]
    assert parts[regions["S2"].pk].vehicle_ids == [pw.vehicles["small"].pk]
    # Veg packages are 2 kg: A1 has 14 households, A2 and B1 one each. Rice (E has none in stock) is not loaded.
    loads = {stop.compound_id: stop.demand_kg for stop in PlanStop.objects.filter(plan=plan)}
    assert loads == {regions["A1"].pk: 28.0, regions["A2"].pk: 2.0, regions["B1"].pk: 2.0}
    assert plan.load_kg == 32.0
    assert plan.capacity_kg == 530.0
    assert plan.unmet_units == 2
    rice = AllocationItem.objects.get(run__supermarket=pw.ow.supermarket, commodity=pw.ow.rice)
    assert (rice.demand, rice.allocated, rice.unmet) == (2, 0, 2)
    assert plan.unrouted_kg == 0.0


def test_each_allocation_records_what_its_run_sends_to_each_gate(pw):
    regions = pw.ow.world.regions

    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    # The fleet split reads these maps, not the lines: each holds its own run's gates (veg packages, 2 kg).
    own = plan.allocations.get(supermarket=pw.ow.supermarket)
    other = plan.allocations.exclude(pk=own.pk).get()
    assert own.compound_kg == {str(regions["A1"].pk): [28.0, False], str(regions["A2"].pk): [2.0, False]}
    assert other.compound_kg == {str(regions["B1"].pk): [2.0, False]}


def test_part_demand_adds_the_runs_up_and_names_the_runs_reaching_each_part(pw):
    regions = pw.ow.world.regions
    a1, b1 = str(regions["A1"].pk), str(regions["B1"].pk)

    # Run 7 cut A1's goods to nothing: it still reaches S1, whose part reads it for the unmet demand.
    demand = day_plan._part_demand_kg(
        compound_demand={5: {a1: [10.0, False], b1: [4.0, False]}, 6: {a1: [5.0, True]}, 7: {a1: [0.0, False]}},
        subdistricts=[regions["S1"], regions["S2"]],
    )

    assert demand == [
        day_plan.PartDemand(cold_kg=15.0, ambient_kg=0.0, run_ids=(5, 6, 7)),
        day_plan.PartDemand(cold_kg=0.0, ambient_kg=4.0, run_ids=(5,)),
    ]


def test_routes_respect_capacity_and_cover_every_stop_once(pw):
    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    stops = list(PlanStop.objects.filter(plan=plan).select_related("route__vehicle"))
    assert all(stop.route is not None and stop.unassigned_reason == "" for stop in stops)
    by_trip: dict[tuple[int, int], list[PlanStop]] = {}
    for stop in stops:
        by_trip.setdefault((stop.route_id, stop.trip), []).append(stop)
    for trip_stops in by_trip.values():
        vehicle = trip_stops[0].route.vehicle
        assert sum(stop.demand_kg for stop in trip_stops) <= vehicle.payload_kg
        ordered = sorted(trip_stops, key=lambda stop: stop.sequence)
        assert [stop.sequence for stop in ordered] == list(range(1, len(ordered) + 1))
        # On board on arrival = what is left for this and the later stops of the trip.
        assert [stop.on_board_kg for stop in ordered] == [
            sum(s.demand_kg for s in ordered[i:]) for i in range(len(ordered))
        ]
    assert sorted(PlanRoute.objects.filter(plan=plan).values_list("vehicle__plate", flat=True)) == [
        "V-BIG",
        "V-SMALL",
    ]


def test_every_household_is_on_exactly_one_roster_or_pickup_slot(pw):
    regions = pw.ow.world.regions

    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    rostered = [stop["household"] for roster in PlanRoster.objects.filter(plan=plan) for stop in roster.stops]
    slotted = [h["household"] for slot in PlanPickupSlot.objects.filter(plan=plan) for h in slot.households]
    ordering = set(Household.objects.values_list("pk", flat=True))
    assert len(ordering) == 4 + EXTRA_A1_HOUSEHOLDS
    assert sorted(rostered + slotted) == sorted(ordering)
    # Sealed A1: 14 households in two walks of 7, one volunteer each; B1 has no volunteer.
    rosters = {
        (r.compound_id, r.number): (r.household_count, r.volunteer_id, r.unstaffed_reason)
        for r in PlanRoster.objects.filter(plan=plan)
    }
    assert rosters == {
        (regions["A1"].pk, 1): (7, pw.volunteers[0].pk, ""),
        (regions["A1"].pk, 2): (7, pw.volunteers[1].pk, ""),
        (regions["B1"].pk, 1): (1, None, "no_volunteer_available"),
    }
    assert all(r.household_count <= 10 for r in PlanRoster.objects.all())
    # Controlled A2 picks up at its gate, after the goods arrive.
    slot = PlanPickupSlot.objects.get(plan=plan)
    arrival = PlanStop.objects.get(plan=plan, compound=regions["A2"]).departure
    assert (slot.compound_id, slot.household_count) == (regions["A2"].pk, 1)
    assert slot.starts > arrival


def test_fan_out_allocates_per_supermarket_then_queues_one_task_per_subdistrict(pw, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        plan = day_plan_start(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    # Stage 1: one task per supermarket with orders in the area; no part exists yet.
    allocations = list(plan.allocations.order_by("pk"))
    assert len(callbacks) == len(allocations) == plan.allocations_total == 2
    assert (plan.status, plan.allocations_finished, plan.parts.count()) == (DayPlanStatus.ALLOCATING, 0, 0)
    first = day_plan_allocation_solve(allocation_id=allocations[0].pk)
    assert first is not None
    assert (first[0].status, first[1]) == (DayPlanStatus.DONE, [])
    plan.refresh_from_db()
    assert (plan.status, plan.allocations_finished, plan.parts.count()) == (DayPlanStatus.ALLOCATING, 1, 0)
    # Stage 2: the last allocation splits the fleet and creates the parts, which it hands back to be queued.
    last = day_plan_allocation_solve(allocation_id=allocations[1].pk)
    assert last is not None
    plan.refresh_from_db()
    part_ids = sorted(plan.parts.values_list("pk", flat=True))
    assert last[1] == part_ids
    assert len(part_ids) == 2
    assert (plan.status, plan.allocations_finished) == (DayPlanStatus.QUEUED, 2)
    assert plan.allocation_runs == [a.run_id for a in plan.allocations.order_by("supermarket_id")]
    # Stage 3: the parts.
    day_plan_part_solve(part_id=part_ids[0])
    plan.refresh_from_db()
    assert (plan.status, plan.parts_finished) == (DayPlanStatus.RUNNING, 1)
    day_plan_part_solve(part_id=part_ids[1])
    plan.refresh_from_db()
    assert (plan.status, plan.parts_finished, plan.stops_assigned) == (DayPlanStatus.DONE, 2, 3)
    assert plan.finished_at is not None
    actions = list(AuditLog.objects.filter(target_type="day_plan").order_by("id").values_list("action", flat=True))
    assert actions == [
        "day_plan.start",
        "day_plan.allocated",
        "day_plan.part_done",
        "day_plan.part_done",
        "day_plan.finish",
    ]


def test_an_allocation_is_run_once(pw, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        plan = day_plan_start(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)
    allocation = plan.allocations.order_by("pk").first()
    assert day_plan_allocation_solve(allocation_id=allocation.pk) is not None
    runs = AllocationRun.objects.count()

    assert day_plan_allocation_solve(allocation_id=allocation.pk) is None

    plan.refresh_from_db()
    assert (AllocationRun.objects.count(), plan.allocations_finished) == (runs, 1)


def test_a_failing_allocation_is_noted_and_the_plan_goes_on(pw, monkeypatch):
    real = day_plan.allocation_run_create

    def broken(**kwargs):
        if kwargs["supermarket"].pk == pw.ow.supermarket.pk:
            raise RuntimeError("stock service down")
        return real(**kwargs)

    monkeypatch.setattr(day_plan, "allocation_run_create", broken)

    with translation.override("en"):
        plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    failed = plan.allocations.get(supermarket=pw.ow.supermarket)
    assert (failed.status, failed.error, failed.run_id) == (DayPlanStatus.FAILED, "RuntimeError", None)
    assert plan.notes == [f"Allocation skipped for {pw.ow.supermarket.name}: RuntimeError"]
    # The other supermarket's compounds are still planned; the failed one's gates get nothing allocated.
    assert (plan.status, plan.allocations_finished, plan.parts_finished) == (DayPlanStatus.DONE, 2, 2)
    assert plan.allocation_runs == [plan.allocations.exclude(pk=failed.pk).get().run_id]


def test_a_part_is_solved_once(pw):
    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)
    before = plan_rows()

    again = day_plan_part_solve(part_id=plan.parts.first().pk)

    assert again is None
    assert plan_rows() == before


def test_without_vehicles_every_stop_is_reported(pw):
    Vehicle.objects.all().delete()

    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    assert (plan.status, plan.stops, plan.stops_assigned, plan.vehicles_used) == (DayPlanStatus.DONE, 3, 0, 0)
    assert set(PlanStop.objects.values_list("unassigned_reason", flat=True)) == {"no_vehicle"}
    assert plan.unrouted_kg == 32.0


def test_a_failing_part_fails_the_plan(pw, monkeypatch):
    def broken(**_kwargs):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(day_plan.routing, "routing_solve", broken)

    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    assert (plan.status, plan.parts_finished, plan.parts_failed) == (DayPlanStatus.FAILED, 2, 2)
    assert set(plan.parts.values_list("error", flat=True)) == {"RuntimeError"}
    assert PlanStop.objects.count() == 0


def test_a_community_worker_may_not_plan(pw):
    before = plan_rows()

    with pytest.raises(PermissionDenied):
        day_plan_solve(actor=pw.ow.community, delivery_date=DAY, time_limit_s=TINY)

    assert plan_rows() == before


def test_a_subdistrict_office_plans_only_its_own_subdistrict(pw):
    regions = pw.ow.world.regions
    office = pw.ow.world.users[Role.SUBDISTRICT]
    before = plan_rows()

    with pytest.raises(NotFound):
        day_plan_solve(actor=office, delivery_date=DAY, area=regions["S2"], time_limit_s=TINY)
    assert plan_rows() == before

    plan = day_plan_solve(actor=office, delivery_date=DAY, time_limit_s=TINY)
    assert (plan.area_id, plan.parts_total, plan.stops) == (regions["S1"].pk, 1, 2)


@pytest.mark.parametrize(("limit", "field"), [(0, "time_limit_s"), (601, "time_limit_s")])
def test_bad_time_limit_changes_nothing(pw, limit, field):
    before = plan_rows()

    with pytest.raises(ValidationFailed) as error:
        day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=limit)

    assert error.value.field == field
    assert plan_rows() == before


def test_a_compound_is_not_an_area(pw):
    with pytest.raises(ValidationFailed) as error:
        day_plan_solve(actor=pw.command, delivery_date=DAY, area=pw.ow.world.regions["A1"], time_limit_s=TINY)
    assert error.value.field == "area"


@pytest.mark.parametrize(
    ("demand", "vehicles", "expected"),
    [
        ([10.0, 0.0, 30.0], 1, [0, 0, 1]),
        ([10.0, 0.0, 30.0], 2, [1, 0, 1]),
        ([10.0, 0.0, 30.0], 6, [2, 0, 4]),
        ([0.0, 0.0], 3, [0, 0]),
        ([5.0, 5.0], 0, [0, 0]),
    ],
)
def test_fleet_split(demand, vehicles, expected):
    assert fleet_split(demand_kg=demand, vehicles=vehicles) == expected


def test_plan_command_prints_a_summary(pw):
    out = StringIO()

    call_command(
        "plan", "--date", DAY.isoformat(), "--area", pw.ow.world.regions["C"].code, "--time-limit", "0.3", stdout=out
    )

    plan = DayPlan.objects.get()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"plan {plan.pk} {DAY} {pw.ow.world.regions['C'].code}: done; stops 3/3 routed; ")
    assert "vehicles 2/2" in lines[0]
    assert "unmet 2 units; not routed 0.0 kg" in lines[0]
    assert lines[1:] == [
        f"  {pw.ow.world.regions['S1'].code}: done, 2/2 stops",
        f"  {pw.ow.world.regions['S2'].code}: done, 1/1 stops",
    ]


def test_baogong_plan_runs_the_plan_command(monkeypatch):
    from baogong import cli

    calls = []
    monkeypatch.setattr(cli, "_setup_django", lambda: None)
    monkeypatch.setattr(cli, "_manage", lambda *args: calls.append(args))

    cli.main(["plan", "--date", "2030-04-12", "--area", "S1"])
    cli.main(["plan", "--date", "2030-04-12"])
    cli.main(["plan", "--date", "2030-04-12", "--sheets", "out"])

    assert calls == [
        ("plan", "--date", "2030-04-12", "--area", "S1"),
        ("plan", "--date", "2030-04-12"),
        ("plan", "--date", "2030-04-12", "--sheets", "out"),
    ]


def test_fan_out_queues_database_tasks_for_the_workers(pw, settings, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    from baogong.planning.tasks import day_plan_allocation_task

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    with django_capture_on_commit_callbacks(execute=True):
        plan = day_plan_start(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    def queued(name: str) -> list[list[int]]:
        rows = DBTaskResult.objects.filter(task_path__endswith=name)
        return sorted(row.args_kwargs["args"] for row in rows)

    assert queued("day_plan_allocation_task") == [[pk] for pk in plan.allocations.values_list("pk", flat=True)]
    assert queued("day_plan_part_task") == []
    # A worker runs the allocations (here in this process); the last one queues the parts.
    for (allocation_id,) in queued("day_plan_allocation_task"):
        day_plan_allocation_task.call(allocation_id)
    assert queued("day_plan_part_task") == [[pk] for pk in plan.parts.order_by("pk").values_list("pk", flat=True)]
    assert len(queued("day_plan_part_task")) == 2
    plan.refresh_from_db()
    assert (plan.status, plan.allocations_finished, plan.parts_finished) == (DayPlanStatus.QUEUED, 2, 0)


def test_each_allocation_checks_its_foreign_keys_before_counting_itself_in_the_plan(pw, settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    plan = day_plan_start(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)
    counted_at_check: list[int] = []
    check = day_plan._deferred_constraints_check

    def spy() -> None:
        counted_at_check.append(DayPlan.objects.get(pk=plan.pk).allocations_finished)
        check()

    monkeypatch.setattr(day_plan, "_deferred_constraints_check", spy)
    for allocation_id in plan.allocations.order_by("pk").values_list("pk", flat=True):
        day_plan_allocation_solve(allocation_id=allocation_id)
    # Each check ran before its own allocation took the plan's counter row.
    assert counted_at_check == [0, 1]
    plan.refresh_from_db()
    assert plan.allocations_finished == 2


def test_a_broken_foreign_key_fails_at_the_check_not_at_commit(pw):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite checks foreign keys at commit; its writers hold one lock for the transaction anyway")
    plan = day_plan_start(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)
    allocation = plan.allocations.order_by("pk").first()
    assert allocation is not None
    # A savepoint inside the test's transaction: without the check nothing would fail before the test ends.
    with transaction.atomic():
        DayPlanAllocation.objects.filter(pk=allocation.pk).update(run_id=2**31 - 1)
        with pytest.raises(IntegrityError):
            day_plan._deferred_constraints_check()
        transaction.set_rollback(True)
    allocation.refresh_from_db()
    assert allocation.run_id is None


@pytest.mark.parametrize(
    ("demand", "cold_chain", "expected"),
    [
        # Part 0 has chilled goods, part 1 only dry: the refrigerated van (index 2) goes to part 0.
        (
            [day_plan.PartDemand(cold_kg=500, ambient_kg=0), day_plan.PartDemand(cold_kg=0, ambient_kg=900)],
            [False, False, True],
            [[2], [0, 1]],
        ),
        # By weight alone part 1 would get both dry vans and part 0 the refrigerated one anyway;
        # with chilled goods in both, the refrigerated vans are shared by chilled weight.
        (
            [day_plan.PartDemand(cold_kg=100, ambient_kg=0), day_plan.PartDemand(cold_kg=300, ambient_kg=50)],
            [True, True, True, False],
            [[0], [1, 2, 3]],
        ),
        # Nothing chilled anywhere: every loaded part still gets a vehicle, whatever its kind.
        (
            [day_plan.PartDemand(cold_kg=0, ambient_kg=100), day_plan.PartDemand(cold_kg=0, ambient_kg=300)],
            [True, False],
            [[0], [1]],
        ),
        # More refrigerated vans than chilled places: the spare ones go where the chilled goods are first.
        (
            [day_plan.PartDemand(cold_kg=10, ambient_kg=990), day_plan.PartDemand(cold_kg=0, ambient_kg=1000)],
            [True, True, True, False],
            [[0, 1], [2, 3]],
        ),
    ],
)
def test_fleet_split_by_kind(demand, cold_chain, expected):
    assert day_plan.fleet_split_by_kind(demand=demand, cold_chain=cold_chain) == expected


def _households(*kgs: float, litres: float = 0.0) -> list[day_plan.HouseholdLoad]:
    return [day_plan.HouseholdLoad(household_id=i + 1, kg=kg, litres=litres) for i, kg in enumerate(kgs)]


def test_a_load_within_the_largest_vehicle_is_one_drop():
    households = _households(4, 3, 3)

    assert day_plan.drops_split(households=households, cap_kg=10, cap_m3=8) == [households]
    # No suitable vehicle at all: one drop, and the router says why it is not routed.
    assert day_plan.drops_split(households=households, cap_kg=0, cap_m3=0) == [households]


def test_a_heavy_compound_is_split_into_about_equal_drops_of_whole_households():
    households = _households(*([2.0] * 14))

    drops = day_plan.drops_split(households=households, cap_kg=10, cap_m3=8)

    # 28 kg over the fewest drops a 10 kg vehicle can carry (3): about 9.3 kg each.
    assert [[h.household_id for h in drop] for drop in drops] == [
        [1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10],
        [11, 12, 13, 14],
    ]
    assert all(sum(h.kg for h in drop) <= 10 for drop in drops)


def test_volume_splits_too_and_an_oversized_household_is_a_drop_of_its_own():
    assert [
        len(d) for d in day_plan.drops_split(households=_households(1, 1, 1, litres=3000), cap_kg=100, cap_m3=5)
    ] == [
        1,
        1,
        1,
    ]
    drops = day_plan.drops_split(households=_households(3, 15, 3), cap_kg=10, cap_m3=8)
    assert [[h.household_id for h in drop] for drop in drops] == [[1], [2], [3]]


def test_the_plan_delivers_a_compound_heavier_than_every_vehicle_in_drops(pw):
    regions = pw.ow.world.regions
    Vehicle.objects.filter(pk__in=[v.pk for v in pw.vehicles.values()]).update(payload_kg=10)

    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)

    drops = list(PlanStop.objects.filter(plan=plan, compound=regions["A1"]).order_by("drop"))
    assert [(d.drop, d.demand_kg, d.households) for d in drops] == [(1, 10.0, 5), (2, 10.0, 5), (3, 8.0, 4)]
    assert all(d.route_id is not None and d.unassigned_reason == "" for d in drops)
    carried = [h for d in drops for h in d.household_ids]
    a1_households = set(Household.objects.filter(compound=regions["A1"]).values_list("pk", flat=True))
    assert sorted(carried) == sorted(a1_households)
    assert len(carried) == len(set(carried))
    # Every trip stays within the 10 kg payload; A2's 2 kg rides with the last, lighter drop.
    by_trip: dict[tuple[int, int], float] = {}
    for stop in PlanStop.objects.filter(plan=plan, route__isnull=False):
        by_trip[(stop.route_id, stop.trip)] = by_trip.get((stop.route_id, stop.trip), 0) + stop.demand_kg
    assert max(by_trip.values()) <= 10
    assert plan.unrouted_kg == 0.0


def test_a_household_load_splits_into_its_chilled_and_other_goods():
    mixed = day_plan.HouseholdLoad(7, kg=12.0, litres=20.0, cold=True, cold_kg=2.0, cold_litres=3.0)
    dry = day_plan.HouseholdLoad(8, kg=5.0, litres=6.0)
    chilled = day_plan.HouseholdLoad(9, kg=1.5, litres=2.0, cold=True, cold_kg=1.5, cold_litres=2.0)

    assert [(p.household_id, p.kg, p.litres, p.cold) for p in mixed.portions()] == [
        (7, 2.0, 3.0, True),
        (7, 10.0, 17.0, False),
    ]
    assert [(p.kg, p.cold) for p in dry.portions()] == [(5.0, False)]
    assert [(p.kg, p.cold) for p in chilled.portions()] == [(1.5, True)]


def test_goods_arriving_after_the_last_pickup_slot_get_slots_after_the_gate_closes(pw):
    from datetime import time as clock_time

    from baogong.planning.day_rules import day_rules

    regions = pw.ow.world.regions
    plan = day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=TINY)
    part = plan.parts.get(subdistrict=regions["S1"])
    read = day_plan._compound_loads(run_ids=part.run_ids, region_path=part.subdistrict.path)
    compounds = day_plan.Region.objects.in_bulk(list(read.compounds))

    # Controlled A2's last drop leaves the gate at 17:55, after the last slot (17:45-18:00) began.
    _rosters, slots = day_plan._households_plan(
        part, read, compounds, {regions["A2"].pk: clock_time(17, 55)}, day_rules()
    )

    assert [(s.compound_id, s.starts, s.ends, s.household_count) for s in slots] == [
        (regions["A2"].pk, clock_time(18, 0), clock_time(18, 15), 1)
    ]
