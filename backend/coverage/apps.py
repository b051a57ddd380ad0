from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "backend.coverage"
    label = "coverage"
    verbose_name = "音像记录覆盖检查"
