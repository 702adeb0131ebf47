"""Admin for accounts: the role and the scope that goes with it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm, UsernameField
from django.utils.translation import gettext_lazy as _

from baogong.core.admin import AuditedAdmin

from .models import ORGANISATION_SCOPED_ROLES, REGION_SCOPED_ROLES, Role, User

SCOPE_FIELDS = ("role", "region", "organisation", "household")


def _role_scope_validate(form: UserChangeForm[User] | AdminUserCreationForm, cleaned: dict[str, Any]) -> None:
    """The rule of the `user_role_has_scope` constraint, reported on the missing field."""
    role = cleaned.get("role")
    if role in REGION_SCOPED_ROLES and not cleaned.get("region"):
        form.add_error("region", _("This role needs a region."))
    elif role in ORGANISATION_SCOPED_ROLES and not cleaned.get("organisation"):
        form.add_error("organisation", _("This role needs an organisation."))
    elif role == Role.RESIDENT and not cleaned.get("household"):
        form.add_error("household", _("A resident account needs a household."))


class AccountChangeForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"username": UsernameField}

    def clean(self) -> dict[str, Any]:
        super().clean()
        _role_scope_validate(self, self.cleaned_data)
        return self.cleaned_data


class AccountCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("username", *SCOPE_FIELDS)
        field_classes = {"username": UsernameField}

    def clean(self) -> dict[str, Any]:
        super().clean()
        _role_scope_validate(self, self.cleaned_data)
        return self.cleaned_data


@admin.register(User)
class AccountAdmin(AuditedAdmin, UserAdmin):
    form = AccountChangeForm
    add_form = AccountCreationForm
    list_display = ("username", "role", "region", "organisation", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_superuser", "is_active")
    list_select_related = ("region", "organisation")
    search_fields = ("username", "first_name", "last_name")
    raw_id_fields = ("region", "household")
    autocomplete_fields = ("organisation",)
    fieldsets = (
        *UserAdmin.fieldsets,  # type: ignore[misc]
        (_("Scope"), {"fields": (*SCOPE_FIELDS, "phone")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Scope"), {"classes": ("wide",), "fields": SCOPE_FIELDS}),
    )
