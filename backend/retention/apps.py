from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "backend.retention"
    label = "retention"
    verbose_name = "保存期限与销毁"
