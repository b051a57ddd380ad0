from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "backend.operations"
    label = "operations"
    verbose_name = "运行监控"

    def ready(self) -> None:
        # A job's log lines carry the request id that queued it (backend/config/logs.py).
        from django_tasks.signals import task_finished, task_started

        from backend.config.logs import task_finished_receiver, task_started_receiver

        task_started.connect(task_started_receiver, dispatch_uid="fv-log-task-started")
        task_finished.connect(task_finished_receiver, dispatch_uid="fv-log-task-finished")
