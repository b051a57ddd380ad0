from django.apps import AppConfig


class FootageConfig(AppConfig):
    name = "backend.footage"
    label = "footage"
    verbose_name = "音像记录"
