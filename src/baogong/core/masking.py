"""Server-side masking of personal identifiers.

Masking happens before data reaches a template, an export or an API schema, so
a role that may not see a number never receives it.
"""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 digits of a mainland mobile number: 138****5678."""
    digits = phone.strip()
    if not digits:
        return ""
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 8:
        return "*" * (len(digits) - 4) + digits[-4:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(id_number: str) -> str:
    """Resident ID: keep the first and last character only (1****************X)."""
    value = id_number.strip()
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_name(name: str) -> str:
    """Chinese convention: keep the surname, mask the given name (张**)."""
    value = name.strip()
    if len(value) <= 1:
        return value
    return value[0] + "*" * (len(value) - 1)
