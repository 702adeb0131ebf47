from django.urls import path

from . import views

app_name = "delivery"
urlpatterns = [
    path("passes/", views.pass_list, name="pass_list"),
    path("passes/new/", views.pass_new, name="pass_new"),
    path("passes/<int:pass_id>/", views.pass_detail, name="pass_detail"),
    path("passes/<int:pass_id>/revoke/", views.pass_revoke, name="pass_revoke"),
    path("checkpoint/", views.checkpoint, name="checkpoint"),
    path("gate/<int:compound_id>/", views.gate_checklist, name="gate_checklist"),
    path("gate/discrepancies/<int:discrepancy_id>/photo/", views.discrepancy_photo, name="discrepancy_photo"),
    path("board/", views.command_view, name="command_view"),
    path("board/<int:compound_id>/", views.compound_board, name="compound_board"),
    path("follow-ups/", views.follow_up_list, name="follow_up_list"),
    path("arrivals/", views.gate_arrival_new, name="gate_arrival_new"),
    path("disinfections/", views.disinfection_new, name="disinfection_new"),
    path("vehicles/", views.vehicle_list, name="vehicle_list"),
    path("drivers/", views.driver_list, name="driver_list"),
]
