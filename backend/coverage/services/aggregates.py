"""The monthly coverage figures kept current (UnitMonth, OfficerMonth) and their proof.

A verdict counts in the row of its activity's unit and start month (Asia/Shanghai), per
officer in the row of (month, activity's unit, officer). The counts are those of
``coverage_core.evaluation.monthly_figures`` that are sums (activities, required,
recorded, decided, compliant, undecidable, explained, late start, early stop, activities
with gaps, gaps); the rates are divided on the page. The median gap is not a sum: it stays
in the exports, which read the evaluations for their period.

Kept current by :func:`monthly_counts_follow` around every write of the inputs, in the
writer's transaction, with the activities locked: it reads what the activities counted
before (from the evaluation's own ``counted_month``/``counted_unit``, so an activity moved
to another unit or month leaves its old row), lets the writer change them, reads what they
count after, and adds the difference (``INSERT … ON CONFLICT DO UPDATE SET n = n + …``, in
key order so that concurrent writers never deadlock). A re-verdict thus moves one count
from one bucket to another; an accepted explanation adds to ``explained``. The writers: the
one-by-one and bulk re-checks (``evaluation._store``, ``rechecks._recheck_chunk``) and the
explanation decision (``manual.explanation_decide``).

:func:`recount` counts the same figures from the raw rows in one grouped query per table
(independently of the incremental path: the proof compares two computations);
:func:`monthly_counts_check` and :func:`monthly_counts_rebuild` compare and replace
(``manage.py aggregates_rebuild [--check]``).
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Func, IntegerField
from django.utils import timezone

from backend.coverage.models import (
    CoverageEvaluation,
    ExplanationState,
    GapExplanation,
    OfficerCoverage,
    OfficerMonth,
    UnitMonth,
)
from coverage_core.evaluation import Verdict

FIGURES = (
    "activities",
    "required",
    "recorded",
    "decided",
    "compliant",
    "undecidable",
    "explained",
    "late_start",
    "early_stop",
    "with_gaps",
    "gap_count",
)
Vector = tuple[int, ...]
UnitKey = tuple[Any, ...]  # month (a date), unit id
OfficerKey = tuple[Any, ...]  # month, unit id (the activity's), officer id
ZERO: Vector = (0,) * len(FIGURES)


def month_of(moment: datetime.datetime) -> datetime.date:
    """The first day of the moment's month in the local zone (Asia/Shanghai)."""
    return timezone.localtime(moment).date().replace(day=1)


def counts(
    verdict: str, recorded: bool, late: bool, early: bool, holes: int, explained: bool
) -> Vector:
    """What one verdict adds to its month, in the order of FIGURES (the rules of
    ``monthly_figures``: ``not_required`` counts in ``activities`` only; ``undecidable``
    is required but not decided; explained = decided, not compliant, explanation
    accepted)."""
    if verdict == Verdict.NOT_REQUIRED:
        return (1,) + (0,) * (len(FIGURES) - 1)
    undecidable = verdict == Verdict.UNDECIDABLE
    compliant = verdict == Verdict.COMPLIANT
    return (
        1,
        1,
        int(recorded),
        int(not undecidable),
        int(compliant),
        int(undecidable),
        int(explained and not undecidable and not compliant),
        int(late),
        int(early),
        int(holes > 0),
        holes,
    )


def _add(a: Vector, b: Vector, sign: int = 1) -> Vector:
    return tuple(x + sign * y for x, y in zip(a, b, strict=True))


@dataclass
class Counts:
    units: dict[UnitKey, Vector] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    officers: dict[OfficerKey, Vector] = field(default_factory=lambda: defaultdict(lambda: ZERO))

    def minus(self, other: Counts) -> Counts:
        out = Counts()
        for mine, theirs, target in (
            (self.units, other.units, out.units),
            (self.officers, other.officers, out.officers),
        ):
            for key in set(mine) | set(theirs):
                delta = _add(mine.get(key, ZERO), theirs.get(key, ZERO), -1)
                if any(delta):
                    target[key] = delta
        return out


class JsonLength(Func):
    function = "jsonb_array_length"
    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="json_array_length", **extra)


