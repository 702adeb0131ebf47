"""Writes of the planner: allocation runs.

`allocation_run_create` turns one supermarket's (or depot's) confirmed demand
for a delivery day into a stored, explainable allocation. Reading the
demand, computing, and writing the run happen in one transaction, so a run
and its carry-over rows are either all there or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connection, models, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.catalog.models import Kit, KitKind, KitLine
from baogong.core.errors import NotFound, PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.enterprises.models import EnterpriseType, Organisation
from baogong.orders.models import OPEN_STATUSES, OfferKind, OfferLine, OrderLine, PaymentMethod
from baogong.regions.models import Household
from baogong.stock.models import StockBalance, StockPoint

from .allocation import (
    Allocation,
    AllocationRules,
    Basket,
    Claim,
    ConversionProposal,
    ItemDemand,
    StandardPackage,
    Tier,
    allocate,
    commodity_key,
    kit_key,
    package_conversions_propose,
)
from .models import (
    AllocationCarryOver,
    AllocationItem,
    AllocationLine,
    AllocationRun,
    PackageConversion,
    PackageConversionReason,
    SupplySource,
)

if TYPE_CHECKING:
    from baogong.accounts.models import User

# Roles that may plan a supermarket's day (besides the supermarket's own staff).
PLANNER_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT})
MAX_FLOOR_UNITS = 100
MAX_RELIEF_QUANTITY = 100
SHARE_PLACES = Decimal("0.0001")
# Households read per query: below SQLite's limit on bound parameters.
HOUSEHOLD_CHUNK = 10_000


@dataclass(frozen=True)
class ReliefDemand:
    """A relief kit the community office has listed for a household for the day (not an order)."""

    household_id: int
    kit_id: int
    quantity: int = 1


class _HouseholdFacts(NamedTuple):
    size: int
    vulnerability_mask: int


def _household_facts(household_ids: Sequence[int]) -> dict[int, _HouseholdFacts]:
    """Size and vulnerability of each household: all the run needs, without loading whole rows.

    Long id lists are slow to bind (PostgreSQL: ~60 ms per thousand ids), so
    callers pass only the households they could not read otherwise.
    """
    facts: dict[int, _HouseholdFacts] = {}
    for start in range(0, len(household_ids), HOUSEHOLD_CHUNK):
        chunk = household_ids[start : start + HOUSEHOLD_CHUNK]
        for pk, size, mask in Household.objects.filter(pk__in=chunk).values_list("pk", "size", "vulnerability_mask"):
            facts[pk] = _HouseholdFacts(size, mask)
    return facts


def _rows_insert(model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert plain rows into `model`'s table in the current transaction.

    A city's day writes millions of allocation lines; building a model
    instance per row and letting bulk_create compile the batches costs about
    ten times the insert itself. Rows go in as given (the caller passes
    values the fields would store: ids, quantised decimals, booleans, dates);
    PostgreSQL gets COPY, other databases executemany.
    """
    if not rows:
        return
    meta = model._meta
    by_name = {field.name: field.column for field in meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(str(by_name[name])) for name in fields)
    table = connection.ops.quote_name(meta.db_table)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["%s"] * len(fields))
    # Only the model's own table and column names, quoted, are formatted in; the values are bound.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def instances_insert(instances: Sequence[models.Model], *, keys: bool = False) -> None:
    """Insert unsaved instances of one model without reading back their keys.

    Values go through each field's own preparation, as bulk_create does; on
    PostgreSQL bulk_create binds every column as an escaped text array, which
    costs more than the insert for rows carrying JSON (rosters, pickup slots).
    With `keys`, the primary keys the caller set (taken from the table's
    sequence) are written too, so rows referring to these can be built first.
    """
    if not instances:
        return
    model = type(instances[0])
    fields = [f for f in model._meta.concrete_fields if keys or not f.primary_key]
    rows = [tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields) for obj in instances]
    _rows_insert(model, [f.name for f in fields], rows)


