from django.urls import path

from . import views

app_name = "delivery"
urlpatterns = [
    path("passes/", views.pass_list, name="pass_list"),
    path("passes/new/", views.pass_new, name="pass_new"),
    path("passes/<int:pass_id>/", views.pass_detail, name="pass_detail"),
    path("passes/<int:pass_id>/revoke/", views.pass_revoke, name="pass_revoke"),
    path("checkpoint/", views.checkpoint, name="checkpoint"),
]
