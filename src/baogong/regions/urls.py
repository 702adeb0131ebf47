from django.urls import path

from . import roster_views, views

app_name = "regions"
urlpatterns = [
    path("<int:region_id>/", views.region_detail, name="region_detail"),
    path("<int:region_id>/zone-status/", views.zone_status_set, name="zone_status_set"),
    path("households/<int:household_id>/", views.household_detail, name="household_detail"),
    path("roster/template.xlsx", roster_views.roster_template, name="roster_template"),
    path("roster/import/", roster_views.roster_import, name="roster_import"),
]
