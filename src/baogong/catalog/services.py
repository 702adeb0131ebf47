"""Writes to the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from baogong.core.services import audit_record

from .data import COMMODITIES, KITS, CommoditySpec, KitSpec
from .models import Commodity, Kit, KitLine

if TYPE_CHECKING:
    from baogong.accounts.models import User


@dataclass(frozen=True)
class CatalogLoadResult:
    commodities_created: int
    commodities_updated: int
    kits_created: int
    kits_updated: int


def _commodity_fields(spec: CommoditySpec) -> dict[str, object]:
    return {
        "name_zh": spec.name_zh,
        "name_en": spec.name_en,
        "category": spec.category,
        "unit": spec.unit,
        "weight_kg": Decimal(spec.weight_kg),
        "volume_l": Decimal(spec.volume_l),
        "shelf_life_days": spec.shelf_life_days,
        "is_cold_chain": spec.is_cold_chain,
        "daily_kg_per_person": Decimal(spec.daily_kg_per_person) if spec.daily_kg_per_person is not None else None,
        "medical_tier": spec.medical_tier,
        "reserve_days_target": spec.reserve_days_target,
    }


@transaction.atomic
def catalog_seed_load(
    *,
    actor: User | None,
    commodities: tuple[CommoditySpec, ...] = COMMODITIES,
    kits: tuple[KitSpec, ...] = KITS,
) -> CatalogLoadResult:
    """Create or update the seed commodities and kits, matched by code.

    Running it again changes nothing that already matches; a kit's lines are
    made exactly the lines of its spec. Only rows that actually changed are
    written, so the audit payload says what the run did.
    """
    existing = {c.code: c for c in Commodity.objects.filter(code__in=[s.code for s in commodities])}
    created = updated = 0
    for spec in commodities:
        fields = _commodity_fields(spec)
        commodity = existing.get(spec.code)
        if commodity is None:
            commodity = Commodity(code=spec.code, **fields)
            commodity.full_clean()
            commodity.save()
            existing[spec.code] = commodity
            created += 1
        elif any(getattr(commodity, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(commodity, name, value)
            commodity.full_clean()
            commodity.save()
            updated += 1

    by_code = {c.code: c for c in Commodity.objects.filter(code__in={code for k in kits for code, _ in k.lines})}
    kits_created = kits_updated = 0
    for kit_spec in kits:
        kit, was_created = Kit.objects.get_or_create(
            code=kit_spec.code,
            defaults={
                "kind": kit_spec.kind,
                "name_zh": kit_spec.name_zh,
                "name_en": kit_spec.name_en,
                "description": kit_spec.description,
            },
        )
        changed = was_created
        kit_fields = {
            "kind": kit_spec.kind,
            "name_zh": kit_spec.name_zh,
            "name_en": kit_spec.name_en,
            "description": kit_spec.description,
        }
        if not was_created and any(getattr(kit, name) != value for name, value in kit_fields.items()):
            Kit.objects.filter(pk=kit.pk).update(**kit_fields)
            changed = True
        wanted = {by_code[code].pk: quantity for code, quantity in kit_spec.lines}
        current = dict(KitLine.objects.filter(kit=kit).values_list("commodity_id", "quantity"))
        if current != wanted:
            KitLine.objects.filter(kit=kit).exclude(commodity_id__in=wanted).delete()
            for commodity_id, quantity in sorted(wanted.items()):
                KitLine.objects.update_or_create(kit=kit, commodity_id=commodity_id, defaults={"quantity": quantity})
            changed = True
        if was_created:
            kits_created += 1
        elif changed:
            kits_updated += 1

    result = CatalogLoadResult(
        commodities_created=created, commodities_updated=updated, kits_created=kits_created, kits_updated=kits_updated
    )
    if created or updated or kits_created or kits_updated:
        audit_record(actor=actor, action="catalog.seed_load", target_type="catalog", payload=result.__dict__)
    return result
