"""Loading a synthetic scenario, and the demo accounts on top of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as dt_time
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import Role, User
from baogong.catalog.models import Commodity
from baogong.catalog.services import catalog_seed_load
from baogong.core.errors import Conflict, ValidationFailed
from baogong.core.services import audit_record
from baogong.delivery.models import Vehicle
from baogong.enterprises.models import CompoundPairing, Contact, DepartmentDuty, Organisation
from baogong.regions.models import Household, Region, RegionLevel, ZoneStatus
from baogong.stock.models import StockBalance, StockMovement, StockPoint

from .generator import scenario_rows_write
from .parameters import Preset, preset_get
from .records import Bases, CommodityRef
from .sinks import sink_for_connection

if TYPE_CHECKING:
    from collections.abc import Iterator

DEMO_PASSWORD = "baogong-demo"  # noqa: S105 - the documented password of the demo logins
# SQLite page cache for the load (KiB, negative = size rather than pages); the
# default 2 MB makes the household indexes thrash. Restored afterwards.
SQLITE_LOAD_CACHE_KIB = 65536

GENERATED_MODELS: tuple[type[Model], ...] = (
    Region, Household, User, Organisation, DepartmentDuty, Contact, CompoundPairing, ZoneStatus, StockPoint,
    StockBalance, StockMovement, Vehicle,
)  # fmt: skip


@dataclass(frozen=True)
class GenerationResult:
    preset: str
    seed: int
    counts: dict[str, int]
    digest: str
    seconds: float
    table_seconds: dict[str, tuple[int, float]]


def _next_key(model: type[Model]) -> int:
    return int(model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


def _bases() -> Bases:
    return Bases(
        region=_next_key(Region),
        household=_next_key(Household),
        user=_next_key(User),
        organisation=_next_key(Organisation),
        duty=_next_key(DepartmentDuty),
        contact=_next_key(Contact),
        pairing=_next_key(CompoundPairing),
        zone=_next_key(ZoneStatus),
        point=_next_key(StockPoint),
        balance=_next_key(StockBalance),
        movement=_next_key(StockMovement),
        vehicle=_next_key(Vehicle),
    )


def commodity_refs() -> list[CommodityRef]:
    return [
        CommodityRef(
            id=c.pk,
            code=c.code,
            category=c.category,
            weight_kg=float(c.weight_kg),
            daily_kg_per_person=float(c.daily_kg_per_person) if c.daily_kg_per_person is not None else None,
            reserve_days_target=c.reserve_days_target,
            shelf_life_days=c.shelf_life_days,
        )
        for c in Commodity.objects.order_by("code")
    ]


class _SqliteLoadSettings:
    """A bigger page cache for the load only, on the generator's own connection."""

    def __enter__(self) -> None:
        self.previous: int | None = None
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self.previous = int(cursor.fetchone()[0])
                cursor.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {self.previous}")


def _refuse_if_loaded() -> None:
    if Region.objects.exists():
        raise Conflict(
            _("The database already holds regions; a scenario is generated only into an empty database."),
            field="preset",
        )


