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


def _quota_key(offer: OfferLine) -> str:
    if offer.kind == OfferKind.PACKAGE and offer.kit is not None:
        return f"kit:{offer.kit.kind}"
    return f"offer:{offer.pk}"
