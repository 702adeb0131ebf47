from django.apps import AppConfig


class ScenarioConfig(AppConfig):
    name = "baogong.scenario"
    label = "scenario"
