"""Region drill-down, zone status changes and household pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baogong.accounts.models import Role
from baogong.core.errors import NotFound, ValidationFailed
from baogong.core.pages import form_error_add, page_view
from baogong.core.scoping import Scope, scope_of
from baogong.enterprises.selectors import compound_pairing_get
from baogong.enterprises.services import PAIRING_ROLES

from . import services
from .forms import HouseholdSearchForm, ZoneStatusForm
from .models import Region, RegionLevel, ZoneStatusKind
from .selectors import (
    household_get,
    household_list,
    household_present,
    region_ancestors,
    region_children_summary,
    region_effective_zone_status,
    region_get,
    zone_status_can_set,
    zone_status_history,
)

PAGE_SIZE = 50
HISTORY_ROWS = 20
# Roles that keep a compound's roster and so get the template and import links.
ROSTER_ROLES = frozenset({Role.COMMAND, Role.SUBDISTRICT, Role.COMMUNITY})


def _is_partial(request: HttpRequest) -> bool:
    # A history restore after a cache miss asks for the whole page again.
    return "HX-Request" in request.headers and "HX-History-Restore-Request" not in request.headers


def _household_page(request: HttpRequest, scope: Scope, region: Region) -> dict[str, Any]:
    search = HouseholdSearchForm(request.GET)
    term = search.cleaned_data["q"] if search.is_valid() else ""
    households = household_list(scope=scope, region=region, search=term)
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    # List pages are always masked; unmasked data is only on a household's own page, audited.
    rows = [household_present(household=h, scope=scope, actor=None) for h in page.object_list]
    return {"page": page, "rows": rows, "q": term, "search": search, "hx_target": "#households"}


def _region_page(
    request: HttpRequest, scope: Scope, region: Region, *, form: ZoneStatusForm | None = None, status: int = 200
) -> HttpResponse:
    can_set = zone_status_can_set(scope=scope)
    if can_set and form is None:
        initial_status = ZoneStatusKind.SEALED if region.level == RegionLevel.COMPOUND else ZoneStatusKind.CONTROLLED
        form = ZoneStatusForm(initial={"status": initial_status})
    is_compound = region.level == RegionLevel.COMPOUND
    context: dict[str, Any] = {
        "region": region,
        "zone_status": region_effective_zone_status(region=region),
        "ancestors": region_ancestors(scope=scope, region=region),
        "children": region_children_summary(scope=scope, region=region),
        "history": list(zone_status_history(scope=scope, region=region)[:HISTORY_ROWS]),
        "form": form if can_set else None,
        "is_compound": is_compound,
        "shows_households": is_compound and scope.sees_households,
        "shows_roster": is_compound and scope.role in ROSTER_ROLES,
        "shows_pairing_edit": is_compound and scope.role in PAIRING_ROLES,
        "pairing": compound_pairing_get(compound=region) if is_compound else None,
    }
    if context["shows_households"]:
        context.update(_household_page(request, scope, region))
    return render(request, "regions/region_detail.html", context, status=status)


@require_GET
@page_view
def region_detail(request: HttpRequest, region_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    region = region_get(scope=scope, region_id=region_id)
    if _is_partial(request) and region.level == RegionLevel.COMPOUND and scope.sees_households:
        response = render(request, "regions/partials/household_list.html", _household_page(request, scope, region))
    else:
        response = _region_page(request, scope, region)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@page_view
def zone_status_set(request: HttpRequest, region_id: int) -> HttpResponse:
    scope = scope_of(request.user)
    if not zone_status_can_set(scope=scope):
        # Same answer as for a region outside the scope: the action does not exist for this role.
        raise NotFound()
    region = region_get(scope=scope, region_id=region_id)
    form = ZoneStatusForm(request.POST)
    if form.is_valid():
        try:
            services.zone_status_set(
                actor=request.user,  # type: ignore[arg-type]
                region=region,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                starts_at=form.cleaned_data["starts_at"],
                ends_at=form.cleaned_data["ends_at"],
            )
        except ValidationFailed as error:
            form_error_add(form, error)
        else:
            messages.success(request, _("Zone status changed."))
            return redirect("regions:region_detail", region_id=region.pk)
    return _region_page(request, scope, region, form=form, status=422)


@require_http_methods(["GET", "POST"])
@page_view
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    """Masked by default; a POST from a role that keeps the roster shows (and logs) phone and ID."""
    scope = scope_of(request.user)
    household = household_get(scope=scope, household_id=household_id)
    reveal = request.method == "POST" and scope.sees_personal_data
    view = household_present(
        household=household,
        scope=scope,
        actor=request.user,  # type: ignore[arg-type]
        unmasked=reveal,
        purpose="household_page",
    )
    context = {
        "household": view,
        "ancestors": region_ancestors(scope=scope, region=household.unit),
        "may_reveal": scope.sees_personal_data and view.masked,
    }
    response = render(request, "regions/household_detail.html", context)
    # Unmasked numbers must not linger in a shared phone's browser cache.
    add_never_cache_headers(response)
    return response
