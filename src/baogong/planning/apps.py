from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "baogong.planning"
    label = "planning"
    verbose_name = _("Planning")

    def ready(self) -> None:
        from django.core.checks import register

        from .day_rules import day_rules_check

        register(day_rules_check)
