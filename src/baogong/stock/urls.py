from django.urls import path

from . import views

app_name = "stock"
urlpatterns = [
    path("", views.stock_point_list, name="stock_point_list"),
    path("<int:point_id>/", views.stock_point_detail, name="stock_point_detail"),
]
