from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.order_new, name="order_new"),
    path("<int:order_id>/", views.order_detail, name="order_detail"),
    path("<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("<int:order_id>/<slug:step>/", views.order_step, name="order_step"),
    path("proxy/", views.proxy_household_find, name="proxy"),
    path("proxy/households/<int:household_id>/", views.proxy_order_new, name="proxy_order_new"),
    path("sheet/", views.sheet_import, name="sheet_import"),
    path("sheet/template.xlsx", views.sheet_template, name="sheet_template"),
    path("purchase-orders/", views.purchase_order_index, name="purchase_order_list"),
    path("purchase-orders/<int:purchase_order_id>/", views.purchase_order_detail, name="purchase_order_detail"),
    path(
        "purchase-orders/<int:purchase_order_id>/confirm/",
        views.purchase_order_confirm,
        name="purchase_order_confirm",
    ),
    path(
        "purchase-orders/<int:purchase_order_id>/pick-list/",
        views.purchase_order_pick_list,
        name="purchase_order_pick_list",
    ),
    path("pairings/", views.pairing_list, name="pairing_list"),
    path("pairings/<int:compound_id>/", views.pairing_edit, name="pairing_edit"),
]
