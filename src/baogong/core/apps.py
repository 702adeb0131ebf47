from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "baogong.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Registers the deployment checks and the login-lockout log.
        from axes.signals import user_locked_out

        from . import checks  # noqa: F401
        from .security import on_user_locked_out

        user_locked_out.connect(on_user_locked_out, dispatch_uid="baogong.core.security.lockout")
