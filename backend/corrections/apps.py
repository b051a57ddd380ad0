from django.apps import AppConfig


class CorrectionsConfig(AppConfig):
    name = "backend.corrections"
    label = "corrections"
    verbose_name = "社区矫正"
    default_auto_field = "django.db.models.BigAutoField"
