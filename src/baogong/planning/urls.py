from django.urls import path

from . import views

app_name = "planning"
urlpatterns = [
    path("", views.plan_index, name="plan_list"),
    path("<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("<int:plan_id>/progress/", views.plan_progress, name="plan_progress"),
    path("<int:plan_id>/route-sheets.xlsx", views.plan_route_sheets, name="plan_route_sheets"),
]
