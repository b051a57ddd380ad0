"""FieldVault's own metrics in the Prometheus text format (version 0.0.4).

What an operator must be woken for: devices waiting to be told `stored` (the storage queue's
depth and age), open fixity alerts, the last reconciliation not clean or too old, the
continuous backup lagging, the staging disk filling. Each scrape costs a handful of indexed
queries and one S3 listing of the backup's newest level (backend/retention/continuity.py).
"""

from __future__ import annotations

import datetime
import shutil
import time
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from backend.config import request_metrics
from backend.operations import selectors
from backend.retention.continuity import backup_position
from backend.retention.replication import replication_lag

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        number = float(value)
        text = str(int(number)) if number.is_integer() else repr(round(number, 6))
        lines.append(f"{name}{labels} {text}")
    return "\n".join(lines)


def originals_replication_families() -> list[str]:
    """The second site of the originals (backend/retention/replication.py)."""
    lag = replication_lag()
    return [
        _family(
            "fieldvault_originals_replication_configured",
            "gauge",
            "1 when stored originals are replicated to a second site.",
            [("", 1 if lag.configured else 0)],
        ),
        _family(
            "fieldvault_originals_replication_lag_seconds",
            "gauge",
            "Age of the oldest stored original not yet at the second site (0: none; -1: one site).",
            [("", lag.lag_seconds if lag.configured else -1)],
        ),
    ]


def metrics_text() -> str:
    started = time.monotonic()
    now = timezone.now()
    families = []
    in_flight = selectors.recordings_in_flight()
    families.append(
        _family(
            "fieldvault_recordings_in_flight",
            "gauge",
            "Recordings announced but not yet stored, by state.",
            [(f'{{state="{state}"}}', count) for state, count in sorted(in_flight.items())],
        )
    )
    oldest = selectors.oldest_waiting_for_storage()
    families.append(
        _family(
            "fieldvault_storage_queue_oldest_seconds",
            "gauge",
            "Age of the oldest verified recording not yet stored (0: none waiting).",
            [("", (now - oldest).total_seconds() if oldest else 0)],
        )
    )
    families.append(
        _family(
            "fieldvault_fixity_alerts_open",
            "gauge",
            "Fixity alerts not yet acknowledged.",
            [("", selectors.fixity_alerts_open())],
        )
    )
    families.append(
        _family(
            "fieldvault_legal_holds_active",
            "gauge",
            "Legal holds in force.",
            [("", selectors.legal_holds_active())],
        )
    )
    run = selectors.last_reconciliation()
    families.append(
        _family(
            "fieldvault_reconciliation_clean",
            "gauge",
            "1 when the last reconciliation of the database with the originals was clean.",
            [("", 1 if run and run.is_clean else 0)],
        )
    )
    families.append(
        _family(
            "fieldvault_reconciliation_age_seconds",
            "gauge",
            "Seconds since the last reconciliation finished (-1: never).",
            [("", (now - run.finished_at).total_seconds() if run else -1)],
        )
    )
    families.append(
        _family(
            "fieldvault_reconciliation_problems",
            "gauge",
            "Problems the last reconciliation found, by kind.",
            [
                ('{kind="missing"}', run.missing_count if run else 0),
                ('{kind="mismatch"}', run.mismatch_count if run else 0),
                ('{kind="orphan"}', run.orphan_count if run else 0),
            ],
        )
    )
    position = backup_position()
    age = position.age_seconds
    families.append(
        _family(
            "fieldvault_backup_replication_age_seconds",
            "gauge",
            "Seconds since the continuous backup last shipped a transaction or WAL (-1: none).",
            [(f'{{engine="{position.engine}"}}', age if age is not None else -1)],
        )
    )
    families.append(
        _family(
            "fieldvault_backup_ok",
            "gauge",
            "1 when the continuous backup has a position and reports no error.",
            [(f'{{engine="{position.engine}"}}', 0 if position.error or age is None else 1)],
        )
    )
    families += originals_replication_families()
    staging = settings.FV_STAGING_DIR
    free = shutil.disk_usage(staging).free if staging.exists() else 0
    families.append(
        _family(
            "fieldvault_staging_free_bytes",
            "gauge",
            "Free bytes on the staging disk (uploads land there before S3).",
            [("", free)],
        )
    )
    families.extend(_queue_and_latency_families(now))
    families.extend(_request_families())
    families.append(
        _family(
            "fieldvault_metrics_scrape_seconds",
            "gauge",
            "Time this scrape took to compute.",
            [("", round(time.monotonic() - started, 4))],
        )
    )
    return "\n".join(families) + "\n"


