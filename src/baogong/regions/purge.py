"""Remove the personal data of an emergency once it is over (PIPL Arts. 19 and 47).

An emergency is one lockdown of one top-level region (a county or a city): its
code is the root region's code, and it lasts while any region under that root
is sealed, controlled or under prevention, now or at a time already scheduled.
Zone statuses are the record of the lockdown, so "the emergency has ended" is
read from them rather than kept as a second flag that could disagree.

The purge anonymises in place instead of deleting. Every household, account,
order and plan row stays, with its region, dates, sizes, statuses and amounts,
so the counts the county reports afterwards (households, orders, deliveries per
region and day) stay exactly as they were. What goes is what identifies or
describes a person: names, phone and ID numbers, the room (the address below
the unit), vulnerability and health tags, and the free-text notes and reasons
that staff may have filled with any of these.

The append-only tables (audit log, personal-data access log, stock ledger,
pass checks) are not touched: they hold identifiers, never personal data (a
test checks that), and the database refuses to change them anyway.

Anonymising a row does not erase the bytes it used to hold. On SQLite the
purge connection runs with `secure_delete`, then rebuilds the file (VACUUM)
and truncates the write-ahead log, so no copy is left in the database files.
On PostgreSQL the affected tables are rewritten with VACUUM FULL; what the
server's WAL archive, replicas and backups still hold is outside the reach of
any SQL statement (docs/reliability.md, R17).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from baogong.accounts.models import User
from baogong.core.errors import Conflict, NotFound, ValidationFailed
from baogong.core.services import audit_record

from .models import Household, Region, ZoneStatus, ZoneStatusKind
from .selectors import region_with_zone_status

if TYPE_CHECKING:
    from baogong.accounts.models import User as UserType

# Replaces a purged room: unique per unit (the household's id), says nothing about the dwelling.
ROOM_PREFIX = "#"
USERNAME_PREFIX = "purged-"

# Tables whose rows the purge rewrites; PostgreSQL vacuums exactly these.
PURGED_TABLES = (
    "regions_household",
    "accounts_user",
    "orders_order",
    "orders_orderevent",
    "orders_idempotencykey",
    "planning_planroster",
    "regions_zonestatus",
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
)


@dataclass(frozen=True)
class PurgeResult:
    emergency: str
    households: int
    accounts: int
    orders: int
    order_events: int
    idempotency_keys: int
    rosters: int
    zone_reasons: int
    login_records: int
    audit_id: int


def emergency_get(*, code: str) -> Region:
    """The root region whose code names the emergency."""
    region = Region.objects.filter(code=code, parent__isnull=True).first()
    if region is None:
        raise NotFound(_("No emergency has the code %(code)s.") % {"code": code})
    return region


def emergency_is_active(*, root: Region, at: datetime | None = None) -> bool:
    """True while any region of the emergency is restricted now or has a restriction scheduled."""
    moment = at or timezone.now()
    statuses = ZoneStatus.objects.filter(region__path__startswith=root.path).exclude(status=ZoneStatusKind.NORMAL)
    if statuses.filter(starts_at__gt=moment).exists():
        return True
    # A region's own current period decides for it: a later "normal" row ends an earlier seal.
    regions = Region.objects.filter(path__startswith=root.path, zone_statuses__isnull=False).distinct()
    current = [
        # The annotation is invisible to the type checker, hence getattr.
        getattr(region, "zone_status", None)
        for region in region_with_zone_status(regions, at=moment).only("pk")
    ]
    return any(status not in (None, ZoneStatusKind.NORMAL) for status in current)


def _pseudonym(prefix: str) -> Concat:
    return Concat(Value(prefix), Cast("pk", output_field=CharField()), output_field=CharField())


@transaction.atomic
def personal_data_purge(
    *, actor: UserType | None, emergency: str, confirm: bool, now: datetime | None = None
) -> PurgeResult:
    """Anonymise every household, resident account and order of an ended emergency, all or nothing.

    Leaves the bytes of the old values in the database files; run
    `database_scrub` after the transaction commits.
    """
    if not confirm:
        raise ValidationFailed(_("Purging personal data cannot be undone; confirm it explicitly."), field="confirm")
    root = emergency_get(code=emergency)
    # Lock out a concurrent zone-status change between the check and the purge where the database can.
    if connection.vendor == "postgresql":
        list(ZoneStatus.objects.select_for_update().filter(region__path__startswith=root.path).values("pk"))
    if emergency_is_active(root=root, at=now):
        raise Conflict(
            _("Emergency %(code)s is still in force: regions are still sealed, controlled or under prevention.")
            % {"code": emergency}
        )

    households = Household.objects.filter(compound__path__startswith=root.path)
    household_ids = list(households.values_list("pk", flat=True))
    household_count = households.update(
        head_name="",
        phone="",
        id_number="",
        notes="",
        vulnerability_mask=0,
        room=_pseudonym(ROOM_PREFIX),
    )

    residents = User.objects.filter(household_id__in=household_ids)
    usernames = list(residents.values_list("username", flat=True))
    account_count = residents.update(
        username=_pseudonym(USERNAME_PREFIX),
        first_name="",
        last_name="",
        email="",
        phone="",
        # An unusable password also invalidates every session of the account (the session hash changes).
        password=make_password(None),
        is_active=False,
    )

    from baogong.orders.models import IdempotencyKey, Order, OrderEvent

    orders = Order.objects.filter(household_id__in=household_ids)
    order_ids = list(orders.values_list("pk", flat=True))
    order_count = orders.update(read_back_note="", reason="")
    event_count = OrderEvent.objects.filter(order_id__in=order_ids).exclude(note="").update(note="")
    # Stored responses repeat the order's free-text reason; the keys' retry window is long past.
    key_count, _deleted = IdempotencyKey.objects.filter(order_id__in=order_ids).delete()

    from baogong.planning.models import PlanRoster

    roster_count = 0
    for roster in PlanRoster.objects.filter(compound__path__startswith=root.path).only("pk", "stops"):
        stops = [{**stop, "room": f"{ROOM_PREFIX}{stop.get('household', '')}"} for stop in roster.stops]
        if stops != roster.stops:
            PlanRoster.objects.filter(pk=roster.pk).update(stops=stops)
            roster_count += 1

    # A zone status's reason is free text written during the lockdown ("case in room 502, Zhang"); the
    # periods themselves, the record of the lockdown, stay as they were.
    zone_reason_count = (
        ZoneStatus.objects.filter(region__path__startswith=root.path).exclude(reason="").update(reason="")
    )

    # Sign-in records name the account by the username it was given, which may be a phone number.
    login_count = 0
    if apps.is_installed("axes"):
        for model_name in ("AccessAttempt", "AccessLog", "AccessFailureLog"):
            model = apps.get_model("axes", model_name)
            login_count += model.objects.filter(username__in=usernames).delete()[0]

    audit = audit_record(
        actor=actor,
        action="personal_data.purge",
        target_type="region",
        target_id=root.pk,
        payload={
            "emergency": root.code,
            "households": household_count,
            "accounts": account_count,
            "orders": order_count,
            "order_events": event_count,
            "idempotency_keys": key_count,
            "rosters": roster_count,
            "zone_reasons": zone_reason_count,
            "login_records": login_count,
        },
    )
    return PurgeResult(
        emergency=root.code,
        households=household_count,
        accounts=account_count,
        orders=order_count,
        order_events=event_count,
        idempotency_keys=key_count,
        rosters=roster_count,
        zone_reasons=zone_reason_count,
        login_records=login_count,
        audit_id=audit.pk,
    )


def purge_connection_prepare() -> None:
    """Make SQLite overwrite, not just unlink, every cell the purge frees or rewrites on this connection."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete=ON")