# --- validation -----------------------------------------------------------------------------------


def _actor_may_plan(actor: User | None, supermarket: Organisation) -> None:
    if actor is None:
        return  # the nightly task and the command line
    scope = scope_of(actor)
    if scope.role == Role.SUPPLIER and scope.organisation_id == supermarket.pk:
        return
    if scope.role in PLANNER_ROLES and scope.region_path is not None:
        if supermarket.region.path.startswith(scope.region_path):
            return
        raise NotFound()
    raise PermissionDenied(_("Only planners and the supermarket's own staff run allocations."))


def allocation_rules_validate(rules: AllocationRules) -> None:
    tiers = list(rules.priority_tiers)
    if len(set(tiers)) != len(tiers) or Tier.GENERAL in tiers:
        raise ValidationFailed(
            _("List each priority tier once; the general tier is always shared last."), field="rules.priority_tiers"
        )
    if not 0 <= rules.floor_units <= MAX_FLOOR_UNITS:
        raise ValidationFailed(
            _("The floor must be between 0 and %(max)s units.") % {"max": MAX_FLOOR_UNITS}, field="rules.floor_units"
        )
    open_statuses = {str(status) for status in OPEN_STATUSES}
    if not rules.order_statuses or not set(rules.order_statuses) <= open_statuses:
        raise ValidationFailed(_("Choose order statuses that still hold goods."), field="rules.order_statuses")
    if rules.pick_line_capacity is not None and rules.pick_line_capacity < 0:
        raise ValidationFailed(_("Packing capacity cannot be negative."), field="rules.pick_line_capacity")


def _relief_validate(relief: Sequence[ReliefDemand]) -> tuple[dict[int, Household], dict[int, Kit]]:
    households = Household.objects.in_bulk([r.household_id for r in relief])
    kits = Kit.objects.in_bulk([r.kit_id for r in relief])
    seen: set[tuple[int, int]] = set()
    for index, row in enumerate(relief):
        field = f"relief[{index}]"
        if row.household_id not in households:
            raise ValidationFailed(_("No such household."), field=f"{field}.household_id")
        if row.kit_id not in kits:
            raise ValidationFailed(_("No such kit."), field=f"{field}.kit_id")
        if not 1 <= row.quantity <= MAX_RELIEF_QUANTITY:
            raise ValidationFailed(
                _("The quantity must be between 1 and %(max)s.") % {"max": MAX_RELIEF_QUANTITY},
                field=f"{field}.quantity",
            )
        if (row.household_id, row.kit_id) in seen:
            raise ValidationFailed(_("This household and kit are listed twice."), field=f"{field}.kit_id")
        seen.add((row.household_id, row.kit_id))
    return households, kits


def _supply_validate(supply: Mapping[str, int]) -> None:
    for key, quantity in supply.items():
        kind, _sep, pk = key.partition(":")
        if kind not in ("commodity", "kit") or not pk.isdigit():
            raise ValidationFailed(_("Name goods as commodity:<id> or kit:<id>."), field=f"supply[{key}]")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValidationFailed(_("Supply must be a whole number, 0 or more."), field=f"supply[{key}]")


# --- demand ---------------------------------------------------------------------------------------


@dataclass
class _ClaimDraft:
    household_id: int
    tier: Tier
    quantity: int
    ordered_at: datetime | None


@dataclass
class _Demand:
    """Claims being gathered, keyed by (item key, household, tier); quantities of one key add up."""

    claims: dict[tuple[str, int, Tier], _ClaimDraft]
    baskets: dict[int, dict[str, int]]  # household → individual item lines (for package conversions)
    package_lines: dict[int, int]
    ordered_at: dict[int, datetime]
    carried_in: dict[str, int]
    households: dict[int, _HouseholdFacts]  # read with the order lines, so most need no second query

    def add(self, item: str, household_id: int, tier: Tier, quantity: int, ordered_at: datetime | None) -> None:
        draft = self.claims.get((item, household_id, tier))
        if draft is None:
            self.claims[(item, household_id, tier)] = _ClaimDraft(household_id, tier, quantity, ordered_at)
            return
        draft.quantity += quantity
        if ordered_at is not None and (draft.ordered_at is None or ordered_at < draft.ordered_at):
            draft.ordered_at = ordered_at


