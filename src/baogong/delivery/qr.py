"""The signed payload a green pass carries in its QR code, and the QR image.

The payload names the pass (number), the vehicle (plate) and the validity
window, signed with the project's secret under a salt used for nothing else,
so a payload made for another purpose never verifies as a pass. It carries no
personal data: a phone photographed at a checkpoint leaks nothing about the
driver. Changing any character breaks the signature.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import segno
from django.core import signing

from .models import GreenPass

SALT = "baogong.delivery.green-pass"


@dataclass(frozen=True)
class PassClaim:
    number: str
    plate: str
    valid_from: int
    valid_until: int


def green_pass_payload_sign(*, green_pass: GreenPass) -> str:
    claim: dict[str, Any] = {
        "n": green_pass.number,
        "p": green_pass.vehicle.plate,
        "f": int(green_pass.valid_from.timestamp()),
        "u": int(green_pass.valid_until.timestamp()),
    }
    return signing.dumps(claim, salt=SALT)


def green_pass_payload_read(*, payload: str) -> PassClaim | None:
    """The claim of a genuine payload, or None for a forged or altered one."""
    try:
        claim = signing.loads(payload, salt=SALT)
        return PassClaim(
            number=str(claim["n"]), plate=str(claim["p"]), valid_from=int(claim["f"]), valid_until=int(claim["u"])
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def green_pass_claim_matches(*, claim: PassClaim, green_pass: GreenPass) -> bool:
    """A genuinely signed claim must still describe the pass on record."""
    return (
        claim.number == green_pass.number
        and claim.plate == green_pass.vehicle.plate
        and claim.valid_from == int(green_pass.valid_from.timestamp())
        and claim.valid_until == int(green_pass.valid_until.timestamp())
    )


def qr_svg_data_uri(*, payload: str, scale: int = 4) -> str:
    """The QR code as an <img src> data: URI, which the Content-Security-Policy allows (img-src data:)."""
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="svg", scale=scale, border=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
