"""The courier's phone page and its sync endpoint, the resident's pickup code, the pickup desk.

The sync endpoint is a plain JSON view protected by Django's CSRF check (the
page sends the token in the X-CSRFToken header); one batch answers 200 with one
result per action, each with its own status (201 recorded, 200 already
recorded, 404, 409 conflict, 422), so a phone can drop every answered action
from its queue and keep only those whose request never came back.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import TYPE_CHECKING, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baogong.accounts.models import Role
from baogong.core.errors import ApplicationError, NotAuthenticated, NotFound, ValidationFailed
from baogong.core.pages import page_view
from baogong.core.scoping import scope_of
from baogong.delivery.qr import qr_svg_data_uri
from baogong.orders.services.rules import GATE_ROLES
from baogong.regions.models import Household

from . import selectors, services
from .pickup import pickup_payload_sign, pickup_typed_code

if TYPE_CHECKING:
    from baogong.accounts.models import User

MAX_SYNC_BYTES = 256 * 1024


def _actor(request: HttpRequest) -> User:
    return cast("User", request.user)


def _day(request: HttpRequest) -> date:
    value = request.GET.get("day") or request.POST.get("day") or ""
    if not value:
        return timezone.localdate()
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ValidationFailed(_("Enter the day as YYYY-MM-DD."), field="day") from error


def _gate_scope(request: HttpRequest) -> None:
    if scope_of(request.user).role not in GATE_ROLES:
        # Pages of other roles are not revealed.
        raise NotFound()


@require_GET
@page_view
def courier(request: HttpRequest) -> HttpResponse:
    _gate_scope(request)
    day = _day(request)
    rosters = selectors.courier_rosters(scope=scope_of(request.user), actor=_actor(request), delivery_date=day)
    return render(
        request,
        "lastmile/courier.html",
        {"rosters": rosters, "day": day, "sync_url": reverse("lastmile:courier_sync"), "user_id": request.user.pk},
    )


@require_POST
def courier_sync(request: HttpRequest) -> HttpResponse:
    """Apply a batch of queued actions: {"actions": [...]} → {"results": [...]}."""
    try:
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        _gate_scope(request)
        if len(request.body) > MAX_SYNC_BYTES:
            raise ValidationFailed(_("Send fewer actions at a time."), field="actions")
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as error:
            raise ValidationFailed(_("The body must be JSON."), field="actions") from error
        actions = body.get("actions") if isinstance(body, dict) else None
        results = services.courier_actions_sync(actor=_actor(request), actions=actions)
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=error.status)
    return JsonResponse({"results": [result.as_dict() for result in results]})


@require_GET
@page_view
def pickup_code(request: HttpRequest) -> HttpResponse:
    """A resident's pickup slot(s) and code, as a QR and as 8 digits to read out."""
    scope = scope_of(request.user)
    if scope.role != Role.RESIDENT or scope.household_id is None:
        raise NotFound()
    household = Household.objects.get(pk=scope.household_id)
    days = []
    for day, orders in selectors.resident_pickup_days(scope=scope, today=timezone.localdate()):
        payload = pickup_payload_sign(household_id=household.pk, delivery_date=day)
        typed = pickup_typed_code(household_id=household.pk, delivery_date=day)
        days.append(
            {
                "day": day,
                "slot": selectors.pickup_slot_of(
                    household_id=household.pk, compound_id=household.compound_id, delivery_date=day
                ),
                "place": orders[0].pickup_slot,
                "packages": selectors.pickup_packages(orders=orders),
                "qr": qr_svg_data_uri(payload=payload, scale=5),
                "typed": f"{typed[:4]} {typed[4:]}",
            }
        )
    return render(request, "lastmile/pickup_code.html", {"days": days})


def _desk_context(request: HttpRequest, day: date) -> dict[str, object]:
    return {"day": day, "compound_id": _actor(request).region_id}


@require_http_methods(["GET", "POST"])
@page_view
def pickup_desk(request: HttpRequest) -> HttpResponse:
    """Scan or type a pickup code; see the household's packages and hand them over."""
    _gate_scope(request)
    day = _day(request)
    context = _desk_context(request, day)
    if request.method == "POST":
        code = request.POST.get("code", "")
        try:
            claim = services.pickup_code_resolve(actor=_actor(request), code=code, delivery_date=day)
        except services.PickupCodeInvalid as error:
            context["rejected"] = {"reason": error.data.get("reason", ""), "message": str(error.message)}
            return render(request, "lastmile/pickup_desk.html", context, status=422)
        scope = scope_of(request.user)
        orders = selectors.pickup_orders(scope=scope, household_id=claim.household_id, delivery_date=day)
        household = Household.objects.select_related("unit__parent").get(pk=claim.household_id)
        packages = selectors.pickup_packages(orders=orders)
        context.update(
            {
                "household": household,
                "building": household.unit.parent.name if household.unit.parent else "",
                "packages": packages,
                "payment_due": any(p.payment_due and not p.is_final for p in packages),
                "all_final": all(p.is_final for p in packages),
                "action_id": uuid.uuid4(),
            }
        )
    return render(request, "lastmile/pickup_desk.html", context)


@require_POST
@page_view
def pickup_handover(request: HttpRequest) -> HttpResponse:
    _gate_scope(request)
    day = _day(request)
    try:
        household_id = int(request.POST.get("household", ""))
        action_id = uuid.UUID(request.POST.get("action_id", ""))
    except ValueError as error:
        raise ValidationFailed(_("The form is incomplete; scan the code again."), field="code") from error
    try:
        events = services.pickup_handover(
            actor=_actor(request),
            household_id=household_id,
            delivery_date=day,
            action_id=action_id,
            paid_by=request.POST.get("paid_by", ""),
        )
    except services.DeliveryConflict as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Handed over: %(count)s package(s).") % {"count": len(events)})
    return redirect(f"{reverse('lastmile:pickup_desk')}?day={day.isoformat()}")


@require_POST
@page_view
def pickup_ready(request: HttpRequest) -> HttpResponse:
    """Tell the compound's pickup households that their goods are ready (once each)."""
    _gate_scope(request)
    day = _day(request)
    compound_id = _actor(request).region_id
    if compound_id is None:
        raise NotFound()
    sent = services.pickup_ready_notify(actor=_actor(request), compound_id=compound_id, delivery_date=day)
    messages.success(request, _("Notices sent: %(count)s.") % {"count": sent})
    return redirect(f"{reverse('lastmile:pickup_desk')}?day={day.isoformat()}")
