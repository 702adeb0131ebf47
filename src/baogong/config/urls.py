from django.contrib import admin
from django.urls import include, path

from baogong.config.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("baogong.core.urls")),
    path("regions/", include("baogong.regions.urls")),
    path("stock/", include("baogong.stock.urls")),
    path("orders/", include("baogong.orders.urls")),
    path("delivery/", include("baogong.delivery.urls")),
    path("planning/", include("baogong.planning.urls")),
    path("lastmile/", include("baogong.lastmile.urls")),
    path("notices/", include("baogong.notices.urls")),
]
