"""django-tasks-db's backend, storing the enqueuing request's id beside each job's arguments
(`args_kwargs["request_id"]`; the worker reads only `args` and `kwargs`), so that the job's
log lines carry it (backend/config/logs.py)."""

from __future__ import annotations

from typing import Any

from django_tasks_db import DatabaseBackend as _DatabaseBackend
from django_tasks_db.compat import normalize_json

from backend.config.logs import current_request_id


class DatabaseBackend(_DatabaseBackend):
    def _fields(self, task: Any, args: Any, kwargs: Any) -> dict[str, Any]:
        stored: dict[str, Any] = {"args": args, "kwargs": kwargs}
        request_id = current_request_id()
        if request_id:
            stored["request_id"] = request_id
        return {
            "id": self._get_id(),
            "args_kwargs": normalize_json(stored),
            "priority": task.priority,
            "task_path": task.module_path,
            "queue_name": task.queue_name,
            "run_after": task.run_after,
            "backend_name": self.alias,
        }

    def _task_to_db_task(self, task: Any, args: Any, kwargs: Any) -> Any:
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.create(**self._fields(task, args, kwargs))

    async def _atask_to_db_task(self, task: Any, args: Any, kwargs: Any) -> Any:
        from django_tasks_db.models import DBTaskResult

        return await DBTaskResult.objects.acreate(**self._fields(task, args, kwargs))
