from django.urls import path

from . import views

app_name = "planning"
urlpatterns = [
    path("", views.plan_index, name="plan_list"),
    path("<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("<int:plan_id>/progress/", views.plan_progress, name="plan_progress"),
    path("<int:plan_id>/route-sheets.xlsx", views.plan_route_sheets, name="plan_route_sheets"),
    path("sheets/", views.sheet_plans, name="sheet_plans"),
    path("<int:plan_id>/sheets/", views.sheet_index, name="sheet_index"),
    path("<int:plan_id>/sheets/route-sheets.pdf", views.sheet_routes_pdf, name="sheet_routes_pdf"),
    path("<int:plan_id>/sheets/route/<int:route_id>/", views.sheet_route, name="sheet_route"),
    path(
        "<int:plan_id>/sheets/pick/<int:route_id>/<int:trip>/<int:supermarket_id>/",
        views.sheet_pick,
        name="sheet_pick",
    ),
    path("<int:plan_id>/sheets/gate/<int:compound_id>/", views.sheet_gate, name="sheet_gate"),
    path("<int:plan_id>/sheets/courier/<int:roster_id>/", views.sheet_courier, name="sheet_courier"),
]
