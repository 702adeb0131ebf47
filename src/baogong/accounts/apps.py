from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "baogong.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from .sessions import forget_account_row

        # An account row read with the session and not taken must not serve a later request of the thread.
        request_finished.connect(forget_account_row, dispatch_uid="baogong.accounts.forget_account_row")
