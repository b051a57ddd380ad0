from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "backend.coverage"
    label = "coverage"
    verbose_name = "音像记录覆盖检查"

    def ready(self) -> None:
        # Register the re-check hooks without footage/enforcement importing this app.
        from backend.coverage.services import register_hooks

        register_hooks()