def _demand_from_orders(*, supermarket: Organisation, delivery_date: date, rules: AllocationRules) -> _Demand:
    demand = _Demand(
        claims={},
        baskets=defaultdict(dict),
        package_lines=defaultdict(int),
        ordered_at={},
        carried_in={},
        households={},
    )
    lines = OrderLine.objects.filter(
        order__supermarket=supermarket,
        order__delivery_date=delivery_date,
        order__status__in=rules.order_statuses,
    ).values_list(
        "order__household_id",
        "order__household__vulnerability_mask",
        "order__household__size",
        "order__payment_method",
        "order__created_at",
        "kind",
        "kit_id",
        "kit__kind",
        "commodity_id",
        "quantity",
    )
    for household_id, mask, size, payment, created_at, kind, kit_id, kit_kind, commodity_id, quantity in lines:
        demand.households[household_id] = _HouseholdFacts(size, mask)
        item = kit_key(kit_id) if kit_id is not None else commodity_key(commodity_id)
        # Free orders are relief the community office entered; a relief kit is relief whoever pays.
        if payment == PaymentMethod.FREE or kit_kind == KitKind.RELIEF_KIT:
            tier = Tier.RELIEF
        elif mask != 0:
            tier = Tier.VULNERABLE
        else:
            tier = Tier.GENERAL
        demand.add(item, household_id, tier, quantity, created_at)
        if kind == OfferKind.ITEM:
            basket = demand.baskets[household_id]
            basket[item] = basket.get(item, 0) + quantity
        else:
            demand.package_lines[household_id] += 1
        first = demand.ordered_at.get(household_id)
        demand.ordered_at[household_id] = created_at if first is None else min(first, created_at)
    return demand


def _demand_add_relief(demand: _Demand, relief: Sequence[ReliefDemand]) -> None:
    for row in relief:
        demand.add(kit_key(row.kit_id), row.household_id, Tier.RELIEF, row.quantity, None)


def _demand_add_carry_over(demand: _Demand, *, supermarket: Organisation, delivery_date: date) -> None:
    """Yesterday's unmet demand, less what the household ordered again today (it re-ordered what it missed)."""
    ordered_today: dict[tuple[str, int], int] = defaultdict(int)
    for (item, household_id, _tier), draft in demand.claims.items():
        ordered_today[(item, household_id)] += draft.quantity
    rows = AllocationCarryOver.objects.filter(
        for_date=delivery_date, run__supermarket=supermarket, run__is_current=True
    ).values_list("household_id", "item__commodity_id", "item__kit_id", "quantity")
    for household_id, commodity_id, kit_id, quantity in rows:
        item = kit_key(kit_id) if kit_id is not None else commodity_key(commodity_id)
        still_missing = quantity - ordered_today[(item, household_id)]
        if still_missing > 0:
            demand.add(item, household_id, Tier.CARRIED_OVER, still_missing, None)
            demand.carried_in[item] = demand.carried_in.get(item, 0) + still_missing


# --- supply ---------------------------------------------------------------------------------------


def _supply_points(*, supermarket: Organisation, stock_point: StockPoint | None) -> list[int]:
    if stock_point is not None:
        return [stock_point.pk]
    return list(
        StockPoint.objects.filter(organisation=supermarket, is_active=True).order_by("pk").values_list("pk", flat=True)
    )


