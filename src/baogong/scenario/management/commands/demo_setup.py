"""`manage.py demo_setup`: the demo county (if the database is empty) and one login per role."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from baogong.accounts.models import User
from baogong.core.errors import ApplicationError
from baogong.regions.models import Region
from baogong.scenario.services import (
    DEMO_PASSWORD,
    demo_accounts_ensure,
    demo_offers_publish,
    demo_order_window_open,
    scenario_generate,
)

DEMO_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = "Generate the demo preset into an empty database and create the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if not Region.objects.exists():
                result = scenario_generate(actor=None, preset="demo", seed=options["seed"])
                self.stdout.write(
                    _("Generated the demo county: %(households)s households in %(seconds).1f s.")
                    % {"households": f"{result.counts['households']:,}", "seconds": result.seconds}
                )
            accounts = demo_accounts_ensure(actor=None)
            command = User.objects.get(username="command")
            demo_order_window_open(actor=command)
            offers = demo_offers_publish(actor=command)
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(_("Published %(n)s offer lines for the next delivery days.") % {"n": offers})
        self.stdout.write("")
        self.stdout.write(_("Open %(url)s and sign in with one of these demo logins:") % {"url": DEMO_URL})
        header = (_("username"), _("password"), _("role"), _("scope"))
        self.stdout.write(f"  {header[0]:<12} {header[1]:<14} {header[2]:<12} {header[3]}")
        for account in accounts:
            self.stdout.write(f"  {account.username:<12} {DEMO_PASSWORD:<14} {account.role:<12} {account.scope}")
