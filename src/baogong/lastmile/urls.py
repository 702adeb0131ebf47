from django.urls import path

from . import views

app_name = "lastmile"
urlpatterns = [
    path("courier/", views.courier, name="courier"),
    path("courier/sync/", views.courier_sync, name="courier_sync"),
    path("pickup/", views.pickup_code, name="pickup_code"),
    path("pickup/desk/", views.pickup_desk, name="pickup_desk"),
    path("pickup/desk/handover/", views.pickup_handover, name="pickup_handover"),
    path("pickup/desk/ready/", views.pickup_ready, name="pickup_ready"),
]
