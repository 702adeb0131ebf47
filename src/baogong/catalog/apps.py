from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "baogong.catalog"
    label = "catalog"
