"""Helpers for tests that start the project's own processes (workers, the scheduler)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import connection


def deployed_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a process as deployed (settings.base read from the environment),
    pointed at the test database and the test session's SeaweedFS; `extra` adds or
    overrides variables."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FV_", "REDIS"))}
    env.update(
        DJANGO_SETTINGS_MODULE="backend.config.settings",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        FV_VAR_DIR=str(tmp_path / "var"),
        FV_S3_ENDPOINT_URL=settings.FV_S3_ENDPOINT_URL,
        FV_S3_ACCESS_KEY=settings.FV_S3_ACCESS_KEY,
        FV_S3_SECRET_KEY=settings.FV_S3_SECRET_KEY,
        FV_S3_DESTRUCTION_ACCESS_KEY=settings.FV_S3_DESTRUCTION_ACCESS_KEY,
        FV_S3_DESTRUCTION_SECRET_KEY=settings.FV_S3_DESTRUCTION_SECRET_KEY,
        FV_ORIGINALS_BUCKET=settings.FV_ORIGINALS_BUCKET,
        FV_DERIVATIVES_BUCKET=settings.FV_DERIVATIVES_BUCKET,
        **extra,
    )
    return env
