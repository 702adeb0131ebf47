"""Access scope of an account.

Every list, detail, export and API read starts from `scope_of(user)` and goes
through a scoping selector of the app that owns the data (`household_list`,
`stock_point_get`, ...). Those selectors return querysets already restricted
to the scope, so an object outside it is simply not found: the caller answers
404 and never reveals that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from baogong.accounts.models import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from baogong.accounts.models import User

# Roles that keep the household roster and phone residents; they see phone and
# ID numbers unmasked on a household's own page (each view audited).
PERSONAL_DATA_ROLES = frozenset({Role.SUBDISTRICT, Role.COMMUNITY})
# Roles that see households at all (masked unless in PERSONAL_DATA_ROLES).
HOUSEHOLD_ROLES = frozenset({Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER})
# Roles that see stock points of their region subtree.
REGION_STOCK_ROLES = frozenset({Role.COMMAND, Role.DEPARTMENT, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER})


@dataclass(frozen=True)
class Scope:
    """What an account may read.

    `region_path` is the materialised path of the subtree root ("" = the whole
    tree, None = no regions). `organisation_id` is set for organisation-bound
    roles; `household_id` for residents.
    """

    user_id: int | None
    role: str
    region_path: str | None
    organisation_id: int | None = None
    household_id: int | None = None

    @property
    def sees_households(self) -> bool:
        return self.role in HOUSEHOLD_ROLES or self.household_id is not None

    @property
    def sees_personal_data(self) -> bool:
        return self.role in PERSONAL_DATA_ROLES

    @property
    def sees_all_stock_in_region(self) -> bool:
        return self.role in REGION_STOCK_ROLES

    @property
    def is_command(self) -> bool:
        return self.role == Role.COMMAND


NOTHING = Scope(user_id=None, role="", region_path=None)


def scope_of(user: User | AnonymousUser) -> Scope:
    if not user.is_authenticated:
        return NOTHING
    account: User = user
    if account.is_superuser and not account.role:
        # Operators with a superuser account see the whole tree as the command office does.
        return Scope(user_id=account.pk, role=Role.COMMAND, region_path="")
    role = account.role
    if role == Role.RESIDENT:
        return Scope(user_id=account.pk, role=role, region_path=None, household_id=account.household_id)
    if role in (Role.DEPARTMENT, Role.SUPPLIER):
        organisation = account.organisation
        if organisation is None:
            return NOTHING
        # A department answers for its jurisdiction; a supplier sees only what it operates.
        path = organisation.region.path if role == Role.DEPARTMENT else None
        return Scope(user_id=account.pk, role=role, region_path=path, organisation_id=organisation.pk)
    if account.region is None:
        return NOTHING
    return Scope(user_id=account.pk, role=role, region_path=account.region.path)