def accepted_explanations(activity_ids: Collection[uuid.UUID]) -> set[tuple[uuid.UUID, int]]:
    """(activity, officer) of every accepted explanation of these activities (one query)."""
    if not activity_ids:
        return set()
    return set(
        GapExplanation.objects.filter(activity_id__in=activity_ids, state=ExplanationState.ACCEPTED)
        .order_by()  # not the model's ordering (a join to the activity and a sort)
        .values_list("activity_id", "officer_id")
    )


def contributions(
    activity_ids: Collection[uuid.UUID], accepted: set[tuple[uuid.UUID, int]] | None = None
) -> Counts:
    """What these activities' stored verdicts count now (one query, and one for the
    accepted explanations unless given)."""
    found = Counts()
    if not activity_ids:
        return found
    if accepted is None:
        accepted = accepted_explanations(activity_ids)
    explained_activities = {activity_id for activity_id, _officer in accepted}
    rows = (
        CoverageEvaluation.objects.filter(
            activity_id__in=activity_ids, counted_month__isnull=False, counted_unit__isnull=False
        )
        .annotate(
            holes=JsonLength("interior_gap_seconds"),
            officer_holes=JsonLength("officer_results__interior_gap_seconds"),
        )
        .values_list(
            "pk",
            "activity_id",
            "counted_month",
            "counted_unit_id",
            "verdict",
            "any_recording",
            "late_start",
            "early_stop",
            "holes",
            "officer_results__officer_id",
            "officer_results__recorded",
            "officer_holes",
        )
    )
    seen: set[int] = set()
    for (
        pk,
        activity_id,
        month,
        unit_id,
        verdict,
        recorded,
        late,
        early,
        holes,
        officer_id,
        officer_recorded,
        officer_holes,
    ) in rows:
        if pk not in seen:
            seen.add(pk)
            key = (month, unit_id)
            found.units[key] = _add(
                found.units[key],
                counts(verdict, recorded, late, early, holes, activity_id in explained_activities),
            )
        if officer_id is not None:
            okey = (month, unit_id, officer_id)
            found.officers[okey] = _add(
                found.officers[okey],
                counts(
                    verdict,
                    officer_recorded,
                    late,
                    early,
                    officer_holes,
                    (activity_id, officer_id) in accepted,
                ),
            )
    return found


def _upsert_sql(table: str, keys: tuple[str, ...], rows: int) -> str:
    columns = (*keys, *FIGURES)
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * rows)
    updates = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in FIGURES)
    # Table and column names are this module's constants; the values are parameters.
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


def apply(delta: Counts) -> None:
    """Add ``delta`` to the kept rows (in key order: concurrent writers lock rows in the
    same order and never deadlock)."""
    with connection.cursor() as cursor:
        for table, keys, items in (
            (UnitMonth._meta.db_table, ("month", "unit_id"), delta.units),
            (OfficerMonth._meta.db_table, ("month", "unit_id", "officer_id"), delta.officers),
        ):
            ordered = sorted(items.items())
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                params = [value for key, vector in chunk for value in (*key, *vector)]
                cursor.execute(_upsert_sql(table, keys, len(chunk)), params)


@contextmanager
def monthly_counts_follow(
    activity_ids: Collection[uuid.UUID], *, explanations_change: bool = False
) -> Iterator[None]:
    """Around a write of these activities' verdicts (or, with ``explanations_change``, of
    their explanations' decisions), inside the writer's transaction with the activities
    locked: the monthly rows follow the change. A verdict write reads the accepted
    explanations once (it does not change them): three queries and at most two upserts."""
    ids = list(activity_ids)
    accepted = accepted_explanations(ids)
    before = contributions(ids, accepted)
    yield
    after = accepted_explanations(ids) if explanations_change else accepted
    apply(contributions(ids, after).minus(before))


# ------------------------------------------------------------------ the proof

