from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WorkCalendarConfig(AppConfig):
    name = "backend.workcalendar"
    label = "workcalendar"
    verbose_name = "节假日安排"

    def ready(self) -> None:
        # Reference data, like content types: every migrate (and every test flush) makes
        # sure the years the `chinesecalendar` package knows are in the database. Years an
        # administrator entered are never touched.
        post_migrate.connect(_seed_after_migrate, sender=self)


def _seed_after_migrate(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    from backend.workcalendar.models import CalendarDay
    from backend.workcalendar.services.seeding import calendar_seed_from_package

    # A partial migrate (to an earlier state) may leave the tables out.
    if CalendarDay._meta.db_table in connections[using].introspection.table_names():
        calendar_seed_from_package(using=using)
