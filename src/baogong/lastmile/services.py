"""Recording what happened at the door and at the pickup desk.

Couriers' phones queue actions while offline and send them in batches, in any
order, possibly more than once. Each action carries a client-generated UUID:

1. The first request with an action id claims it (insert into
   `CourierAction`, primary key = the id) in the transaction that applies it,
   and stores its answer; every later request with that id gets the stored
   answer and changes nothing. A concurrent duplicate waits on the key and
   then reads the answer.
2. Applying an action locks the order row, then compares with the outcome
   that stands: delivered, refused and handed over are final; "not reached"
   may be followed by delivered or refused, never the other way round (a late
   "not reached" is acknowledged and ignored). The same final outcome from the
   same courier is acknowledged again; any other final outcome after a final
   one is a conflict (409) and changes nothing.
3. Delivered and refused move the order through the orders lifecycle in the
   same transaction; every event is audited; notices go out after commit.
The database backs this up with one event per package and outcome and one
final outcome per package (unique constraints).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from baogong.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from baogong.core.scoping import scope_of
from baogong.core.services import audit_record
from baogong.notices.models import NoticeKind
from baogong.notices.services import notice_send
from baogong.orders.models import DeliveryMode, Order, OrderStatus, PaymentMethod
from baogong.orders.selectors import order_get, order_list, order_window_get
from baogong.orders.services import order_deliver, order_fail
from baogong.orders.services.rules import GATE_ROLES
from baogong.regions.models import Household

from .models import COURIER_OUTCOMES, FINAL_OUTCOMES, CourierAction, DeliveryEvent, Outcome
from .pickup import (
    PickupClaim,
    PickupCodeRejected,
    pickup_payload_read,
    pickup_typed_code_match,
    pickup_typed_normalise,
)
from .selectors import courier_household_ids, pickup_orders, pickup_slot_of

if TYPE_CHECKING:
    from baogong.accounts.models import User

MAX_BATCH = 200
# A phone's clock may run a little fast; a time further ahead is not believed.
CLOCK_SKEW = timedelta(minutes=5)

NOTICE_DELIVERED = gettext_lazy(
    "%(status)s: your order %(order)s was placed at your door at %(time)s. Please take it in soon."
)
NOTICE_NOT_REACHED = gettext_lazy(
    "%(mode)s: we could not hand over your order %(order)s at %(time)s. A volunteer will come again later today."
)
NOTICE_PICKUP_READY = gettext_lazy(
    "%(mode)s: your order %(order)s is ready. Collect it at the distribution point between %(starts)s and "
    "%(ends)s and show your pickup code."
)


NOTICE_PICKUP_READY_BY_GROUP = gettext_lazy(
    "%(mode)s: your order %(order)s is ready. Collect it at the distribution point when %(group)s is called "
    "and show your pickup code."
)


class DeliveryConflict(Conflict):
    """Another outcome already stands for the package (another courier's, or a different final one)."""

    code = "delivery_conflict"
    default_message = gettext_lazy("This package already has a different outcome.")


@dataclass(frozen=True)
class ActionResult:
    action_id: str
    status: int
    code: str
    message: str
    order_id: int | None = None
    outcome: str = ""
    event_id: int | None = None
    applied: bool = False
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CourierActionIn:
    action_id: uuid.UUID
    order_id: int
    outcome: str
    client_at: datetime
    paid_by: str
    reason: str

    @property
    def fingerprint(self) -> str:
        body = [str(self.action_id), self.order_id, self.outcome, self.client_at.isoformat(), self.paid_by, self.reason]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def courier_action_parse(raw: Any) -> CourierActionIn:
    """Check one queued action as the phone sent it; ValidationFailed names the field."""
    if not isinstance(raw, dict):
        raise ValidationFailed(_("Each action must be an object."), field="actions")
    try:
        action_id = uuid.UUID(str(raw.get("action_id", "")))
    except ValueError as error:
        raise ValidationFailed(_("The action id must be a UUID."), field="action_id") from error
    order_id = raw.get("order_id")
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id < 1:
        raise ValidationFailed(_("Name the package by its order number."), field="order_id")
    outcome = raw.get("outcome")
    if outcome not in COURIER_OUTCOMES:
        raise ValidationFailed(_("Unknown outcome."), field="outcome")
    client_at = parse_datetime(str(raw.get("client_at", "")))
    if client_at is None or client_at.tzinfo is None:
        raise ValidationFailed(_("The time of the action must be an ISO time with its offset."), field="client_at")
    paid_by = str(raw.get("paid_by") or "")
    if paid_by not in ("", PaymentMethod.CASH, PaymentMethod.SCAN):
        raise ValidationFailed(_("Paid by cash or scan only."), field="paid_by")
    reason = str(raw.get("reason") or "").strip()[:255]
    return CourierActionIn(
        action_id=action_id,
        order_id=order_id,
        outcome=str(outcome),
        client_at=client_at,
        paid_by=paid_by,
        reason=reason,
    )


def _error_result(action_id: str, error: ApplicationError, order_id: int | None = None) -> ActionResult:
    state = error.data.get("outcome", "") if error.data else ""
    return ActionResult(
        action_id=action_id,
        status=error.status,
        code=error.code,
        message=str(error.message),
        order_id=order_id,
        outcome=str(state),
    )


def _replay(*, actor: User, action: CourierActionIn, stored: CourierAction) -> ActionResult:
    if stored.courier_id != actor.pk or stored.fingerprint != action.fingerprint:
        raise ValidationFailed(
            _("This action id was already used for a different action."),
            field="action_id",
        )
    return ActionResult(**{**stored.result, "replayed": True})


def courier_actions_sync(*, actor: User, actions: object, now: datetime | None = None) -> list[ActionResult]:
    """Apply a batch of queued actions one by one (each in its own transaction); one result per action."""
    if not isinstance(actions, list | tuple):
        raise ValidationFailed(_("Send a list of actions."), field="actions")
    if len(actions) > MAX_BATCH:
        raise ValidationFailed(_("Send at most %(count)s actions at a time.") % {"count": MAX_BATCH}, field="actions")
    results = []
    for raw in actions:
        try:
            action = courier_action_parse(raw)
        except ValidationFailed as error:
            raw_id = str(raw.get("action_id", "")) if isinstance(raw, dict) else ""
            results.append(_error_result(raw_id[:64], error))
            continue
        try:
            results.append(courier_action_apply(actor=actor, action=action, now=now))
        except ApplicationError as error:
            results.append(_error_result(str(action.action_id), error, action.order_id))
    return results


def courier_action_apply(*, actor: User, action: CourierActionIn, now: datetime | None = None) -> ActionResult:
    """Apply one action exactly once; see the module docstring."""
    stored = CourierAction.objects.filter(pk=action.action_id).first()
    if stored is not None:
        return _replay(actor=actor, action=action, stored=stored)
    try:
        with transaction.atomic():
            claim = CourierAction.objects.create(
                action_id=action.action_id,
                courier=actor,
                fingerprint=action.fingerprint,
                subject_id=action.order_id,
                outcome=action.outcome,
                client_at=action.client_at,
                status_code=0,
            )
            try:
                with transaction.atomic():
                    result = _courier_outcome_record(actor=actor, action=action, now=now or timezone.now())
            except ApplicationError as error:
                result = _error_result(str(action.action_id), error, action.order_id)
            claim.status_code = result.status
            claim.result = result.as_dict()
            claim.save(update_fields=["status_code", "result"])
            return result
    except IntegrityError:
        # Another request claimed this id between our read and our insert; answer what it answered.
        stored = CourierAction.objects.filter(pk=action.action_id).first()
        if stored is None:
            raise
        return _replay(actor=actor, action=action, stored=stored)


def _locked_order(*, actor: User, order_id: int) -> Order:
    # Lock first, then check scope: two couriers on the same package queue here (PostgreSQL;
    # SQLite writers are serialised by taking the write lock when the transaction starts).
    if not list(Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True)):
        raise NotFound()
    return order_get(scope=scope_of(actor), order_id=order_id)