_FIGURE_SQL = """
    count(*),
    count(*) FILTER (WHERE verdict <> 'not_required'),
    count(*) FILTER (WHERE verdict <> 'not_required' AND rec),
    count(*) FILTER (WHERE verdict NOT IN ('not_required', 'undecidable')),
    count(*) FILTER (WHERE verdict = 'compliant'),
    count(*) FILTER (WHERE verdict = 'undecidable'),
    count(*) FILTER (
        WHERE verdict NOT IN ('not_required', 'undecidable', 'compliant') AND explained
    ),
    count(*) FILTER (WHERE verdict <> 'not_required' AND late),
    count(*) FILTER (WHERE verdict <> 'not_required' AND early),
    count(*) FILTER (WHERE verdict <> 'not_required' AND holes > 0),
    coalesce(sum(holes) FILTER (WHERE verdict <> 'not_required'), 0)
"""

UNIT_RECOUNT_SQL = f"""
SELECT month, unit_id, {_FIGURE_SQL} FROM (
    SELECT date_trunc('month', a.started_at AT TIME ZONE %(tz)s)::date AS month,
           a.unit_id, e.verdict, e.any_recording AS rec, e.late_start AS late,
           e.early_stop AS early, jsonb_array_length(e.interior_gap_seconds) AS holes,
           EXISTS (SELECT 1 FROM coverage_gapexplanation x
                   WHERE x.activity_id = e.activity_id AND x.state = 'accepted') AS explained
    FROM coverage_coverageevaluation e JOIN enforcement_activity a ON a.id = e.activity_id
) s GROUP BY month, unit_id
"""  # noqa: S608

OFFICER_RECOUNT_SQL = f"""
SELECT month, unit_id, officer_id, {_FIGURE_SQL} FROM (
    SELECT date_trunc('month', a.started_at AT TIME ZONE %(tz)s)::date AS month,
           a.unit_id, o.officer_id, e.verdict, o.recorded AS rec, e.late_start AS late,
           e.early_stop AS early, jsonb_array_length(o.interior_gap_seconds) AS holes,
           EXISTS (SELECT 1 FROM coverage_gapexplanation x
                   WHERE x.activity_id = e.activity_id AND x.officer_id = o.officer_id
                     AND x.state = 'accepted') AS explained
    FROM coverage_officercoverage o
    JOIN coverage_coverageevaluation e ON e.id = o.evaluation_id
    JOIN enforcement_activity a ON a.id = e.activity_id
) s GROUP BY month, unit_id, officer_id
"""  # noqa: S608


def recount() -> Counts:
    """The figures counted from the raw rows (evaluations, officers' parts, accepted
    explanations, the activities' current unit and start month): one grouped query per
    table on PostgreSQL, the rows read one by one on SQLite (the embedded database)."""
    if connection.vendor != "postgresql":
        return _recount_rows()
    found = Counts()
    with connection.cursor() as cursor:
        cursor.execute(UNIT_RECOUNT_SQL, {"tz": settings.TIME_ZONE})
        for month, unit_id, *vector in cursor.fetchall():
            found.units[(month, unit_id)] = tuple(int(v) for v in vector)
        cursor.execute(OFFICER_RECOUNT_SQL, {"tz": settings.TIME_ZONE})
        for month, unit_id, officer_id, *vector in cursor.fetchall():
            found.officers[(month, unit_id, officer_id)] = tuple(int(v) for v in vector)
    return found


def _recount_rows() -> Counts:
    found = Counts()
    accepted = set(
        GapExplanation.objects.filter(state=ExplanationState.ACCEPTED)
        .order_by()
        .values_list("activity_id", "officer_id")
    )
    explained = {activity_id for activity_id, _officer in accepted}
    verdicts = (
        CoverageEvaluation.objects.annotate(holes=JsonLength("interior_gap_seconds"))
        .values_list(
            "activity_id",
            "activity__started_at",
            "activity__unit_id",
            "verdict",
            "any_recording",
            "late_start",
            "early_stop",
            "holes",
        )
        .iterator(chunk_size=5000)
    )
    for activity_id, started, unit_id, verdict, recorded, late, early, holes in verdicts:
        key = (month_of(started), unit_id)
        found.units[key] = _add(
            found.units[key],
            counts(verdict, recorded, late, early, holes, activity_id in explained),
        )
    parts = (
        OfficerCoverage.objects.annotate(holes=JsonLength("interior_gap_seconds"))
        .values_list(
            "evaluation__activity_id",
            "evaluation__activity__started_at",
            "evaluation__activity__unit_id",
            "officer_id",
            "evaluation__verdict",
            "recorded",
            "evaluation__late_start",
            "evaluation__early_stop",
            "holes",
        )
        .iterator(chunk_size=5000)
    )
    for activity_id, started, unit_id, officer_id, verdict, recorded, late, early, holes in parts:
        okey = (month_of(started), unit_id, officer_id)
        found.officers[okey] = _add(
            found.officers[okey],
            counts(verdict, recorded, late, early, holes, (activity_id, officer_id) in accepted),
        )
    return found


