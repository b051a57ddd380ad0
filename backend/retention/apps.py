from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "backend.retention"
    label = "retention"
    verbose_name = "保存期限与销毁"

    def ready(self) -> None:
        # A stored original gets its retention row (and the object's initial lock date read
        # back from S3) without footage importing this app.
        from backend.footage.services import AFTER_STORED_HOOKS
        from backend.retention.services import retention_after_stored

        if retention_after_stored not in AFTER_STORED_HOOKS:
            AFTER_STORED_HOOKS.append(retention_after_stored)
