"""API schemas of offers, orders and purchase orders."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema

from baogong.core.schemas import PageParams

from .models import Channel, DeliveryMode, OrderStatus, PaymentMethod, PaymentStatus, PurchaseOrderStatus


class OffersParams(Schema):
    household_id: int | None = Field(
        None, ge=1, le=2**63 - 1, description="Community workers: the household to order for. Residents: omit."
    )
    # Bounded: before 1901 Asia/Shanghai has a local-mean-time offset (+08:05:43) that no RFC 3339
    # date-time can carry, so the window's times could not be written; no delivery day is that far off anyway.
    delivery_date: date | None = Field(
        None,
        ge=date(2000, 1, 1),
        le=date(2099, 12, 31),
        description="Default: the day whose ordering window is open now. From 2000-01-01 to 2099-12-31.",
    )


class OfferLineOut(Schema):
    id: int
    kind: str = Field(..., description="package or item")
    name: str
    kit_id: int | None
    commodity_id: int | None
    unit: str = Field(..., description="What one counted unit is.")
    weight_kg: Decimal | None
    price: Decimal
    available: int
    household_cap: int


class WindowOut(Schema):
    opens_at: datetime
    closes_at: datetime
    is_open: bool


class OffersOut(Schema):
    household_id: int
    supermarket_id: int
    supermarket_name: str
    delivery_date: date
    window: WindowOut
    delivery_mode: str = Field(..., description=", ".join(DeliveryMode.values))
    pickup_slot: str
    lines: list[OfferLineOut]


class OrderLineIn(Schema):
    # Plain ints: ranges are checked by the service, which names the line (`lines[2].quantity`).
    offer_line_id: int
    quantity: int


class OrderIn(Schema):
    household_id: int | None = Field(None, description="Community workers: the household. Residents: omit.")
    delivery_date: date
    lines: list[OrderLineIn]
    channel: str = Field(Channel.ONLINE.value, description=", ".join(Channel.values))
    payment_method: str = Field(PaymentMethod.ONLINE.value, description=", ".join(PaymentMethod.values))
    read_back_confirmed: bool = Field(False, description="Proxy orders: read back to the household and confirmed.")
    read_back_note: str = Field("", max_length=255)


class OrderLineOut(Schema):
    offer_line_id: int
    kind: str
    name: str
    quantity: int
    confirmed_quantity: int | None
    unit_price: Decimal
    amount: Decimal
    short_reason: str


class OrderOut(Schema):
    id: int
    household_id: int
    supermarket_id: int
    supermarket_name: str
    delivery_date: date
    status: str = Field(..., description=", ".join(OrderStatus.values))
    channel: str
    is_proxy: bool = Field(..., description="Placed by a community worker for the household.")
    placed_by_id: int
    read_back_confirmed: bool
    delivery_mode: str
    pickup_slot: str
    payment_method: str = Field(..., description=", ".join(PaymentMethod.values))
    payment_status: str = Field(..., description=", ".join(PaymentStatus.values))
    total: Decimal
    amount_due: Decimal
    is_partial: bool
    reason: str
    created_at: datetime
    lines: list[OrderLineOut]


class OrderFilter(PageParams):
    delivery_date: date | None = None
    status: str | None = Field(None, description=", ".join(OrderStatus.values))


class OrderSummaryOut(Schema):
    id: int
    household_id: int
    supermarket_id: int
    delivery_date: date
    status: str
    channel: str
    delivery_mode: str
    payment_status: str
    total: Decimal
    amount_due: Decimal
    created_at: datetime


class OrderPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[OrderSummaryOut]


class CancelIn(Schema):
    reason: str = Field(..., max_length=255)


class PurchaseOrderFilter(PageParams):
    delivery_date: date | None = None


class PurchaseOrderSummaryOut(Schema):
    id: int
    supermarket_id: int
    compound_id: int
    compound_name: str
    delivery_date: date
    status: str = Field(..., description=", ".join(PurchaseOrderStatus.values))
    order_count: int
    total: Decimal


class PurchaseOrderPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PurchaseOrderSummaryOut]


class PurchaseOrderLineOut(Schema):
    offer_line_id: int
    name: str
    quantity: int
    confirmed_quantity: int | None
    short_reason: str


class BuildingTotalOut(Schema):
    building_id: int
    building_name: str
    offer_line_id: int
    name: str
    quantity: int
    confirmed_quantity: int | None


class PurchaseOrderOut(PurchaseOrderSummaryOut):
    lines: list[PurchaseOrderLineOut]
    buildings: list[BuildingTotalOut]


class ShortageIn(Schema):
    offer_line_id: int
    confirmed_quantity: int = Field(..., description="What can be delivered (less than ordered).")
    reason: str = Field(..., max_length=255)


class ConfirmIn(Schema):
    shortages: list[ShortageIn] = Field(default_factory=list, description="Empty: confirm everything in full.")
