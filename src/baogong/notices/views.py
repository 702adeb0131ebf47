"""The notices page: every message sent, as the resident received it (demo and "was I told?")."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from baogong.core.errors import NotFound
from baogong.core.pages import page_view
from baogong.core.scoping import scope_of

from .selectors import notification_list

PAGE_SIZE = 50


@require_GET
@page_view
def notice_list(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    if not scope.sees_households:
        raise NotFound()
    page = Paginator(notification_list(scope=scope), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notices/notice_list.html", {"page": page, "is_resident": scope.household_id is not None})
