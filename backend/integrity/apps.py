from django.apps import AppConfig


class IntegrityConfig(AppConfig):
    name = "backend.integrity"
    label = "integrity"
    verbose_name = "完整性证明"
