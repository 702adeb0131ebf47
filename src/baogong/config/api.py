"""The JSON API: one NinjaAPI, one error body, a router per app.

Every failure (not signed in, out of scope, bad input, domain errors) answers
the `ErrorOut` body of `core.errors.ApplicationError`, so clients branch on one
`code` field whatever went wrong.
"""

from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import django_auth

from baogong.core.errors import ApplicationError, BadRequest, NotAuthenticated, ValidationFailed
from baogong.core.schemas import AUTH_ERRORS

if TYPE_CHECKING:
    from baogong.accounts.models import User

API_VERSION = "1"

api = NinjaAPI(
    title="baogong API",
    version=API_VERSION,
    description="Scoped reads of regions, households and stock. Every read is limited to the caller's scope; "
    "objects outside it answer 404. Sign in with a session (the web login); unauthenticated calls answer 401. "
    "Household bodies are masked except a household's own detail asked with `unmasked=true` by a role that may "
    "see personal data (each such view is logged). Lists take `limit` (1-200) and `offset`.",
    auth=django_auth,
    urls_namespace="api",
)


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return application_error(request, NotAuthenticated())


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    # ninja locates errors as ("query", "filters", "limit") or ("path", "region_id"):
    # the last string part is the parameter the caller sent.
    names = [str(part) for part in location if isinstance(part, str) and part not in {"query", "path", "body"}]
    return names[-1] if names else ""


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja raises HttpError itself, e.g. for a body that is not JSON: answer the one error body too.
    if exc.status_code == 400:
        return application_error(request, BadRequest(_("The request body is not valid JSON.")))
    return api.create_response(request, {"code": "http_error", "message": exc.message}, status=exc.status_code)


@api.exception_handler(NinjaValidationError)
def request_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [{"field": _field_of(error.get("loc", ())), "message": str(error.get("msg", ""))} for error in exc.errors]
    first_field = next((error["field"] for error in errors if error["field"]), None)
    return application_error(request, ValidationFailed(field=first_field, data={"errors": errors}))


class MeOut(Schema):
    id: int
    username: str
    role: str
    region_id: int | None
    organisation_id: int | None
    household_id: int | None
    api_version: str


@api.get("/me", response={200: MeOut, **AUTH_ERRORS}, tags=["accounts"], summary="The signed-in account")
def me(request: HttpRequest) -> MeOut:
    account = cast("User", request.user)
    return MeOut(
        id=account.pk,
        username=account.get_username(),
        role=account.role,
        region_id=account.region_id,
        organisation_id=account.organisation_id,
        household_id=account.household_id,
        api_version=API_VERSION,
    )


def _register_routers() -> None:
    from baogong.orders.api import offers_router, purchase_orders_router
    from baogong.orders.api import router as orders_router
    from baogong.regions.api import households_router
    from baogong.regions.api import router as regions_router
    from baogong.stock.api import router as stock_router

    api.add_router("/regions", regions_router)
    api.add_router("/households", households_router)
    api.add_router("/stock", stock_router)
    api.add_router("/offers", offers_router)
    api.add_router("/orders", orders_router)
    api.add_router("/purchase-orders", purchase_orders_router)


_register_routers()
