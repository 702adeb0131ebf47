from __future__ import annotations

from itertools import count

from baogong.accounts.models import Role, User
from baogong.enterprises.models import Organisation
from baogong.regions.models import Household, Region

_n = count(1)


def user(
    role: str,
    *,
    region: Region | None = None,
    organisation: Organisation | None = None,
    household: Household | None = None,
    password: str = "pw-for-tests-only",
) -> User:
    account = User(
        username=f"{role}{next(_n)}",
        role=role,
        region=region,
        organisation=organisation,
        household=household,
    )
    account.set_password(password)
    account.save()
    return account


__all__ = ["Role", "user"]
