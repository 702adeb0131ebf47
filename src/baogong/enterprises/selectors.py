"""Reads of organisations and pairings."""

from __future__ import annotations

from baogong.regions.models import Region

from .models import CompoundPairing


def compound_pairing_get(*, compound: Region) -> CompoundPairing | None:
    """The supermarket pairing of a compound the caller already obtained through a scoping selector."""
    return CompoundPairing.objects.select_related("supermarket", "backup").filter(compound=compound).first()
