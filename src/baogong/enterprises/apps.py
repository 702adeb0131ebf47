from django.apps import AppConfig


class EnterprisesConfig(AppConfig):
    name = "baogong.enterprises"
    label = "enterprises"