def _supply_of(
    *,
    items: set[str],
    explicit: Mapping[str, int],
    supermarket: Organisation,
    delivery_date: date,
    stock_point: StockPoint | None,
) -> dict[str, tuple[int, str]]:
    """Supply per item and where the figure comes from.

    Given figures win. A depot run counts the depot's stock only:
    commodities on hand, kits as many as can be packed from it. A
    supermarket run counts commodities on hand at its own stock points;
    packages it offers for the day count what it offered (it packs them
    ahead, so counting their components too would count that stock twice
    against individual orders); other kits count what can be packed from its
    stock. A supermarket without stock points in the system is held to its
    offer.
    """
    points = _supply_points(supermarket=supermarket, stock_point=stock_point)
    on_hand: dict[int, int] = {
        commodity_id: int(total or 0)
        for commodity_id, total in StockBalance.objects.filter(point_id__in=points)
        .values_list("commodity_id")
        .annotate(total=Sum("on_hand"))
        .values_list("commodity_id", "total")
    }
    offered: dict[str, int] = {}
    for kit_id, commodity_id, quantity in OfferLine.objects.filter(
        supermarket=supermarket, delivery_date=delivery_date
    ).values_list("kit_id", "commodity_id", "quantity"):
        offered[kit_key(kit_id) if kit_id is not None else commodity_key(commodity_id)] = quantity
    kit_lines: dict[int, list[tuple[int, int]]] = defaultdict(list)
    kit_ids = [int(item.partition(":")[2]) for item in items if item.startswith("kit:")]
    for kit_id, commodity_id, quantity in KitLine.objects.filter(kit_id__in=kit_ids).values_list(
        "kit_id", "commodity_id", "quantity"
    ):
        kit_lines[kit_id].append((commodity_id, quantity))
    supply: dict[str, tuple[int, str]] = {}
    for item in items:
        kind, _sep, pk = item.partition(":")
        if item in explicit:
            supply[item] = (explicit[item], SupplySource.EXPLICIT)
        elif kind == "commodity" and points:
            supply[item] = (on_hand.get(int(pk), 0), SupplySource.STOCK)
        elif item in offered and stock_point is None and (kind == "kit" or not points):
            supply[item] = (offered[item], SupplySource.OFFER)
        elif kind == "kit" and points and kit_lines[int(pk)]:
            packable = min(on_hand.get(commodity_id, 0) // quantity for commodity_id, quantity in kit_lines[int(pk)])
            supply[item] = (packable, SupplySource.ASSEMBLED)
        else:
            supply[item] = (0, SupplySource.NONE)
    return supply


# --- the run --------------------------------------------------------------------------------------


def _package_proposal(
    *,
    demand: _Demand,
    households: Mapping[int, _HouseholdFacts],
    supermarket: Organisation,
    delivery_date: date,
    rules: AllocationRules,
) -> ConversionProposal | None:
    if rules.pick_line_capacity is None:
        return None
    packages: list[StandardPackage] = []
    contents: dict[int, list[tuple[str, int]]] = defaultdict(list)
    offered_kits = list(
        OfferLine.objects.filter(
            supermarket=supermarket, delivery_date=delivery_date, kind=OfferKind.PACKAGE, is_active=True
        )
        .exclude(kit__kind=KitKind.RELIEF_KIT)
        .order_by("kit_id")
        .values_list("kit_id", flat=True)
    )
    for kit_id, commodity_id, quantity in KitLine.objects.filter(kit_id__in=offered_kits).values_list(
        "kit_id", "commodity_id", "quantity"
    ):
        contents[kit_id].append((commodity_key(commodity_id), quantity))
    for kit_id in offered_kits:
        if kit_id is not None:
            packages.append(StandardPackage(kit_key(kit_id), tuple(sorted(contents[kit_id]))))
    baskets = [
        Basket(
            household_id=household_id,
            items=tuple(sorted(demand.baskets.get(household_id, {}).items())),
            package_lines=demand.package_lines.get(household_id, 0),
            vulnerable=households[household_id].vulnerability_mask != 0,
            ordered_at=demand.ordered_at.get(household_id),
        )
        for household_id in sorted(set(demand.baskets) | set(demand.package_lines))
    ]
    return package_conversions_propose(
        baskets=baskets,
        packages=packages,
        pick_line_capacity=rules.pick_line_capacity,
        convert_vulnerable=rules.convert_vulnerable,
    )


def _share_decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN)