def kept() -> Counts:
    """The maintained rows (all-zero rows left by moves are no figures)."""
    found = Counts()
    for month, unit_id, *vector in UnitMonth.objects.values_list("month", "unit_id", *FIGURES):
        if any(vector):
            found.units[(month, unit_id)] = tuple(vector)
    for month, unit_id, officer_id, *vector in OfficerMonth.objects.values_list(
        "month", "unit_id", "officer_id", *FIGURES
    ):
        if any(vector):
            found.officers[(month, unit_id, officer_id)] = tuple(vector)
    return found


@dataclass(frozen=True)
class Difference:
    table: str  # "unit_month" | "officer_month"
    key: tuple[object, ...]
    kept: dict[str, int]
    recounted: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "table": self.table,
            "key": [k.isoformat() if isinstance(k, datetime.date) else k for k in self.key],
            "kept": self.kept,
            "recounted": self.recounted,
        }


def differences(kept_counts: Counts, recounted: Counts) -> list[Difference]:
    found = []
    for table, mine, truth in (
        ("unit_month", kept_counts.units, recounted.units),
        ("officer_month", kept_counts.officers, recounted.officers),
    ):
        for key in sorted(set(mine) | set(truth)):
            have, want = mine.get(key, ZERO), truth.get(key, ZERO)
            if have != want:
                found.append(
                    Difference(
                        table,
                        tuple(key),
                        dict(zip(FIGURES, have, strict=True)),
                        dict(zip(FIGURES, want, strict=True)),
                    )
                )
    return found


def _lock(mode: str) -> None:
    """Writers wait while the rows are compared or replaced (SQLite: one writer anyway)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"LOCK TABLE {UnitMonth._meta.db_table}, {OfficerMonth._meta.db_table} IN {mode} MODE"
        )


def monthly_counts_check() -> tuple[list[Difference], int]:
    """Compare the kept rows with a recount (writers wait meanwhile); (differences, rows
    recounted). Also a difference: an evaluation counted elsewhere than where its activity
    now is (moved without a re-check) shows as two rows that disagree."""
    with transaction.atomic():
        _lock("SHARE")
        truth = recount()
        return differences(kept(), truth), len(truth.units) + len(truth.officers)


def monthly_counts_rebuild() -> tuple[list[Difference], int]:
    """Replace the kept rows with a recount and re-anchor every evaluation on its
    activity's current unit and month; (the differences found before, rows written)."""
    with transaction.atomic():
        _lock("EXCLUSIVE")
        _reanchor()
        truth = recount()
        found = differences(kept(), truth)
        UnitMonth.objects.all().delete()
        OfficerMonth.objects.all().delete()
        apply(truth)
    return found, len(truth.units) + len(truth.officers)


def _reanchor() -> None:
    """Every evaluation counted where its activity now is."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE coverage_coverageevaluation e
                SET counted_unit_id = a.unit_id,
                    counted_month = date_trunc('month', a.started_at AT TIME ZONE %(tz)s)::date
                FROM enforcement_activity a
                WHERE a.id = e.activity_id AND (
                    e.counted_unit_id IS DISTINCT FROM a.unit_id OR e.counted_month IS DISTINCT
                    FROM date_trunc('month', a.started_at AT TIME ZONE %(tz)s)::date)
                """,
                {"tz": settings.TIME_ZONE},
            )
        return
    for pk, started, unit_id, month, counted_unit in CoverageEvaluation.objects.values_list(
        "pk", "activity__started_at", "activity__unit_id", "counted_month", "counted_unit_id"
    ).iterator(chunk_size=5000):
        if (month, counted_unit) != (month_of(started), unit_id):
            CoverageEvaluation.objects.filter(pk=pk).update(
                counted_month=month_of(started), counted_unit_id=unit_id
            )
