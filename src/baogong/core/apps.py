from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "baogong.core"
    label = "core"
    verbose_name = "Core"
