from __future__ import annotations

import secrets
from datetime import datetime
from itertools import count

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from baogong.accounts.models import Role, Session, User
from baogong.accounts.sessions import SessionStore
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


def signed_in_session(account: User, *, expires_at: datetime) -> Session:
    """A database session row for `account`, as if it had signed in (bulk-create many at once).

    Load tests sign thousands of residents in this way instead of hashing a
    password and posting the login form for each.
    """
    data = SessionStore().encode(
        {
            SESSION_KEY: str(account.pk),
            BACKEND_SESSION_KEY: "baogong.accounts.backends.ModelBackend",
            HASH_SESSION_KEY: account.get_session_auth_hash(),
        }
    )
    return Session(session_key=secrets.token_hex(16), session_data=data, expire_date=expires_at, account=account)
