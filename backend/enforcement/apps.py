from django.apps import AppConfig


class EnforcementConfig(AppConfig):
    name = "backend.enforcement"
    label = "enforcement"
    verbose_name = "执法活动与音像记录事项清单"
