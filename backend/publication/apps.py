from django.apps import AppConfig


class PublicationConfig(AppConfig):
    name = "backend.publication"
    label = "publication"
    verbose_name = "行政执法公示"
    default_auto_field = "django.db.models.BigAutoField"
