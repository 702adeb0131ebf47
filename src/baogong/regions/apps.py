from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "baogong.regions"
    label = "regions"
