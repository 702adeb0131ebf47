"""`baogong check-ledger`: prove on_hand == sum(ledger) for every balance; exit 1 otherwise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from baogong.stock.models import StockBalance, StockMovement
from baogong.stock.selectors import stock_ledger_mismatches


class Command(BaseCommand):
    help = "Check that every stock balance equals the sum of its ledger rows."

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = stock_ledger_mismatches()
        balances = StockBalance.objects.count()
        movements = StockMovement.objects.count()
        if mismatches:
            for m in mismatches:
                self.stderr.write(
                    f"MISMATCH balance={m.balance_id} point={m.point_code} commodity={m.commodity_code} "
                    f"lot={m.lot!r} on_hand={m.on_hand} ledger_sum={m.ledger_sum}"
                )
            raise CommandError(f"{len(mismatches)} of {balances} balances disagree with the ledger")
        self.stdout.write(f"OK: {balances} balances agree with {movements} ledger rows")
