"""Ordering over the API: offers, placing and cancelling orders, purchase orders for supermarkets.

Placing an order requires an `Idempotency-Key` header (one fresh value per
order, the same value on every retry of it): a retry answers the first
response, the same key with a different body 422. Keys are kept per account.
"""

from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Header, Path, Query, Router
from ninja.responses import Status

from baogong.core.errors import ValidationFailed
from baogong.core.schemas import LIST_ERRORS, MAX_ID, ErrorOut, paginated
from baogong.core.scoping import Scope, scope_of

from .models import PurchaseOrder
from .schemas import (
    CancelIn,
    ConfirmIn,
    OfferLineOut,
    OffersOut,
    OffersParams,
    OrderFilter,
    OrderIn,
    OrderOut,
    OrderPage,
    PurchaseOrderFilter,
    PurchaseOrderOut,
    PurchaseOrderPage,
    WindowOut,
)
from .selectors import (
    household_offers_get,
    order_detail,
    order_list,
    purchase_order_building_totals,
    purchase_order_get,
    purchase_order_lines,
    purchase_order_list,
)
from .services import LineRequest, Shortage, order_cancel, order_place, purchase_order_confirm

if TYPE_CHECKING:
    from baogong.accounts.models import User

router = Router(tags=["orders"])
offers_router = Router(tags=["orders"])
purchase_orders_router = Router(tags=["purchase orders"])

READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _account(request: HttpRequest) -> "User":
    # The API's session auth guarantees a signed-in account here.
    return cast("User", request.user)


def _household_id(scope: Scope, given: int | None) -> int:
    if given is not None:
        return given
    if scope.household_id is not None:
        return scope.household_id
    raise ValidationFailed(_("Choose the household to order for."), field="household_id")


@offers_router.get("", response={200: OffersOut, **READ_ERRORS}, summary="What my household's supermarket offers")
def offers_get(request: HttpRequest, params: Query[OffersParams]) -> OffersOut:
    scope = scope_of(request.user)
    offers = household_offers_get(
        scope=scope, household_id=_household_id(scope, params.household_id), delivery_date=params.delivery_date
    )
    return OffersOut(
        household_id=offers.household.pk,
        supermarket_id=offers.supermarket_id,
        supermarket_name=offers.supermarket_name,
        delivery_date=offers.window.delivery_date,
        window=WindowOut(opens_at=offers.window.opens_at, closes_at=offers.window.closes_at, is_open=offers.is_open),
        delivery_mode=offers.delivery_mode,
        pickup_slot=offers.pickup_slot,
        lines=[
            OfferLineOut(
                id=line.pk,
                kind=line.kind,
                name=line.goods_name,
                kit_id=line.kit_id,
                commodity_id=line.commodity_id,
                unit=line.commodity.unit if line.commodity else _("package"),
                weight_kg=line.weight_kg,
                price=line.price,
                available=line.available,
                household_cap=line.household_cap,
            )
            for line in offers.lines
        ],
    )


