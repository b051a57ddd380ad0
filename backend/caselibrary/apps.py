from django.apps import AppConfig


class CaseLibraryConfig(AppConfig):
    name = "backend.caselibrary"
    label = "caselibrary"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "案例库"
