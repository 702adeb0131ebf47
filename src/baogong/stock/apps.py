from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "baogong.stock"
    label = "stock"