def scenario_generate(
    *,
    actor: User | None,
    preset: str | Preset,
    seed: int,
    subdistrict_fraction: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationResult:
    """Load a synthetic scenario into an empty database, in one transaction.

    Loads the catalogue (idempotent), plans the tree, then streams rows with
    explicit keys to the database (executemany on SQLite, COPY on
    PostgreSQL). Opening stock is written as receipts with matching balances,
    so the ledger check holds. `subdistrict_fraction` < 1 fills households
    for only the first part of the subdistricts (benchmarks of the city).
    One audit row records preset, seed, counts and the content digest.
    """
    spec = preset_get(name=preset) if isinstance(preset, str) else preset
    if seed < 0:
        raise ValidationFailed(_("The seed must be zero or positive."), field="seed")
    if not 0 < subdistrict_fraction <= 1:
        raise ValidationFailed(_("The fraction must be above 0 and at most 1."), field="subdistrict_fraction")
    _refuse_if_loaded()
    started = time.perf_counter()
    with _SqliteLoadSettings(), transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Serialise concurrent generators, and check foreign keys per COPY
                # rather than queueing ten million deferred checks until commit.
                cursor.execute("LOCK TABLE regions_region IN SHARE ROW EXCLUSIVE MODE")
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _refuse_if_loaded()
        catalog_seed_load(actor=actor)
        now = timezone.now()
        sink = sink_for_connection(now=now)
        counts = scenario_rows_write(
            spec,
            seed=seed,
            sink=sink,
            now=now,
            bases=_bases(),
            commodities=commodity_refs(),
            subdistrict_fraction=subdistrict_fraction,
            progress=progress,
        )
        _sequences_reset()
        audit_record(
            actor=actor,
            action="scenario.generate",
            target_type="scenario",
            target_id=spec.name,
            payload={
                "preset": spec.name,
                "seed": seed,
                "subdistrict_fraction": subdistrict_fraction,
                "counts": counts,
                "digest": sink.digest,
            },
        )
    return GenerationResult(
        preset=spec.name,
        seed=seed,
        counts=counts,
        digest=sink.digest,
        seconds=time.perf_counter() - started,
        table_seconds={label: (table.rows, table.seconds) for label, table in sorted(sink.tables.items())},
    )


def _sequences_reset() -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(GENERATED_MODELS))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    scope: str
    created: bool


def _demo_scopes() -> Iterator[tuple[str, str, dict[str, object], str]]:
    """(username, role, scope fields, scope label) for each role, in Role order."""
    root = Region.objects.filter(level=RegionLevel.COUNTY).order_by("code").first()
    if root is None:
        raise Conflict(_("There is no county yet; generate a scenario first."), field="region")
    subdistrict = Region.objects.filter(parent=root).order_by("code").first()
    community = Region.objects.filter(parent=subdistrict).order_by("code").first()
    compound = Region.objects.filter(parent=community).order_by("code").first()
    department = (
        Organisation.objects.filter(kind="department", region=root, name="商务局").order_by("code").first()
        or Organisation.objects.filter(kind="department").order_by("code").first()
    )
    pairing = CompoundPairing.objects.filter(compound=compound).select_related("supermarket").first()
    household = Household.objects.filter(compound=compound).order_by("pk").first()
    if None in (subdistrict, community, compound, department, pairing, household):
        raise Conflict(_("The scenario is incomplete; generate a scenario into an empty database."), field="region")
    assert subdistrict is not None
    assert community is not None
    assert compound is not None
    assert department is not None
    assert pairing is not None
    assert household is not None
    yield "command", Role.COMMAND, {"region": root}, root.name
    yield "department", Role.DEPARTMENT, {"organisation": department}, department.name
    yield "subdistrict", Role.SUBDISTRICT, {"region": subdistrict}, subdistrict.name
    yield "community", Role.COMMUNITY, {"region": community}, community.name
    yield "supplier", Role.SUPPLIER, {"organisation": pairing.supermarket}, pairing.supermarket.name
    yield "volunteer", Role.VOLUNTEER, {"region": compound}, compound.name
    yield "checkpoint", Role.CHECKPOINT, {"region": root}, root.name
    yield "resident", Role.RESIDENT, {"household": household}, f"{compound.name} {household.room}"


@transaction.atomic
def demo_accounts_ensure(*, actor: User | None) -> list[DemoAccount]:
    """One demo login per role plus the `admin` superuser, all with DEMO_PASSWORD.

    Existing accounts with these usernames are left exactly as they are, so
    running it again changes nothing. The password is hashed once and the
    hash shared: the accounts are demo logins, not people.
    """
    accounts: list[DemoAccount] = []
    password_hash: str | None = None
    created_names: list[str] = []
    wanted = [*_demo_scopes(), ("admin", "", {}, _("everything (superuser)"))]
    existing = set(User.objects.filter(username__in=[w[0] for w in wanted]).values_list("username", flat=True))
    for username, role, scope, label in wanted:
        created = username not in existing
        if created:
            password_hash = password_hash or make_password(DEMO_PASSWORD)
            is_admin = username == "admin"
            user = User(
                username=username,
                password=password_hash,
                role=role,
                is_staff=is_admin,
                is_superuser=is_admin,
                **scope,
            )
            user.full_clean(exclude=["password"])
            user.save()
            created_names.append(username)
        accounts.append(DemoAccount(username=username, role=str(role) or "admin", scope=str(label), created=created))
    if created_names:
        audit_record(
            actor=actor, action="scenario.demo_accounts", target_type="user", payload={"created": created_names}
        )
    return accounts


