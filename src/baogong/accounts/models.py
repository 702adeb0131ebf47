"""Accounts: one role each, scoped to a region subtree or an organisation."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMAND = "command", _("command office")
    DEPARTMENT = "department", _("department")
    SUBDISTRICT = "subdistrict", _("subdistrict staff")
    COMMUNITY = "community", _("community worker")
    SUPPLIER = "supplier", _("supplier staff")
    VOLUNTEER = "volunteer", _("volunteer")
    CHECKPOINT = "checkpoint", _("checkpoint officer")
    RESIDENT = "resident", _("resident")


# Roles whose scope is a region subtree (their `region` is required).
REGION_SCOPED_ROLES = {Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY, Role.VOLUNTEER, Role.CHECKPOINT}
# Roles whose scope is an organisation (their `organisation` is required).
ORGANISATION_SCOPED_ROLES = {Role.DEPARTMENT, Role.SUPPLIER}


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, blank=True, default="")
    region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    organisation = models.ForeignKey(
        "enterprises.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("organisation"),
    )
    household = models.ForeignKey(
        "regions.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
        verbose_name=_("household"),
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # A scoped account without its scope would see nothing or, worse,
            # be mistaken for unscoped; the database refuses it. Superusers
            # created by `createsuperuser` have no role and no scope.
            models.CheckConstraint(
                condition=Q(role="")
                | Q(role__in=["command", "subdistrict", "community", "volunteer", "checkpoint"], region__isnull=False)
                | Q(role__in=["department", "supplier"], organisation__isnull=False)
                | Q(role="resident", household__isnull=False),
                name="user_role_has_scope",
            ),
        ]


class Session(AbstractBaseSession):
    """Django's database session, with the signed-in account's id in a column of its own.

    Django keeps the account id only inside the encoded session data, so a
    signed-in request read the session and then, in a second query, the
    account. With the id in a column both come in one query
    (`accounts/sessions.py`), a round trip less on every request of the 06:00
    rush. Deleting an account through the application deletes its sessions.

    The column copies what the session data says and has no foreign-key
    constraint in the database: a session saved for an account deleted a
    moment before must still save (and then signs nobody in) rather than
    fail its request at commit. The account is found by a LEFT JOIN, which
    finds nothing for such an id.
    """

    account = models.ForeignKey(
        User,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )

    @classmethod
    def get_session_store_class(cls) -> type[SessionBase]:
        from .sessions import SessionStore

        return SessionStore
