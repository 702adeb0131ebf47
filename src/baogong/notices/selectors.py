"""Notices an account may read: residents their own household's, staff those of their region subtree."""

from __future__ import annotations

from django.db.models import QuerySet

from baogong.core.scoping import HOUSEHOLD_ROLES, Scope

from .models import Notification


def notification_list(*, scope: Scope) -> QuerySet[Notification]:
    if scope.household_id is not None:
        queryset = Notification.objects.filter(household_id=scope.household_id)
    elif scope.role in HOUSEHOLD_ROLES and scope.region_path is not None:
        queryset = Notification.objects.all()
        if scope.region_path:
            queryset = queryset.filter(compound__path__startswith=scope.region_path)
    else:
        return Notification.objects.none()
    return queryset.select_related("household__unit__parent", "compound").order_by("-created_at", "-id")
