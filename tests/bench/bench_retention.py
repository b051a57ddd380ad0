"""Retention recomputation after a policy change, for N recordings (default 1,000,000).

    .venv/bin/python tests/bench/bench_retention.py             # N = 1,000,000
    .venv/bin/python tests/bench/bench_retention.py --n 100000  # quicker

Builds a scratch PostgreSQL database (fv_bench_retention, dropped at the end unless
--keep), migrates it, and generates N stored recordings with their retention rows
server-side (INSERT ... SELECT generate_series): 80 % unlinked (`default`), 10 % also of
category `enforcement:行政处罚` (730 days), 10 % evidence/obstruction (permanent).

Then the policy for `default` goes from 184 to 365 days, timed in two steps:
  preview  retention_policy_preview: which recordings change and how (counts + first 1000)
  apply    retention_policy_set: preview again, set-based UPDATE per category set, audit
and, as the same-run reference, one plain SQL UPDATE of the same rows to 400 days
(the least any recomputation must do). Prints seconds and the ratio apply / reference.
Object-lock extension is S3 work done afterwards by the periodic job and is not timed here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DB_NAME = "fv_bench_retention"
PG_URL = os.environ.get("FV_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    admin_execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    admin_execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = f"{PG_URL}/{DB_NAME}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "backend.config.settings.base"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from backend.accounts.models import Role, User
    from backend.devices.models import Device
    from backend.retention.models import RetentionPolicy
    from backend.retention.services import retention_policy_preview, retention_policy_set

    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrate: {time.perf_counter() - started:.1f} s")
        device = Device.objects.create(kind="body_camera", serial="BENCH-1")
        enforcement = RetentionPolicy.objects.create(
            category="enforcement:行政处罚", name="行政处罚", period_days=730
        )
        default = RetentionPolicy.objects.get(category="default")
        evidence = RetentionPolicy.objects.get(category="evidence")
        admin = User.objects.create_user(username="bench-admin", role=Role.STORAGE_ADMIN)

        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            cur.execute(
                """
                INSERT INTO footage_recording (id, device_id, clip_id, file_name, size_bytes,
                  sha256, media_kind, device_started_at, device_ended_at, clock_offset_ms,
                  started_at, ended_at, trigger_reason, state, storage_key, stored_at,
                  storage_attempts, storage_last_error, created_at, updated_at)
                SELECT gen_random_uuid(), %s, 'c' || i, 'f' || i || '.mp4', 1000000 + i,
                  h, 'video', t - interval '5 min', t, 0, t - interval '5 min', t, '',
                  'stored', 'originals/sha256/' || h, t + interval '1 hour', 1, '', now(), now()
                FROM (SELECT i, encode(sha256(i::text::bytea), 'hex') AS h,
                        timestamptz '2025-01-01' + (i %% 600) * interval '1 day'
                          + (i %% 86400) * interval '1 second' AS t
                      FROM generate_series(1, %s) AS i) AS g
                """,
                [str(device.pk).replace("-", ""), args.n],
            )
            cur.execute(
                """
                INSERT INTO retention_recordingretention (recording_id, categories,
                  activity_refs, case_refs, anchor_at, policy_until, retention_until, permanent,
                  policy_id, reason, legal_hold_applied, held, last_fixity_outcome, computed_at)
                SELECT id, c.key, '[]'::jsonb, '[]'::jsonb, date_trunc('second', ended_at),
                  CASE WHEN c.perm THEN timestamptz '2999-12-31 00:00+00'
                       ELSE date_trunc('second', ended_at) + c.days * interval '1 day' END,
                  CASE WHEN c.perm THEN timestamptz '2999-12-31 00:00+00'
                       ELSE date_trunc('second', ended_at) + c.days * interval '1 day' END,
                  c.perm, c.policy, 'generated', false, false, '', now()
                FROM (SELECT id, ended_at, row_number() OVER () AS i FROM footage_recording) r
                CROSS JOIN LATERAL (SELECT
                  CASE WHEN r.i %% 20 = 0 THEN ',default,evidence,'
                       WHEN r.i %% 20 = 1 THEN ',default,obstruction,'
                       WHEN r.i %% 20 IN (2, 3) THEN ',default,enforcement:行政处罚,'
                       ELSE ',default,' END AS key,
                  r.i %% 20 IN (0, 1) AS perm,
                  CASE WHEN r.i %% 20 IN (2, 3) THEN 730 ELSE 184 END AS days,
                  CASE WHEN r.i %% 20 IN (0, 1) THEN %s WHEN r.i %% 20 IN (2, 3) THEN %s
                       ELSE %s END AS policy) c
                """,
                [evidence.pk, enforcement.pk, default.pk],
            )
        connection.commit() if not connection.get_autocommit() else None
        print(
            f"generated {args.n:,} recordings + retention rows: "
            f"{time.perf_counter() - started:.1f} s"
        )
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE footage_recording")
            cur.execute("VACUUM ANALYZE retention_recordingretention")

        started = time.perf_counter()
        preview = retention_policy_preview(
            category="default", period_days=365, permanent=False, limit=1000
        )
        preview_s = time.perf_counter() - started
        print(
            f"preview: {preview_s:.2f} s  ({preview.total_changed:,} recordings change, "
            f"{preview.later:,} later, {preview.earlier:,} earlier, "
            f"{len(preview.changes)} listed)"
        )

        started = time.perf_counter()
        applied = retention_policy_set(
            actor=admin,
            category="default",
            name="未关联",
            period_days=365,
            permanent=False,
            sync_locks=False,
        )
        apply_s = time.perf_counter() - started
        print(
            f"apply (preview + set-based recompute + audit): {apply_s:.2f} s "
            f"({applied.total_changed:,} rows)"
        )

        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE retention_recordingretention")
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE retention_recordingretention SET policy_until = anchor_at + "
                "interval '400 days', retention_until = anchor_at + interval '400 days' "
                "WHERE categories = ',default,' AND destroyed_at IS NULL"
            )
            reference_rows = cur.rowcount
        reference_s = time.perf_counter() - started
        print(
            f"reference plain UPDATE of the same rows: {reference_s:.2f} s "
            f"({reference_rows:,} rows)"
        )
        print(
            f"ratio apply / reference: {apply_s / reference_s:.2f}; "
            f"recompute throughput {applied.total_changed / apply_s:,.0f} rows/s"
        )
    finally:
        connection.close()
        if not args.keep:
            admin_execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
