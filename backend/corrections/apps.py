from django.apps import AppConfig


class CorrectionsConfig(AppConfig):
    name = "backend.corrections"
    label = "corrections"
    verbose_name = "社区矫正"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Recompute provisional deadlines when a year's holiday arrangement is entered,
        # without backend.workcalendar importing this app.
        from backend.corrections.deadlines import overdue_alerts_recompute
        from backend.workcalendar.services.entry import AFTER_YEAR_ENTERED_HOOKS

        if overdue_alerts_recompute not in AFTER_YEAR_ENTERED_HOOKS:
            AFTER_YEAR_ENTERED_HOOKS.append(overdue_alerts_recompute)