def _goods_of(item: str) -> dict[str, int]:
    kind, _sep, pk = item.partition(":")
    return {"kit_id": int(pk)} if kind == "kit" else {"commodity_id": int(pk)}


LINE_FIELDS = ("run", "item", "household", "tier", "is_prioritised", "weight", "ordered", "floor", "share",
               "allocated", "rule", "rounding")  # fmt: skip
CARRY_OVER_FIELDS = ("run", "item", "household", "for_date", "quantity")


def _run_store(
    *,
    run: AllocationRun,
    allocation: Allocation,
    supply: Mapping[str, tuple[int, str]],
    carried_in: Mapping[str, int],
    delivery_date: date,
    rules: AllocationRules,
) -> None:
    items = AllocationItem.objects.bulk_create(
        AllocationItem(
            run=run,
            supply_source=supply[result.item][1],
            supply=result.supply,
            demand=result.demand,
            allocated=result.allocated,
            unmet=result.unmet,
            carried_in=carried_in.get(result.item, 0),
            **_goods_of(result.item),
        )
        for result in allocation.items
    )
    lines: list[tuple[Any, ...]] = []
    unmet: dict[tuple[int, int], int] = defaultdict(int)
    for item, result in zip(items, allocation.items, strict=True):
        for claim_result in result.results:
            claim = claim_result.claim
            lines.append(
                (
                    run.pk,
                    item.pk,
                    claim.household_id,
                    str(claim.tier),
                    claim_result.prioritised,
                    claim.weight,
                    claim.ordered,
                    claim_result.floor,
                    _share_decimal(claim_result.share),
                    claim_result.allocated,
                    str(claim_result.rule),
                    str(claim_result.rounding),
                )
            )
            if claim.ordered > claim_result.allocated:
                unmet[(item.pk, claim.household_id)] += claim.ordered - claim_result.allocated
    _rows_insert(AllocationLine, LINE_FIELDS, lines)
    if rules.carry_over:
        next_day = delivery_date + timedelta(days=1)
        _rows_insert(
            AllocationCarryOver,
            CARRY_OVER_FIELDS,
            [(run.pk, item_id, household_id, next_day, q) for (item_id, household_id), q in sorted(unmet.items())],
        )


