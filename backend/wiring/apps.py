from django.apps import AppConfig


class WiringConfig(AppConfig):
    """Last in INSTALLED_APPS: connects every cross-app reaction (backend/wiring/registry.py)
    once every other app is ready."""

    name = "backend.wiring"
    label = "wiring"
    verbose_name = "跨应用联动"

    def ready(self) -> None:
        from backend.wiring.registry import connect_all

        connect_all()
