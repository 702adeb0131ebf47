"""Django's `flush`, made to work on append-only tables.

Wiping a whole database is a maintenance act, not a change to history, so
it may lift the append-only triggers for its own transaction. Nothing else can.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import connections

from baogong.core.append_only import append_only_suspended


class Command(DjangoFlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        with append_only_suspended(connection):
            super().handle(**options)