@transaction.atomic
def allocation_run_create(
    *,
    actor: User | None,
    supermarket: Organisation,
    delivery_date: date,
    rules: AllocationRules | None = None,
    relief: Sequence[ReliefDemand] = (),
    supply: Mapping[str, int] | None = None,
    stock_point: StockPoint | None = None,
) -> AllocationRun:
    """Allocate one supermarket's (or depot's) supply for a delivery day and store the run.

    Demand: the order lines of the day's orders in `rules.order_statuses`,
    one claim per household, item and tier (relief: free orders and relief
    kits; vulnerable: any vulnerability flag; carried over: yesterday's unmet
    demand not re-ordered; general: the rest), plus the `relief` list.
    Supply: see `_supply_of`. The computation is `allocation.allocate`. The
    previous run of the same day, if any, is superseded; unmet demand is
    written as carry-over rows for the next day; standard-package conversions
    are proposed when `rules.pick_line_capacity` is below the pick lines
    ordered (stored as proposals, the orders themselves are not changed).
    """
    rules = rules or AllocationRules()
    if supermarket.enterprise_type != EnterpriseType.SUPERMARKET:
        raise ValidationFailed(_("Choose a supermarket."), field="supermarket")
    _actor_may_plan(actor, supermarket)
    allocation_rules_validate(rules)
    explicit = dict(supply or {})
    _supply_validate(explicit)
    if stock_point is not None and not stock_point.is_active:
        raise ValidationFailed(_("This depot is not active."), field="stock_point")
    _relief_validate(relief)

    # Runs for one supermarket queue behind this row lock (PostgreSQL; SQLite writers queue anyway), so two
    # runs of the same day cannot both find no current run and then collide on the one-current constraint.
    Organisation.objects.select_for_update().filter(pk=supermarket.pk).first()
    demand = _demand_from_orders(supermarket=supermarket, delivery_date=delivery_date, rules=rules)
    _demand_add_relief(demand, relief)
    if rules.carry_over:
        _demand_add_carry_over(demand, supermarket=supermarket, delivery_date=delivery_date)
    household_ids = sorted({household_id for (_item, household_id, _tier) in demand.claims})
    # Relief and carried-over claims may name households without an order today.
    households = dict(demand.households)
    households.update(_household_facts([h for h in household_ids if h not in households]))
    claims_by_item: dict[str, list[Claim]] = defaultdict(list)
    for (item, household_id, tier), draft in sorted(demand.claims.items()):
        claims_by_item[item].append(
            Claim(household_id, tier, households[household_id].size, draft.quantity, draft.ordered_at)
        )
    item_supply = _supply_of(
        items=set(claims_by_item),
        explicit=explicit,
        supermarket=supermarket,
        delivery_date=delivery_date,
        stock_point=stock_point,
    )
    allocation = allocate(
        items=[ItemDemand(item, item_supply[item][0], tuple(claims)) for item, claims in claims_by_item.items()],
        rules=rules,
    )
    proposal = _package_proposal(
        demand=demand, households=households, supermarket=supermarket, delivery_date=delivery_date, rules=rules
    )

    superseded = AllocationRun.objects.filter(
        supermarket=supermarket, delivery_date=delivery_date, is_current=True
    ).update(is_current=False)
    run = AllocationRun.objects.create(
        supermarket=supermarket,
        stock_point=stock_point,
        delivery_date=delivery_date,
        rules=rules.as_dict(),
        supply_total=allocation.supply,
        demand_total=allocation.demand,
        allocated_total=allocation.allocated,
        unmet_total=allocation.unmet,
        household_count=len(household_ids),
        pick_lines_ordered=proposal.lines_before if proposal else None,
        pick_lines_planned=proposal.lines_after if proposal else None,
        created_by=actor,
    )
    _run_store(
        run=run,
        allocation=allocation,
        supply=item_supply,
        carried_in=demand.carried_in,
        delivery_date=delivery_date,
        rules=rules,
    )
    if proposal is not None:
        PackageConversion.objects.bulk_create(
            PackageConversion(
                run=run,
                household_id=conversion.household_id,
                package_id=int(conversion.package.partition(":")[2]),
                replaced=[
                    {"commodity": int(item.partition(":")[2]), "quantity": quantity}
                    for item, quantity in conversion.replaced
                ],
                lines_saved=conversion.lines_saved,
                reason=PackageConversionReason.PICK_CAPACITY,
            )
            for conversion in proposal.conversions
        )
    audit_record(
        actor=actor,
        action="allocation.run",
        target_type="allocation_run",
        target_id=run.pk,
        payload={
            "supermarket": supermarket.pk,
            "stock_point": stock_point.pk if stock_point else None,
            "delivery_date": delivery_date,
            "rules": rules.as_dict(),
            "supply": allocation.supply,
            "demand": allocation.demand,
            "allocated": allocation.allocated,
            "unmet": allocation.unmet,
            "households": len(household_ids),
            "superseded": superseded,
            "conversions": len(proposal.conversions) if proposal else 0,
        },
    )
    return run
