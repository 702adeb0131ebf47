"""`manage.py orders_consolidate [--date YYYY-MM-DD]`: make the purchase orders of a delivery day.

Without --date it consolidates tomorrow's deliveries (Asia/Shanghai), which is
what the 16:00 cut-off job needs. Running it again adds only new orders.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from baogong.orders.services import purchase_orders_consolidate


class Command(BaseCommand):
    help = "Consolidate the placed orders of a delivery day into purchase orders (compounds past cut-off only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="delivery day, YYYY-MM-DD (default: tomorrow)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError as error:
                raise CommandError(f"--date: {error}") from None
        else:
            day = timezone.localdate() + timedelta(days=1)
        made = purchase_orders_consolidate(delivery_date=day)
        orders = sum(purchase_order.order_count for purchase_order in made)
        self.stdout.write(f"{day}: {len(made)} purchase orders, {orders} orders")
