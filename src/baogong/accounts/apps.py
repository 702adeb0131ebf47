from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "baogong.accounts"
    label = "accounts"
