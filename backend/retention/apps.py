from django.apps import AppConfig, apps


class RetentionConfig(AppConfig):
    name = "backend.retention"
    label = "retention"
    verbose_name = "保存期限与销毁"

    def ready(self) -> None:
        # A stored original gets its retention row (and the object's initial lock date read
        # back from S3) without footage importing this app.
        from backend.footage.services import AFTER_STORED_HOOKS
        from backend.retention import facts
        from backend.retention.services import retention_after_stored

        if apps.is_installed("backend.coverage"):
            # Retention categories follow the activity a recording is linked to, so the
            # coverage check must link a newly stored recording (and re-link a changed
            # activity) before retention reads the links: register its hooks first (its
            # registration is idempotent; its own ready() then does nothing).
            from backend.coverage.services import register_hooks
            from backend.enforcement.services import ACTIVITY_CHANGED_HOOKS
            from backend.retention.activity_facts import (
                activity_facts_provider,
                activity_reference_resolver,
                retention_on_activity_changed,
            )

            register_hooks()
            if activity_facts_provider not in facts.FACT_PROVIDERS:
                facts.FACT_PROVIDERS.append(activity_facts_provider)
            if activity_reference_resolver not in facts.REFERENCE_RESOLVERS:
                facts.REFERENCE_RESOLVERS.append(activity_reference_resolver)
            if retention_on_activity_changed not in ACTIVITY_CHANGED_HOOKS:
                ACTIVITY_CHANGED_HOOKS.append(retention_on_activity_changed)

        if retention_after_stored not in AFTER_STORED_HOOKS:
            AFTER_STORED_HOOKS.append(retention_after_stored)
