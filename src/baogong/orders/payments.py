"""Payment gateways behind one small interface.

The order services never talk to a payment provider directly: they hand a
`PaymentRequest` to whatever gateway `settings.BAOGONG_PAYMENT_GATEWAY` names
(a dotted path to a class with `charge` and `refund`) and record the
`PaymentResult` it returns. The default gateway only simulates an online
payment, which is what the exercise and demo set-ups need.

A real provider must not be called inside the order's database transaction
(a slow or hanging provider would hold the offer rows locked); wiring one in
means placing the order unpaid, charging after commit and recording the
result in a second transaction keyed by the order id. The simulated charge
is made before the order's writes are sent, so a duplicate request that the
key's unique index then refuses has "charged" too, with nothing recorded:
harmless for a simulation, and one more reason a real provider charges only
after the commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_GATEWAY = "baogong.orders.payments.SimulatedGateway"


@dataclass(frozen=True)
class PaymentRequest:
    order_id: int
    amount: Decimal
    method: str


@dataclass(frozen=True)
class PaymentResult:
    gateway: str
    reference: str
    amount: Decimal


class PaymentGateway(Protocol):
    name: str

    def charge(self, request: PaymentRequest) -> PaymentResult: ...

    def refund(self, request: PaymentRequest) -> PaymentResult: ...


class SimulatedGateway:
    """Records a payment as if a provider had accepted it; never fails."""

    name = "simulated"

    def charge(self, request: PaymentRequest) -> PaymentResult:
        return PaymentResult(gateway=self.name, reference=f"SIM-{uuid.uuid4().hex[:16]}", amount=request.amount)

    def refund(self, request: PaymentRequest) -> PaymentResult:
        return PaymentResult(gateway=self.name, reference=f"SIM-R-{uuid.uuid4().hex[:14]}", amount=request.amount)


def payment_gateway() -> PaymentGateway:
    """The configured gateway (read at call time, so tests can override the setting)."""
    path = getattr(settings, "BAOGONG_PAYMENT_GATEWAY", DEFAULT_GATEWAY)
    gateway: PaymentGateway = import_string(path)()
    return gateway
