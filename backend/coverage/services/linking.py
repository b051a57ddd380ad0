"""Automatic links between recordings and activities (one recording or one activity at a time)."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from backend.audit.services import Actor, AuditEntry, audit_record_many
from backend.coverage.models import (
    LinkSource,
    RecordingLink,
)
from backend.coverage.services.evaluation import (
    NEVER_LINKED_STATES,
    _activities_locked,
    _evaluate_locked,
    link_buffer,
)
from backend.enforcement.models import Activity, ActivityOfficer
from backend.footage.models import Recording
from coverage_core.evaluation import (
    OPEN_ACTIVITY_HORIZON,
)

# ---------------------------------------------------------------- auto-linking


def _overlap_q(start: datetime.datetime, end: datetime.datetime | None) -> Q:
    """Recordings overlapping ``[start, end]`` widened by the buffer (open: start + horizon)."""
    buffer = link_buffer()
    upper = end if end is not None else max(start + OPEN_ACTIVITY_HORIZON, timezone.now())
    return Q(started_at__lte=upper + buffer, ended_at__gte=start - buffer)


def _autolink_activity(activity: Activity) -> list[uuid.UUID]:
    """Link every recording of the participants that overlaps the window ± buffer."""
    officer_ids = list(
        ActivityOfficer.objects.filter(activity_id=activity.pk).values_list("officer_id", flat=True)
    )
    if not officer_ids:
        return []
    candidates = list(
        Recording.objects.filter(_overlap_q(activity.started_at, activity.stopped_at))
        .filter(officer_id__in=officer_ids)
        .exclude(state__in=NEVER_LINKED_STATES)
        .exclude(activity_links__activity_id=activity.pk)
        .values_list("pk", "officer_id")
    )
    links = [
        RecordingLink(
            activity_id=activity.pk, recording_id=pk, officer_id=officer_id, source=LinkSource.AUTO
        )
        for pk, officer_id in candidates
    ]
    created = RecordingLink.objects.bulk_create(links, ignore_conflicts=True)
    _audit_auto_links((activity.pk, link.recording_id, link.officer_id) for link in created)
    return [link.recording_id for link in created]


def _audit_auto_links(links: Iterable[tuple[uuid.UUID, object, int | None]]) -> None:
    """One `coverage.link_added` event per new automatic link (activity, recording,
    officer), appended to the audit chain in one go."""
    audit_record_many(
        AuditEntry(
            actor=Actor.system(),
            action="coverage.link_added",
            object_type="activity",
            object_id=activity_id,
            data={
                "recording_id": str(recording_id),
                "officer_id": officer_id,
                "source": LinkSource.AUTO,
            },
        )
        for activity_id, recording_id, officer_id in links
    )


def _audit_links_removed(links: Iterable[RecordingLink], *, reason: str) -> None:
    audit_record_many(
        AuditEntry(
            actor=Actor.system(),
            action="coverage.link_removed",
            object_type="activity",
            object_id=link.activity_id,
            data={"recording_id": str(link.recording_id), "reason": reason},
        )
        for link in links
    )


def _linked_and_overlapped(
    recording: Recording, *, look_for_new: bool
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(activities the recording is linked to, activities its officer took part in whose
    window ± buffer it overlaps; an open activity counts up to OPEN_ACTIVITY_HORIZON after
    its start) in one round trip: this runs for every stored recording."""
    buffer = link_buffer()
    if connection.vendor != "postgresql":
        return _linked_and_overlapped_portable(recording, look_for_new=look_for_new)
    params: list[Any] = [recording.pk]
    sql = f"""
        SELECT activity_id, true FROM {RecordingLink._meta.db_table} WHERE recording_id = %s
    """  # noqa: S608 - table names are ours, values are parameters
    if look_for_new and recording.officer_id is not None:
        sql += f"""
        UNION ALL
        SELECT participant.activity_id, false
          FROM {ActivityOfficer._meta.db_table} AS participant
          JOIN {Activity._meta.db_table} AS activity ON activity.id = participant.activity_id
         WHERE participant.officer_id = %s
           AND activity.started_at <= %s
           AND (activity.stopped_at >= %s
                OR (activity.stopped_at IS NULL AND activity.started_at >= %s))
        """  # noqa: S608
        params += [
            recording.officer_id,
            recording.ended_at + buffer,
            recording.started_at - buffer,
            recording.started_at - OPEN_ACTIVITY_HORIZON - buffer,
        ]
    linked: set[uuid.UUID] = set()
    overlapped: set[uuid.UUID] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for activity_id, is_link in cursor.fetchall():
            (linked if is_link else overlapped).add(activity_id)
    return linked, overlapped


