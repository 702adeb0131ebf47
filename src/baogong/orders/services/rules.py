"""Who may do what in the ordering system, and the bounds of what they may enter."""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.translation import gettext as _

from baogong.accounts.models import Role
from baogong.core.errors import ValidationFailed

from ..models import OfferKind, OfferLine

# Roles that order for other households (代购) by phone, WeChat, door to door or the hotline.
PROXY_ROLES = frozenset({Role.COMMUNITY, Role.SUBDISTRICT})
# Roles that may set order windows and change pairings.
AREA_ADMIN_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT})
# Roles that report an order at the gate, checked and handed over.
GATE_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER})
# Roles that pick, load and confirm for a supermarket.
SUPPLIER_ROLES = frozenset({Role.SUPPLIER, Role.COMMAND})

MAX_ORDER_LINES = 50
# A household order above this per line is a typo or hoarding, never a need.
MAX_LINE_QUANTITY = 100
MAX_OFFER_QUANTITY = 1_000_000
MAX_PRICE = Decimal("100000")
MAX_HOUSEHOLD_CAP = 100
# RFC 8941 sf-string content: printable ASCII; 255 as Stripe allows.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x20-\x7e]{1,255}$")


def _validate_whole(value: object, *, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("Enter a whole number."), field=field)
    if value < minimum:
        raise ValidationFailed(_("Enter %(minimum)s or more.") % {"minimum": minimum}, field=field)
    if value > maximum:
        raise ValidationFailed(_("Enter at most %(maximum)s.") % {"maximum": maximum}, field=field)
    return value


def quota_key_of(*, kind: str, kit_kind: str | None, offer_id: int) -> str:
    """What a household's cap counts an offer line under: packages by kind of kit, items by line."""
    if kind == OfferKind.PACKAGE and kit_kind is not None:
        return f"kit:{kit_kind}"
    return f"offer:{offer_id}"


def _quota_key(offer: OfferLine) -> str:
    return quota_key_of(kind=offer.kind, kit_kind=offer.kit.kind if offer.kit is not None else None, offer_id=offer.pk)
