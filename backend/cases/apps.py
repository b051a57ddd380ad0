from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "backend.cases"
    label = "cases"
    verbose_name = "执法案卷与法制审核"
    default_auto_field = "django.db.models.BigAutoField"
