"""The real stack a benchmark runs on: a scratch PostgreSQL database (migrated) and a
SeaweedFS `weed mini` with the project's buckets, torn down afterwards.

    with bench_stack("fv_bench_name"):
        ...  # Django is set up; import models here

FV_BENCH_PG overrides the PostgreSQL server (default postgres://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("FV_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def bench_stack(db_name: str) -> Iterator[None]:
    from ops.seaweed import SeaweedServer

    server = SeaweedServer(data_dir=Path(tempfile.mkdtemp(prefix="fv-bench-weed-"))).start()
    admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    admin_execute(f'CREATE DATABASE "{db_name}"')
    os.environ.update(
        {
            "DATABASE_URL": f"{PG_URL}/{db_name}",
            "DJANGO_SETTINGS_MODULE": "backend.config.settings.base",
            "FV_S3_ENDPOINT_URL": server.endpoint_url,
            "FV_S3_ACCESS_KEY": server.access_key,
            "FV_S3_SECRET_KEY": server.secret_key,
            "FV_LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from backend.footage.storage import storage_ensure_buckets

    try:
        call_command("migrate", verbosity=0)
        storage_ensure_buckets()
        yield
    finally:
        connection.close()
        admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        server.stop()
