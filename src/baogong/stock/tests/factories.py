from __future__ import annotations

from itertools import count

from baogong.regions.models import Region
from baogong.stock.models import StockPoint, StockPointKind

_n = count(1)


def stock_point(region: Region, *, kind: str = StockPointKind.GOVERNMENT_RESERVE, **overrides: object) -> StockPoint:
    n = next(_n)
    fields: dict[str, object] = {"code": f"SP{n:04d}", "name": f"Depot {n}", "kind": kind, "region": region}
    fields.update(overrides)
    return StockPoint.objects.create(**fields)