def _standing(order: Order) -> tuple[DeliveryEvent | None, DeliveryEvent | None]:
    events = list(DeliveryEvent.objects.filter(order=order))
    final = next((e for e in events if e.outcome in FINAL_OUTCOMES), None)
    not_reached = next((e for e in events if e.outcome == Outcome.NOT_REACHED), None)
    return final, not_reached


def _acknowledge(action_id: str, event: DeliveryEvent, message: str) -> ActionResult:
    return ActionResult(
        action_id=action_id,
        status=200,
        code="already_recorded",
        message=message,
        order_id=event.order_id,
        outcome=event.outcome,
        event_id=event.pk,
    )


def _happened_at(*, client_at: datetime, now: datetime, not_before: datetime) -> datetime:
    """The phone's time when believable (after cut-off, not ahead of the server), else the server's."""
    return client_at if not_before <= client_at <= now + CLOCK_SKEW else now


def _event_create(
    *,
    actor: User,
    order: Order,
    outcome: str,
    action_id: uuid.UUID,
    client_at: datetime,
    now: datetime,
) -> DeliveryEvent:
    cutoff = order_window_get(compound=order.compound, delivery_date=order.delivery_date).closes_at
    happened = _happened_at(client_at=client_at, now=now, not_before=cutoff)
    delivered = outcome in (Outcome.DELIVERED, Outcome.HANDED_OVER)
    event = DeliveryEvent.objects.create(
        order=order,
        household_id=order.household_id,
        compound_id=order.compound_id,
        delivery_date=order.delivery_date,
        outcome=outcome,
        courier=actor,
        action_id=action_id,
        happened_at=happened,
        recorded_at=now,
        seconds_from_cutoff=max(0, int((happened - cutoff).total_seconds())) if delivered else None,
    )
    audit_record(
        actor=actor,
        action=f"lastmile.{outcome}",
        target_type="order",
        target_id=order.pk,
        payload={"event": event.pk, "action_id": str(action_id), "seconds_from_cutoff": event.seconds_from_cutoff},
    )
    return event


