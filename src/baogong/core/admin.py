"""Admin building blocks, and the audit trail shown read-only.

The admin is for master data. It must not become a way around the services:
ledger and audit rows are read-only here (the database refuses changes
anyway, but the admin should not even offer them), and every change the admin
does make writes an audit row like a service would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import AuditLog, PersonalDataAccess
from .services import audit_record

if TYPE_CHECKING:
    from baogong.accounts.models import User


def admin_actor(request: HttpRequest) -> User:
    # Only signed-in staff reach an admin view.
    return cast("User", request.user)


def _audit(request: HttpRequest, *, verb: str, obj: Model, target_id: object, fields: list[str]) -> None:
    # Field names only, never values: the audit log must not copy personal data.
    audit_record(
        actor=admin_actor(request),
        action=f"admin.{verb}",
        target_type=obj._meta.model_name or "",
        target_id=target_id,
        payload={"fields": sorted(fields)},
    )


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes (inlines included) write audit rows."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            _audit(request, verb="change" if change else "add", obj=obj, target_id=obj.pk, fields=form.changed_data)

    def save_formset(
        self, request: HttpRequest, form: ModelForm[Any], formset: BaseInlineFormSet[Any, Any, Any], change: bool
    ) -> None:
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            for obj in formset.new_objects:
                _audit(request, verb="add", obj=obj, target_id=obj.pk, fields=[])
            for obj, fields in formset.changed_objects:
                _audit(request, verb="change", obj=obj, target_id=obj.pk, fields=list(fields))
            for obj in formset.deleted_objects:
                _audit(request, verb="delete", obj=obj, target_id=obj.pk, fields=[])

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        target_id = obj.pk
        with transaction.atomic():
            super().delete_model(request, obj)
            _audit(request, verb="delete", obj=obj, target_id=target_id, fields=[])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The bulk "delete selected" action is not wrapped in a transaction by the admin.
        with transaction.atomic():
            doomed = list(queryset)
            super().delete_queryset(request, queryset)
            for obj in doomed:
                _audit(request, verb="delete", obj=obj, target_id=obj.pk, fields=[])


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse-only: rows of this model change only through services (or never)."""

    # Counting a ledger or log of millions of rows on every page is what makes admins slow.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    # No list filters or date hierarchy: each one is a DISTINCT scan of a table
    # that grows by a row per change. Searches use indexed equality instead.
    list_display = ("created_at", "action", "target_type", "target_id", "actor", "request_id")
    search_fields = ("=target_id", "=request_id", "action")
    list_select_related = ("actor",)
    ordering = ("-created_at", "-id")


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "subject_type", "subject_id", "fields_seen", "purpose", "request_id")
    search_fields = ("=subject_id", "=request_id", "actor__username")
    list_select_related = ("actor",)
    ordering = ("-created_at", "-id")

    @admin.display(description=_("fields"))
    def fields_seen(self, obj: PersonalDataAccess) -> str:
        return ", ".join(obj.fields)
