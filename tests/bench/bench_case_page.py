"""Opening a case page with 50 activities and 200 recordings, and building its review
page (the reviewer's evidence package: every activity with its verdict and recordings, the
documents with their SHA-256, the 第七条 points), against the same-run reference: the
activity page (/activities/<id>/) of one of those activities.

    .venv/bin/python tests/bench/bench_case_page.py            # 25 runs each
    .venv/bin/python tests/bench/bench_case_page.py --runs 51

Builds a scratch PostgreSQL database (fv_bench_cases, dropped at the end unless --keep),
migrates it, and generates the case server-side. Prints the median milliseconds and query
counts of each page and the ratio to the reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DB_NAME = "fv_bench_cases"
PG_URL = os.environ.get("FV_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
ACTIVITIES, RECORDINGS = 50, 200


def admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    admin_execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    admin_execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = f"{PG_URL}/{DB_NAME}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "backend.config.settings.base"
    import django

    django.setup()
    import datetime

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from backend.accounts.models import Officer, Role, Unit, User
    from backend.cases.models import (
        Case,
        CaseActivity,
        CaseDocument,
        LegalReview,
        ReviewState,
    )
    from backend.coverage.models import RecordingLink
    from backend.devices.models import Device
    from backend.enforcement.models import Activity
    from backend.footage.models import Recording

    try:
        call_command("migrate", verbosity=0)
        bureau = Unit.objects.create(name="基准司法局", kind="bureau")
        supervisor = User.objects.create_user(
            username="bench-sup", role=Role.SUPERVISOR, unit=bureau
        )
        officer_user = User.objects.create_user(
            username="bench-fo", role=Role.FIELD_OFFICER, unit=bureau
        )
        officer = Officer.objects.create(
            name="基准执法",
            unit=bureau,
            certificate_number="BENCH-1",
            certificate_valid_until=timezone.localdate() + datetime.timedelta(days=365),
            user=officer_user,
        )
        device = Device.objects.create(kind="body_camera", serial="BENCH-CASE", unit=bureau)
        start = timezone.now() - datetime.timedelta(days=3)
        activities = Activity.objects.bulk_create(
            [
                Activity(
                    category="行政处罚",
                    stage="调查取证",
                    unit=bureau,
                    place=f"现场{i}",
                    started_at=start + datetime.timedelta(hours=i),
                    stopped_at=start + datetime.timedelta(hours=i, minutes=40),
                    state="closed",
                )
                for i in range(ACTIVITIES)
            ]
        )
        recordings = Recording.objects.bulk_create(
            [
                Recording(
                    device=device,
                    officer=officer,
                    clip_id=f"c{i}",
                    file_name=f"DSJ_{i:04d}.mp4",
                    size_bytes=1_000_000 + i,
                    sha256=f"{i:064x}",
                    media_kind="video",
                    started_at=start + datetime.timedelta(hours=i // 4, minutes=10 * (i % 4)),
                    ended_at=start + datetime.timedelta(hours=i // 4, minutes=10 * (i % 4) + 9),
                    device_started_at=start
                    + datetime.timedelta(hours=i // 4, minutes=10 * (i % 4)),
                    device_ended_at=start
                    + datetime.timedelta(hours=i // 4, minutes=10 * (i % 4) + 9),
                    state="stored",
                    storage_key=f"originals/sha256/{i:064x}",
                )
                for i in range(RECORDINGS)
            ]
        )
        RecordingLink.objects.bulk_create(
            [
                RecordingLink(
                    activity=activities[i // 4], recording=r, officer=officer, source="auto"
                )
                for i, r in enumerate(recordings)
            ]
        )
        case = Case.objects.create(
            unit=bureau,
            year=2026,
            sequence=1,
            number="基准〔2026〕1号",
            category="行政处罚",
            matter="基准",
            party_name="基准公司",
            party_kind="legal",
            filed_on=timezone.localdate(),
            opened_by=officer_user,
        )
        case.officers.add(officer)
        CaseActivity.objects.bulk_create(
            [CaseActivity(case=case, activity=a, linked_by=officer_user) for a in activities]
        )
        CaseDocument.objects.bulk_create(
            [
                CaseDocument(
                    case=case,
                    kind=kind,
                    title=kind,
                    file_name=f"{kind}.pdf",
                    content_type="application/pdf",
                    size_bytes=100,
                    sha256=f"{n:064x}",
                    storage_key=f"originals/sha256/{n:064x}",
                    uploaded_by=officer_user,
                )
                for n, kind in enumerate(
                    [
                        "investigation_report",
                        "decision_proposal",
                        "draft_decision",
                        "evidence_basis",
                    ]
                )
            ]
        )
        review = LegalReview.objects.create(
            case=case,
            state=ReviewState.SUBMITTED,
            submitted_by=officer_user,
            leader_agreed_by="基准",
            received_on=timezone.localdate(),
            due_on=timezone.localdate() + datetime.timedelta(days=14),
        )
        client = Client()
        client.force_login(supervisor)
        pages = {
            "activity page (reference)": f"/activities/{activities[0].pk}/",
            "case page": f"/cases/{case.pk}/",
            "review page (evidence package)": f"/cases/reviews/{review.pk}/",
        }
        results: dict[str, tuple[float, int]] = {}
        for name, url in pages.items():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            counted: list[str] = []

            def count(execute, sql, params, many, context, counted=counted):  # type: ignore[no-untyped-def]
                counted.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                client.get(url)
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            results[name] = (statistics.median(times), len(counted))
        if os.environ.get("FV_BENCH_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            client.get(pages["case page"])
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        reference = results["activity page (reference)"][0]
        print(f"{ACTIVITIES} activities, {RECORDINGS} recordings, {args.runs} runs each")
        for name, (median, count) in results.items():
            print(
                f"{name:34s} median {median:7.1f} ms  {count:3d} queries  "
                f"ratio {median / reference:5.2f}"
            )
    finally:
        connection.close()
        if not args.keep:
            admin_execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