def database_scrub() -> list[str]:
    """Overwrite what the purge left behind in the database files. Returns the statements run.

    Must run outside any transaction (VACUUM cannot run inside one).
    """
    if connection.in_atomic_block:
        raise RuntimeError("database_scrub must run after the purge has committed, outside any transaction")
    statements: list[str] = []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # secure_delete zeroes freed cells and pages; VACUUM rebuilds the file through the WAL,
            # and the TRUNCATE checkpoint copies it back and cuts the WAL to zero bytes.
            statements = ["PRAGMA secure_delete=ON", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"]
        elif connection.vendor == "postgresql":
            existing = set(connection.introspection.table_names(cursor))
            # VACUUM FULL writes each table into a new file and drops the old one, dead tuples included.
            statements = [
                f"VACUUM (FULL, ANALYZE) {connection.ops.quote_name(table)}"
                for table in PURGED_TABLES
                if table in existing
            ]
        for statement in statements:
            cursor.execute(statement)
    return statements


def personal_data_purged(*, root: Region) -> bool:
    """True when no household of the emergency still holds a name, phone, ID number, note or tag."""
    return not (
        Household.objects.filter(compound__path__startswith=root.path)
        .filter(~Q(head_name="") | ~Q(phone="") | ~Q(id_number="") | ~Q(notes="") | ~Q(vulnerability_mask=0))
        .exists()
        or Household.objects.filter(compound__path__startswith=root.path)
        .exclude(room=Concat(Value(ROOM_PREFIX), Cast(F("pk"), output_field=CharField())))
        .exists()
    )
