from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "baogong.orders"
    label = "orders"