# What every demo supermarket offers each delivery day: (kit or commodity code, price in yuan,
# units per paired household, per-household cap). Prices are the "normal" levels of the parameters.
DEMO_OFFERS: tuple[tuple[str, str, str, float, int], ...] = (
    ("kit", "veg_package_std", "30.00", 0.6, 1),
    ("commodity", "rice_5kg", "32.00", 0.3, 2),
    ("commodity", "oil_5l", "65.00", 0.15, 1),
    ("commodity", "eggs", "18.00", 0.3, 2),
    ("commodity", "pork_frozen", "28.00", 0.3, 2),
    ("commodity", "milk", "6.50", 0.4, 4),
)


def demo_order_window_open(*, actor: User) -> None:
    """Keep the demo county's ordering window open around the clock.

    The default window (06:00-16:00 the day before delivery) would leave a demo
    started in the evening with nothing to order. For the demo, orders for day
    D open at 00:00 two days before and close at 23:59 the day before, so some
    delivery day is always open. An area that already has its own window keeps it.
    """
    from baogong.orders.models import OrderWindow
    from baogong.orders.services import order_window_set

    for root in Region.objects.filter(level=RegionLevel.COUNTY, parent__isnull=True):
        if not OrderWindow.objects.filter(region=root).exists():
            order_window_set(
                actor=actor,
                region=root,
                opens_days_before=2,
                opens_at=dt_time(0, 0),
                closes_days_before=1,
                closes_at=dt_time(23, 59),
            )


def demo_offers_publish(*, actor: User) -> int:
    """Publish the demo offers of every paired supermarket for the day now open for ordering and the next.

    So a fresh demo shows residents something to order and community workers
    something to order on their behalf. A supermarket that already offers
    anything for a day is left alone, so running the demo set-up again changes
    nothing. Returns the number of offer lines written.
    """
    from baogong.orders.selectors import order_delivery_date_current

    compound = CompoundPairing.objects.select_related("compound").order_by("pk").first()
    if compound is None:
        return 0
    first_day = order_delivery_date_current(compound=compound.compound)
    return sum(
        demo_offers_for_day_publish(actor=actor, delivery_date=day)
        for day in (first_day, first_day + timedelta(days=1))
    )


def demo_offers_for_day_publish(*, actor: User, delivery_date: date) -> int:
    """The demo offers of every paired supermarket for one delivery day (see `demo_offers_publish`)."""
    from baogong.catalog.models import Kit
    from baogong.orders.models import OfferLine
    from baogong.orders.services import offer_line_publish

    kits = {k.code: k for k in Kit.objects.all()}
    commodities = {c.code: c for c in Commodity.objects.all()}
    written = 0
    pairings = CompoundPairing.objects.select_related("supermarket", "compound").order_by("supermarket_id", "pk")
    households_by_compound = dict(
        Household.objects.values("compound_id")
        .annotate(n=models.Count("id"))
        .order_by()
        .values_list("compound_id", "n")
    )
    served: dict[int, tuple[Organisation, int]] = {}
    for pairing in pairings:
        shop, total = served.get(pairing.supermarket_id, (pairing.supermarket, 0))
        served[pairing.supermarket_id] = (shop, total + households_by_compound.get(pairing.compound_id, 0))
    for shop, households in served.values():
        if OfferLine.objects.filter(supermarket=shop, delivery_date=delivery_date).exists():
            continue
        for kind, code, price, per_household, cap in DEMO_OFFERS:
            kit = kits.get(code) if kind == "kit" else None
            commodity = commodities.get(code) if kind == "commodity" else None
            if kit is None and commodity is None:
                continue
            offer_line_publish(
                actor=actor,
                supermarket=shop,
                delivery_date=delivery_date,
                price=Decimal(price),
                quantity=max(10, round(households * per_household)),
                household_cap=cap,
                kit=kit,
                commodity=commodity,
            )
            written += 1
    return written
