"""`manage.py demo_day`: today's delivery day under way in the demo community (see scenario/demo_day.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from baogong.core.errors import ApplicationError
from baogong.scenario.demo_day import demo_day_prepare


class Command(BaseCommand):
    help = "Place, consolidate, confirm and plan today's demo orders so the delivery pages have a day to show."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = demo_day_prepare(seed=options["seed"])
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        if day is None:
            self.stdout.write(_("Today's demo delivery day is already prepared."))
            return
        self.stdout.write(
            _(
                "Today's delivery day: %(orders)s proxy orders (%(sold_out)s sold out), %(pos)s purchase orders "
                "(%(confirmed)s confirmed by the demo supermarket, one short), plan %(plan)s, %(passes)s green passes."
            )
            % {
                "orders": day.orders,
                "sold_out": day.sold_out,
                "pos": day.purchase_orders,
                "confirmed": day.confirmed,
                "plan": day.plan_id,
                "passes": day.passes,
            }
        )
