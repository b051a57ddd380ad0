from django.apps import AppConfig


class InspectionsConfig(AppConfig):
    name = "backend.inspections"
    label = "inspections"
    verbose_name = "行政检查与双随机抽查"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Recompute provisional deadlines when a year's holiday arrangement is entered,
        # without backend.workcalendar importing this app.
        from backend.inspections.deadlines import publication_deadlines_recompute
        from backend.workcalendar.services.entry import AFTER_YEAR_ENTERED_HOOKS

        if publication_deadlines_recompute not in AFTER_YEAR_ENTERED_HOOKS:
            AFTER_YEAR_ENTERED_HOOKS.append(publication_deadlines_recompute)