# -- portable paths ---------------------------------------------------------------------------
# The statements above use PostgreSQL (unnest, uuid[] parameters, GREATEST, one round trip).
# The embedded default runs on SQLite, which serialises writers: there the same results come
# from the ORM in a few more queries. Both are exercised by the tests (the SQLite ones in
# tests/coverage_integration/test_sqlite_paths.py).


def _linked_and_overlapped_portable(
    recording: Recording, *, look_for_new: bool
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    buffer = link_buffer()
    linked = _linked_activities(recording.pk)
    overlapped: set[uuid.UUID] = set()
    if look_for_new and recording.officer_id is not None:
        overlapped = set(
            ActivityOfficer.objects.filter(
                officer_id=recording.officer_id,
                activity__started_at__lte=recording.ended_at + buffer,
            )
            .filter(
                Q(activity__stopped_at__gte=recording.started_at - buffer)
                | Q(
                    activity__stopped_at__isnull=True,
                    activity__started_at__gte=recording.started_at - OPEN_ACTIVITY_HORIZON - buffer,
                )
            )
            .values_list("activity_id", flat=True)
        )
    return linked, overlapped


def _insert_new_auto_links(candidates: list[RecordingLink]) -> list[RecordingLink]:
    """Insert the candidate links that do not exist yet; return exactly those inserted.
    Runs inside the caller's transaction, where SQLite's single writer makes the check
    and the insert one step."""
    if not candidates:
        return []
    existing = set(
        RecordingLink.objects.filter(
            activity_id__in={c.activity_id for c in candidates},
            recording_id__in={c.recording_id for c in candidates},
        ).values_list("activity_id", "recording_id")
    )
    new = [c for c in candidates if (c.activity_id, c.recording_id) not in existing]
    RecordingLink.objects.bulk_create(new)
    return new


def _add_auto_links_portable(recording: Recording, wanted: list[uuid.UUID]) -> list[uuid.UUID]:
    created = _insert_new_auto_links(
        [
            RecordingLink(
                activity_id=activity_id,
                recording_id=recording.pk,
                officer_id=recording.officer_id,
                source=LinkSource.AUTO,
            )
            for activity_id in wanted
        ]
    )
    return [link.activity_id for link in created]


def _autolink_chunk_portable(
    activities: list[Activity], now: datetime.datetime
) -> list[tuple[uuid.UUID, uuid.UUID, int | None]]:
    buffer = link_buffer()
    officers_of: dict[uuid.UUID, list[int]] = defaultdict(list)
    for activity_id, officer_id in ActivityOfficer.objects.filter(
        activity_id__in=[a.pk for a in activities]
    ).values_list("activity_id", "officer_id"):
        officers_of[activity_id].append(officer_id)
    candidates: list[RecordingLink] = []
    for activity in activities:
        if not officers_of[activity.pk]:
            continue
        window_end = activity.stopped_at or max(activity.started_at + OPEN_ACTIVITY_HORIZON, now)
        for recording_id, officer_id in (
            Recording.objects.filter(
                officer_id__in=officers_of[activity.pk],
                started_at__lte=window_end + buffer,
                ended_at__gte=activity.started_at - buffer,
            )
            .exclude(state__in=list(NEVER_LINKED_STATES))
            .values_list("pk", "officer_id")
        ):
            candidates.append(
                RecordingLink(
                    activity_id=activity.pk,
                    recording_id=recording_id,
                    officer_id=officer_id,
                    source=LinkSource.AUTO,
                )
            )
    created = _insert_new_auto_links(candidates)
    return [(link.activity_id, link.recording_id, link.officer_id) for link in created]


def _linked_activities(recording_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        RecordingLink.objects.filter(recording_id=recording_id).values_list(
            "activity_id", flat=True
        )
    )


def _lock_activities(activity_ids: Iterable[uuid.UUID]) -> list[Activity]:
    """Lock in primary-key order, before any link row is touched: every path that changes
    links (close, store, correction, manual) takes the activity locks first, in this
    order, so they cannot deadlock on each other's link rows."""
    ids = set(activity_ids)
    if not ids:
        return []
    return list(_activities_locked().filter(pk__in=ids).order_by("pk"))


def _add_auto_links_postgresql(recording: Recording, wanted: list[uuid.UUID]) -> list[uuid.UUID]:
    table = RecordingLink._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (activity_id, recording_id, officer_id, source, excluded, reason,
                 changed_by_id, created_at, updated_at)
            SELECT wanted.id, %s, %s, %s, false, '', NULL, now(), now()
              FROM unnest(%s::uuid[]) AS wanted(id)
            ON CONFLICT (activity_id, recording_id) DO NOTHING
            RETURNING activity_id
            """,  # noqa: S608 - the table name is ours, values are parameters
            [recording.pk, recording.officer_id, LinkSource.AUTO, wanted],
        )
        return [row[0] for row in cursor.fetchall()]


def _add_auto_links(recording: Recording, activity_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Insert the automatic links that do not exist yet and audit exactly those (one
    statement: ON CONFLICT DO NOTHING RETURNING tells which rows are new)."""
    wanted = sorted(set(activity_ids), key=str)
    if not wanted:
        return []
    if connection.vendor != "postgresql":
        new = _add_auto_links_portable(recording, wanted)
    else:
        new = _add_auto_links_postgresql(recording, wanted)
    _audit_auto_links((activity_id, recording.pk, recording.officer_id) for activity_id in new)
    return new


def _autolink_chunk(activities: list[Activity], now: datetime.datetime) -> list[tuple[Any, ...]]:
    """Link, in one statement, every recording of the participants of ``activities``
    that overlaps the activity's window ± buffer and has no link (or exclusion) to it
    yet. Returns the new links (activity_id, recording_id, officer_id)."""
    if not activities:
        return []
    if connection.vendor != "postgresql":
        return _autolink_chunk_portable(activities, now)
    buffer = link_buffer()
    link_table = RecordingLink._meta.db_table
    params: list[Any] = [
        LinkSource.AUTO,
        [activity.pk for activity in activities],
        OPEN_ACTIVITY_HORIZON,
        now,
        buffer,
        buffer,
        list(NEVER_LINKED_STATES),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {link_table}
                (activity_id, recording_id, officer_id, source, excluded, reason,
                 changed_by_id, created_at, updated_at)
            SELECT activity.id, recording.id, recording.officer_id, %s, false, '', NULL,
                   now(), now()
              FROM {Activity._meta.db_table} AS activity
              JOIN {ActivityOfficer._meta.db_table} AS participant
                ON participant.activity_id = activity.id
              JOIN {Recording._meta.db_table} AS recording
                ON recording.officer_id = participant.officer_id
             WHERE activity.id = ANY(%s::uuid[])
               AND recording.started_at <= COALESCE(
                       activity.stopped_at,
                       GREATEST(activity.started_at + %s, %s)) + %s
               AND recording.ended_at >= activity.started_at - %s
               AND NOT (recording.state = ANY(%s))
               AND NOT EXISTS (SELECT 1 FROM {link_table} AS link
                                WHERE link.activity_id = activity.id
                                  AND link.recording_id = recording.id)
            ON CONFLICT (activity_id, recording_id) DO NOTHING
            RETURNING activity_id, recording_id, officer_id
            """,  # noqa: S608 - table names are ours, values are parameters
            params,
        )
        return list(cursor.fetchall())


def _evaluate_all(activities: Iterable[Activity]) -> list[uuid.UUID]:
    now = timezone.now()
    done = []
    for activity in activities:
        _evaluate_locked(activity, as_of=now)
        done.append(activity.pk)
    return done
