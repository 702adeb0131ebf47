"""Pickup codes: what a resident shows at the distribution point.

Two forms of the same claim, "household H collects on day D":
- the QR payload, signed with `django.core.signing` under a salt used for
  nothing else (a green pass or any other signed value never reads as a
  pickup code) and time-stamped, so an old screenshot expires;
- an 8-digit code to type when the camera fails, an HMAC of the same claim,
  found by comparing it with the codes of that day's pickup households at the
  point (a few hundred at most), in constant time.
Neither carries a name, phone or address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "baogong.lastmile.pickup-code"
# A code is made when the slot is announced (the day before at the earliest): three days is generous.
MAX_AGE_S = 3 * 24 * 3600
TYPED_DIGITS = 8


@dataclass(frozen=True)
class PickupClaim:
    household_id: int
    delivery_date: date


class PickupCodeRejected(Exception):
    """Carries a stable reason code: forged, expired."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def pickup_payload_sign(*, household_id: int, delivery_date: date) -> str:
    return signing.dumps({"h": household_id, "d": delivery_date.isoformat()}, salt=SALT, compress=False)


def pickup_payload_read(*, payload: str, max_age_s: int = MAX_AGE_S) -> PickupClaim:
    """The claim of a genuine, unexpired payload; PickupCodeRejected("forged" / "expired") otherwise."""
    try:
        claim = signing.loads(payload.strip(), salt=SALT, max_age=max_age_s)
    except signing.SignatureExpired as error:
        raise PickupCodeRejected("expired") from error
    except signing.BadSignature as error:
        raise PickupCodeRejected("forged") from error
    try:
        return PickupClaim(household_id=int(claim["h"]), delivery_date=date.fromisoformat(str(claim["d"])))
    except (KeyError, TypeError, ValueError) as error:
        # Signed by us, so only a change of format could get here; treat it like any unreadable code.
        raise PickupCodeRejected("forged") from error


def pickup_typed_code(*, household_id: int, delivery_date: date) -> str:
    digest = salted_hmac(SALT, f"{household_id}:{delivery_date.isoformat()}", algorithm="sha256").hexdigest()
    return f"{int(digest[:15], 16) % 10**TYPED_DIGITS:0{TYPED_DIGITS}d}"


def pickup_typed_code_match(*, typed: str, household_id: int, delivery_date: date) -> bool:
    return constant_time_compare(typed, pickup_typed_code(household_id=household_id, delivery_date=delivery_date))


def pickup_typed_normalise(value: str) -> str | None:
    """Digits of a typed code (spaces and dashes allowed), or None when it is not one."""
    digits = "".join(ch for ch in value if ch not in " -")
    return digits if len(digits) == TYPED_DIGITS and digits.isdigit() else None
