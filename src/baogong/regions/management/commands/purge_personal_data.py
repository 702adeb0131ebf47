"""`purge_personal_data --emergency CODE --confirm`: anonymise an ended emergency's personal data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from baogong.core.errors import ApplicationError
from baogong.regions.purge import database_scrub, personal_data_purge, purge_connection_prepare


class Command(BaseCommand):
    help = (
        "Anonymise the names, phone and ID numbers, rooms, vulnerability tags and notes of every household, "
        "resident account and order of an ended emergency, keeping the counts; then scrub the database files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--emergency", required=True, help="code of the emergency's top-level region")
        parser.add_argument("--confirm", action="store_true", help="required: the purge cannot be undone")

    def handle(self, *args: Any, **options: Any) -> None:
        purge_connection_prepare()
        try:
            # From the console: the audit row has no actor, like the roster import's.
            result = personal_data_purge(actor=None, emergency=options["emergency"], confirm=options["confirm"])
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        statements = database_scrub()
        self.stdout.write(
            _(
                "Purged emergency %(code)s: %(households)s households, %(accounts)s accounts, %(orders)s orders, "
                "%(events)s order notes, %(keys)s stored responses, %(rosters)s rosters, %(zones)s zone status "
                "reasons, %(logins)s sign-in records; audit entry %(audit)s; database scrubbed "
                "(%(statements)s statements)."
            )
            % {
                "code": result.emergency,
                "households": result.households,
                "accounts": result.accounts,
                "orders": result.orders,
                "events": result.order_events,
                "keys": result.idempotency_keys,
                "rosters": result.rosters,
                "zones": result.zone_reasons,
                "logins": result.login_records,
                "audit": result.audit_id,
                "statements": len(statements),
            }
        )