@router.post(
    "",
    response={201: OrderOut, **WRITE_ERRORS},
    summary="Place an order (resident for their household, community worker for a household in scope)",
)
def orders_place(
    request: HttpRequest,
    payload: OrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[dict[str, Any]] | HttpResponse:
    account = _account(request)
    scope = scope_of(account)
    placed = order_place(
        actor=account,
        household_id=_household_id(scope, payload.household_id),
        delivery_date=payload.delivery_date,
        lines=[LineRequest(offer_line_id=line.offer_line_id, quantity=line.quantity) for line in payload.lines],
        idempotency_key=idempotency_key or "",
        channel=payload.channel,
        payment_method=payload.payment_method,
        read_back_confirmed=payload.read_back_confirmed,
        read_back_note=payload.read_back_note,
    )
    if placed.body_json is not None:
        # The JSON text just stored with the key, byte for byte what `OrderOut` would render (the
        # tests compare both, and a replay's answer): validating and encoding the same body again
        # cost the 06:00 rush a twentieth of each order's CPU.
        return HttpResponse(placed.body_json, status=placed.status_code, content_type="application/json; charset=utf-8")
    return Status(placed.status_code, placed.body)


@router.get("", response={200: OrderPage, **LIST_ERRORS}, summary="Orders in scope, newest first")
def orders_list(request: HttpRequest, filters: Query[OrderFilter]) -> dict[str, Any]:
    queryset = order_list(scope=scope_of(request.user), delivery_date=filters.delivery_date, status=filters.status)
    return paginated(queryset, filters)


@router.get("/{order_id}", response={200: OrderOut, **READ_ERRORS}, summary="One order with its lines")
def orders_get(request: HttpRequest, order_id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return order_detail(scope=scope_of(request.user), order_id=order_id)


@router.post(
    "/{order_id}/cancel", response={200: OrderOut, **WRITE_ERRORS}, summary="Cancel a placed order before cut-off"
)
def orders_cancel(
    request: HttpRequest, payload: CancelIn, order_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    account = _account(request)
    order_cancel(actor=account, order_id=order_id, reason=payload.reason)
    return order_detail(scope=scope_of(account), order_id=order_id)


def _purchase_order_out(purchase_order: PurchaseOrder, *, detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": purchase_order.pk,
        "supermarket_id": purchase_order.supermarket_id,
        "compound_id": purchase_order.compound_id,
        "compound_name": purchase_order.compound.name,
        "delivery_date": purchase_order.delivery_date,
        "status": purchase_order.status,
        "order_count": purchase_order.order_count,
        "total": purchase_order.total,
    }
    if detail:
        body["lines"] = [
            {
                "offer_line_id": line.offer_line_id,
                "name": line.offer_line.goods_name,
                "quantity": line.quantity,
                "confirmed_quantity": line.confirmed_quantity,
                "short_reason": line.short_reason,
            }
            for line in purchase_order_lines(purchase_order=purchase_order)
        ]
        body["buildings"] = [
            {
                "building_id": row.building_id,
                "building_name": row.building_name,
                "offer_line_id": row.offer_line_id,
                "name": row.goods_name,
                "quantity": row.quantity,
                "confirmed_quantity": row.confirmed_quantity,
            }
            for row in purchase_order_building_totals(purchase_order=purchase_order)
        ]
    return body


@purchase_orders_router.get(
    "", response={200: PurchaseOrderPage, **LIST_ERRORS}, summary="Purchase orders in scope (suppliers: their own)"
)
def purchase_orders_list(request: HttpRequest, filters: Query[PurchaseOrderFilter]) -> dict[str, Any]:
    queryset = purchase_order_list(scope=scope_of(request.user), delivery_date=filters.delivery_date)
    return paginated(queryset, filters, present=lambda row: _purchase_order_out(row, detail=False))


@purchase_orders_router.get(
    "/{purchase_order_id}",
    response={200: PurchaseOrderOut, **READ_ERRORS},
    summary="One purchase order: totals per item and per building",
)
def purchase_orders_get(request: HttpRequest, purchase_order_id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    purchase_order = purchase_order_get(scope=scope_of(request.user), purchase_order_id=purchase_order_id)
    return _purchase_order_out(purchase_order, detail=True)


@purchase_orders_router.post(
    "/{purchase_order_id}/confirm",
    response={200: PurchaseOrderOut, **WRITE_ERRORS},
    summary="Confirm a purchase order, in full or with shortages per line (passed on to the orders)",
)
def purchase_orders_confirm(
    request: HttpRequest, payload: ConfirmIn, purchase_order_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    account = _account(request)
    purchase_order = purchase_order_confirm(
        actor=account,
        purchase_order_id=purchase_order_id,
        shortages=[
            Shortage(offer_line_id=s.offer_line_id, confirmed_quantity=s.confirmed_quantity, reason=s.reason)
            for s in payload.shortages
        ],
    )
    return _purchase_order_out(purchase_order, detail=True)
