"""API schemas of stock points, balances and the ledger."""

from datetime import date, datetime
from uuid import UUID

from ninja import Field, Schema

from baogong.core.schemas import PageParams

from .models import MovementKind, StockBalance, StockMovement, StockPoint, StockPointKind


class StockPointFilter(PageParams):
    pass


class StockPointOut(Schema):
    id: int
    code: str
    name: str
    kind: str = Field(..., description=", ".join(StockPointKind.values))
    region_id: int
    region_name: str
    organisation_id: int | None
    latitude: float | None
    longitude: float | None
    is_active: bool

    @staticmethod
    def resolve_region_name(obj: StockPoint) -> str:
        return obj.region.name


class StockPointPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[StockPointOut]


class StockBalanceOut(Schema):
    id: int
    commodity_id: int
    commodity_code: str
    commodity_name: str
    commodity_unit: str = Field(..., description="What one counted unit is, e.g. 'bag 10 kg'.")
    lot: str
    expires_on: date | None
    on_hand: int

    @staticmethod
    def resolve_commodity_code(obj: StockBalance) -> str:
        return obj.commodity.code

    @staticmethod
    def resolve_commodity_name(obj: StockBalance) -> str:
        return obj.commodity.name

    @staticmethod
    def resolve_commodity_unit(obj: StockBalance) -> str:
        return obj.commodity.unit


class StockMovementFilter(PageParams):
    pass


class StockMovementOut(Schema):
    id: int
    created_at: datetime
    commodity_id: int
    commodity_code: str
    lot: str
    expires_on: date | None
    kind: str = Field(..., description=", ".join(MovementKind.values))
    quantity: int = Field(..., description="Signed change to the lot's on-hand.")
    balance_after: int
    transfer_group: UUID | None
    counterparty_id: int | None
    actor_id: int | None
    reason: str
    reference: str

    @staticmethod
    def resolve_commodity_code(obj: StockMovement) -> str:
        return obj.commodity.code


class StockMovementPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[StockMovementOut]
