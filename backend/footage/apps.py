from django.apps import AppConfig


class FootageConfig(AppConfig):
    name = "backend.footage"
    label = "footage"
    verbose_name = "音像记录"

    def ready(self) -> None:
        from backend.footage.processing import recording_processing_after_stored
        from backend.footage.services import AFTER_STORED_HOOKS

        if recording_processing_after_stored not in AFTER_STORED_HOOKS:
            AFTER_STORED_HOOKS.append(recording_processing_after_stored)
