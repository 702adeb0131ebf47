"""The JSON API: one NinjaAPI, one error handler, a router per app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from baogong.core.errors import ApplicationError

api = NinjaAPI(
    title="baogong API",
    version="1",
    description="Scoped reads of regions, households and stock. Every read is limited to the caller's scope; "
    "objects outside it answer 404.",
    auth=django_auth,
    urls_namespace="api",
)


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


def _register_routers() -> None:
    from baogong.regions.api import router as regions_router
    from baogong.stock.api import router as stock_router

    api.add_router("/regions", regions_router)
    api.add_router("/stock", stock_router)


_register_routers()
