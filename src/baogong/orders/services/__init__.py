"""Writes of the ordering system: offers, windows, orders, their status, payments, purchase orders.

One module per concept: `offers` (offer lines, order windows), `placing` (the
request of the 06:00 rush), `idempotency` and `order_write` (its key and its
transaction), `lifecycle` (the status machine, payments and refunds),
`consolidation` (purchase orders and their confirmation), `rules` (roles and
bounds shared by all). Callers import from this package, not the modules.
"""

from .consolidation import Shortage, purchase_order_confirm, purchase_orders_consolidate
from .gate import GateShortfall, OrderLineCut, orders_arrive_at_gate, orders_gate_verify
from .idempotency import PlacedOrder, request_fingerprint
from .lifecycle import (
    order_arrive_at_gate,
    order_cancel,
    order_deliver,
    order_fail,
    order_load,
    order_pick,
    order_verify,
)
from .offers import offer_line_publish, offer_line_withdraw, order_window_set
from .placing import LineRequest, order_place
from .rules import (
    AREA_ADMIN_ROLES,
    GATE_ROLES,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_HOUSEHOLD_CAP,
    MAX_LINE_QUANTITY,
    MAX_OFFER_QUANTITY,
    MAX_ORDER_LINES,
    MAX_PRICE,
    PROXY_ROLES,
    SUPPLIER_ROLES,
)

__all__ = [
    "AREA_ADMIN_ROLES",
    "GATE_ROLES",
    "IDEMPOTENCY_KEY_PATTERN",
    "MAX_HOUSEHOLD_CAP",
    "MAX_LINE_QUANTITY",
    "MAX_OFFER_QUANTITY",
    "MAX_ORDER_LINES",
    "MAX_PRICE",
    "PROXY_ROLES",
    "SUPPLIER_ROLES",
    "GateShortfall",
    "LineRequest",
    "OrderLineCut",
    "PlacedOrder",
    "Shortage",
    "offer_line_publish",
    "offer_line_withdraw",
    "order_arrive_at_gate",
    "order_cancel",
    "order_deliver",
    "order_fail",
    "order_load",
    "order_pick",
    "order_place",
    "order_verify",
    "order_window_set",
    "orders_arrive_at_gate",
    "orders_gate_verify",
    "purchase_order_confirm",
    "purchase_orders_consolidate",
    "request_fingerprint",
]