def _queue_and_latency_families(now: datetime.datetime) -> list[str]:
    jobs = selectors.jobs_ready_by_queue()
    queues = sorted(set(settings.TASKS["default"].get("QUEUES", ["default"])) | set(jobs))
    processing = selectors.processing_by_state()
    leases = selectors.leases_expired(now)
    stored, mean, longest = selectors.safe_to_delete_seconds(now - datetime.timedelta(hours=1))
    fixity = selectors.fixity_outcomes_recent(now - datetime.timedelta(hours=24))
    return [
        _family(
            "fieldvault_jobs_ready",
            "gauge",
            "Queued jobs waiting for a worker, by queue.",
            [(f'{{queue="{q}"}}', jobs.get(q, (0, None))[0]) for q in queues],
        ),
        _family(
            "fieldvault_jobs_oldest_ready_seconds",
            "gauge",
            "Age of the oldest queued job, by queue (0: none waiting).",
            [(f'{{queue="{q}"}}', _age(now, jobs.get(q, (0, None))[1])) for q in queues],
        ),
        _family(
            "fieldvault_processing_pending",
            "gauge",
            "Recordings whose media processing is not final, by state.",
            [(f'{{state="{state}"}}', n) for state, n in sorted(processing.items())],
        ),
        _family(
            "fieldvault_leases_expired",
            "gauge",
            "Leases not renewed by their holder (a process died or hangs), by kind.",
            [(f'{{kind="{kind}"}}', n) for kind, n in sorted(leases.items())],
        ),
        _family(
            "fieldvault_safe_to_delete_seconds",
            "gauge",
            "From upload complete to stored (the device may delete), recordings of the last hour.",
            [('{stat="mean"}', round(mean, 3)), ('{stat="max"}', round(longest, 3))],
        ),
        _family(
            "fieldvault_recordings_stored_last_hour",
            "gauge",
            "Recordings created in the last hour and stored (the latest 500 at most).",
            [("", stored)],
        ),
        _family(
            "fieldvault_fixity_checks_recent",
            "gauge",
            "Fixity checks of the last 24 hours by outcome (latest 5000 checks at most).",
            [(f'{{outcome="{o}"}}', n) for o, n in sorted(fixity.items())],
        ),
        _family(
            "fieldvault_destructions",
            "gauge",
            "Originals destroyed at the end of retention (destruction register entries).",
            [("", selectors.destructions_recorded())],
        ),
    ]


def _age(now: datetime.datetime, then: datetime.datetime | None) -> float:
    return round((now - then).total_seconds(), 3) if then else 0


def _request_families() -> list[str]:
    responses, upload_bytes, streaming = request_metrics.snapshot()
    return [
        _family(
            "fieldvault_http_responses_total",
            "counter",
            "Responses of this process by method, route pattern and status class.",
            [
                (f'{{method="{m}",route="{_label(r)}",status="{c}"}}', n)
                for (m, r, c), n in sorted(responses.items())
            ],
        ),
        _family(
            "fieldvault_upload_bytes_received_total",
            "counter",
            "Upload body bytes this process received (tus PATCH bodies).",
            [("", upload_bytes)],
        ),
        _family(
            "fieldvault_uploads_streaming",
            "gauge",
            "Upload requests this process is receiving right now.",
            [("", streaming)],
        ),
    ]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
