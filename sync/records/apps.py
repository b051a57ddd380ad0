from django.apps import AppConfig


class SyncRecordsConfig(AppConfig):
    name = "sync.records"
    label = "sync_records"
    verbose_name = "平板记录同步"
    default_auto_field = "django.db.models.BigAutoField"
