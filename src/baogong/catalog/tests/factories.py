from __future__ import annotations

from decimal import Decimal
from itertools import count

from baogong.catalog.models import Commodity

_n = count(1)


def commodity(**overrides: object) -> Commodity:
    n = next(_n)
    fields: dict[str, object] = {
        "code": f"C{n:04d}",
        "name_zh": f"大米{n}",
        "name_en": f"Rice {n}",
        "category": "rice",
        "unit": "bag 10 kg",
        "weight_kg": Decimal("10"),
        "volume_l": Decimal("12"),
        "shelf_life_days": 365,
        "daily_kg_per_person": Decimal("0.15"),
    }
    fields.update(overrides)
    return Commodity.objects.create(**fields)
