from django.apps import AppConfig


class InspectionsConfig(AppConfig):
    name = "backend.inspections"
    label = "inspections"
    verbose_name = "行政检查与双随机抽查"
    default_auto_field = "django.db.models.BigAutoField"