def _local_time(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


def _courier_outcome_record(*, actor: User, action: CourierActionIn, now: datetime) -> ActionResult:
    order = _locked_order(actor=actor, order_id=action.order_id)
    if order.household_id not in courier_household_ids(actor=actor, delivery_date=order.delivery_date):
        # Not on a roster of this courier: as good as not there.
        raise NotFound()
    if order.delivery_mode != DeliveryMode.DOOR:
        raise Conflict(_("This package is collected at the pickup point."), field="order_id")
    final, not_reached = _standing(order)
    action_id = str(action.action_id)
    if action.outcome == Outcome.NOT_REACHED:
        if final is not None:
            # Out of order: the package is already settled, and nothing moves backward.
            return _acknowledge(action_id, final, _("The package already has its final outcome."))
        if not_reached is not None:
            return _acknowledge(action_id, not_reached, _("Already recorded as not reached."))
        event = _event_create(
            actor=actor,
            order=order,
            outcome=Outcome.NOT_REACHED,
            action_id=action.action_id,
            client_at=action.client_at,
            now=now,
        )
        household = Household.objects.get(pk=order.household_id)
        notice_send(
            household=household,
            kind=NoticeKind.NOT_REACHED,
            dedup_key=f"not_reached:{order.pk}",
            template=NOTICE_NOT_REACHED,
            params={"mode": DeliveryMode.DOOR.label, "order": f"#{order.pk}", "time": _local_time(event.happened_at)},
            order_id=order.pk,
        )
        return ActionResult(
            action_id=action_id,
            status=201,
            code="recorded",
            message=_("Recorded: not reached."),
            order_id=order.pk,
            outcome=event.outcome,
            event_id=event.pk,
            applied=True,
        )
    if final is not None:
        if final.outcome == action.outcome and final.courier_id == actor.pk:
            return _acknowledge(action_id, final, _("Already recorded."))
        raise DeliveryConflict(
            _("Package %(order)s is already %(outcome)s (%(who)s); nothing was changed.")
            % {
                "order": order.pk,
                "outcome": Outcome(final.outcome).label,
                "who": _("by you") if final.courier_id == actor.pk else _("by another courier"),
            },
            field="order_id",
            data={"outcome": final.outcome},
        )
    if action.outcome == Outcome.DELIVERED:
        order_deliver(actor=actor, order_id=order.pk, paid_by=action.paid_by)
    else:
        order_fail(actor=actor, order_id=order.pk, reason=action.reason or _("Refused at the door."))
    event = _event_create(
        actor=actor,
        order=order,
        outcome=action.outcome,
        action_id=action.action_id,
        client_at=action.client_at,
        now=now,
    )
    if action.outcome == Outcome.DELIVERED:
        notice_send(
            household=Household.objects.get(pk=order.household_id),
            kind=NoticeKind.DELIVERED,
            dedup_key=f"delivered:{order.pk}",
            template=NOTICE_DELIVERED,
            params={
                "status": OrderStatus.DELIVERED.label,
                "order": f"#{order.pk}",
                "time": _local_time(event.happened_at),
            },
            order_id=order.pk,
        )
    return ActionResult(
        action_id=action_id,
        status=201,
        code="recorded",
        message=str(Outcome(event.outcome).label),
        order_id=order.pk,
        outcome=event.outcome,
        event_id=event.pk,
        applied=True,
    )


# --- pickup ---------------------------------------------------------------------------------------


class PickupCodeInvalid(ValidationFailed):
    code = "pickup_code_invalid"
    default_message = gettext_lazy("This pickup code is not valid.")


PICKUP_REASONS = {
    "forged": gettext_lazy("The code is forged or altered."),
    "expired": gettext_lazy("The code has expired."),
    "other_day": gettext_lazy("The code is for another day."),
    "unknown": gettext_lazy("No household here has this code today."),
    "not_here": gettext_lazy("The code is not for this distribution point."),
}


def _pickup_rejected(reason: str) -> PickupCodeInvalid:
    return PickupCodeInvalid(PICKUP_REASONS[reason], field="code", data={"reason": reason})


def pickup_code_resolve(*, actor: User, code: str, delivery_date: date) -> PickupClaim:
    """The household a scanned or typed code names for `delivery_date`, at a point the actor serves.

    Raises PickupCodeInvalid with `data["reason"]` one of PICKUP_REASONS.
    """
    scope = scope_of(actor)
    if scope.role not in GATE_ROLES:
        raise PermissionDenied()
    typed = pickup_typed_normalise(code)
    if typed is not None:
        # Only households with a pickup order of the day in the actor's scope are candidates.
        candidates = (
            order_list(scope=scope, delivery_date=delivery_date)
            .filter(delivery_mode=DeliveryMode.PICKUP)
            .values_list("household_id", flat=True)
            .distinct()
        )
        for household_id in sorted(set(candidates)):
            if pickup_typed_code_match(typed=typed, household_id=household_id, delivery_date=delivery_date):
                return PickupClaim(household_id=household_id, delivery_date=delivery_date)
        raise _pickup_rejected("unknown")
    try:
        claim = pickup_payload_read(payload=code)
    except PickupCodeRejected as rejected:
        raise _pickup_rejected(rejected.reason) from rejected
    if claim.delivery_date < delivery_date:
        raise _pickup_rejected("expired")
    if claim.delivery_date > delivery_date:
        raise _pickup_rejected("other_day")
    if not pickup_orders(scope=scope, household_id=claim.household_id, delivery_date=delivery_date):
        raise _pickup_rejected("not_here")
    return claim


@transaction.atomic
def pickup_handover(
    *,
    actor: User,
    household_id: int,
    delivery_date: date,
    action_id: uuid.UUID,
    paid_by: str = "",
    now: datetime | None = None,
) -> list[DeliveryEvent]:
    """Hand a household's pickup packages over: one event per package, orders delivered.

    The form carries an action id made when it was shown, so pressing the button
    twice (or a resubmitted form) hands over once; a second volunteer handing over
    the same packages gets a conflict.
    """
    moment = now or timezone.now()
    scope = scope_of(actor)
    if scope.role not in GATE_ROLES:
        raise PermissionDenied()
    fingerprint = hashlib.sha256(json.dumps(["pickup", household_id, delivery_date.isoformat()]).encode()).hexdigest()
    stored = CourierAction.objects.filter(pk=action_id).first()
    if stored is not None:
        if stored.courier_id != actor.pk or stored.fingerprint != fingerprint:
            raise ValidationFailed(_("This action id was already used for a different action."), field="action_id")
        return list(DeliveryEvent.objects.filter(pk__in=stored.result.get("event_ids", [])).order_by("pk"))
    orders = pickup_orders(scope=scope, household_id=household_id, delivery_date=delivery_date)
    if not orders:
        raise NotFound()
    for order in sorted(orders, key=lambda o: o.pk):
        _locked_order(actor=actor, order_id=order.pk)
    settled = DeliveryEvent.objects.filter(order__in=orders, outcome__in=FINAL_OUTCOMES).order_by("pk").first()
    if settled is not None:
        raise DeliveryConflict(
            _("Already handed over at %(time)s; nothing was changed.") % {"time": _local_time(settled.happened_at)},
            field="code",
            data={"outcome": Outcome.HANDED_OVER},
        )
    events = []
    for order in orders:
        if order.status != OrderStatus.VERIFIED:
            raise Conflict(
                _("Package %(order)s has not been checked at the gate yet.") % {"order": order.pk}, field="code"
            )
        order_deliver(actor=actor, order_id=order.pk, paid_by=paid_by)
        events.append(
            _event_create(
                actor=actor,
                order=order,
                outcome=Outcome.HANDED_OVER,
                action_id=uuid.uuid5(action_id, str(order.pk)),
                client_at=moment,
                now=moment,
            )
        )
    CourierAction.objects.create(
        action_id=action_id,
        courier=actor,
        fingerprint=fingerprint,
        subject_id=household_id,
        outcome=Outcome.HANDED_OVER,
        client_at=moment,
        status_code=201,
        result={"event_ids": [e.pk for e in events]},
    )
    return events


@transaction.atomic
def pickup_ready_notify(*, actor: User, compound_id: int, delivery_date: date) -> int:
    """Tell each household with a pickup order checked at the gate that it is ready, with its slot.

    Returns how many notices were sent now (households told before are not told again).
    """
    scope = scope_of(actor)
    if scope.role not in GATE_ROLES:
        raise PermissionDenied()
    orders = list(
        order_list(scope=scope, delivery_date=delivery_date)
        .filter(compound_id=compound_id, delivery_mode=DeliveryMode.PICKUP, status=OrderStatus.VERIFIED)
        .order_by("pk")
    )
    households = {h.pk: h for h in Household.objects.filter(pk__in={o.household_id for o in orders})}
    sent = 0
    for order in orders:
        slot = pickup_slot_of(household_id=order.household_id, compound_id=compound_id, delivery_date=delivery_date)
        params: dict[str, Any] = {"mode": DeliveryMode.PICKUP.label, "order": f"#{order.pk}"}
        if slot is not None:
            params.update(starts=f"{slot.starts:%H:%M}", ends=f"{slot.ends:%H:%M}")
        else:
            # The day was not planned into slots: the order's own pickup group (building and unit) stands.
            params.update(group=order.pickup_slot)
        notification = notice_send(
            household=households[order.household_id],
            kind=NoticeKind.PICKUP_READY,
            dedup_key=f"pickup_ready:{order.pk}",
            template=NOTICE_PICKUP_READY if slot is not None else NOTICE_PICKUP_READY_BY_GROUP,
            params=params,
            order_id=order.pk,
        )
        sent += notification is not None
    if sent:
        audit_record(
            actor=actor,
            action="lastmile.pickup_ready",
            target_type="region",
            target_id=compound_id,
            payload={"delivery_date": delivery_date.isoformat(), "notices": sent},
        )
    return sent
