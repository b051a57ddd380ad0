"""Benchmark: a tablet back after a week offline pulls its office (500 subjects).

    .venv/bin/python tests/bench/bench_tablet_pull.py [--subjects 500] [--per-subject 2]
        [--limit 500] [--workers 1]

Seeds one justice office with `--subjects` subjects (each with a weekly/monthly/quarterly
schedule) and two tablets. Tablet A pulls everything, then goes offline; tablet B logs a
week of work through the push protocol (in-process): `--per-subject` contacts per subject
on average (check-ins, visits, talks, phone reports spread over 7 days), plus edits of 5 %
and deletes of 1 % of them. Then, against a real uvicorn server on PostgreSQL, tablet A
pulls from its old cursor page by page (`--limit`). Figures: wall time of the catch-up,
pages, records, payload bytes (raw JSON as sent; gzip size for reference), and the same-run
references: a trivial authenticated GET (a pull at the head cursor, median of 20) and the
first full pull of the office (cursor 0).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tablet_bench_common import Server, django_setup, make_bureau, seed_office

KINDS = ["check_in", "home_visit", "talk", "phone_report"]


def contact(subject_id: str, when: datetime.datetime, kind: str, notes: str) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "started_at": when.isoformat(),
        "ended_at": (when + datetime.timedelta(minutes=20)).isoformat(),
        "place": "青山镇司法所" if kind == "check_in" else "矫正对象居所",
        "latitude": 30.0 + random.random() / 100,
        "longitude": 120.0 + random.random() / 100,
        "notes": notes,
        "identity_method": "face" if kind == "check_in" else "",
    }


def a_week_of_work(token: str, subject_ids: list[str], per_subject: float) -> dict[str, int]:
    """Tablet B pushes a week of contacts, then edits and deletes some (in-process)."""
    from backend.devices.services import device_authenticate
    from sync.records.services import Mutation, records_push

    device = device_authenticate(token=token)
    assert device is not None
    now = datetime.datetime.now(datetime.UTC)
    total = int(len(subject_ids) * per_subject)
    created: list[tuple[Mutation, int]] = []
    pending: list[Mutation] = []

    def flush() -> None:
        if not pending:
            return
        answer = records_push(
            device=device, device_time=datetime.datetime.now(datetime.UTC), mutations=list(pending)
        )
        for m, r in zip(pending, answer.results, strict=True):
            assert r["status"] == "applied", r
            if m.op == "put" and m.base_version is None:
                created.append((m, r["version"]))
        pending.clear()

    for _ in range(total):
        kind = random.choice(KINDS)
        when = now - datetime.timedelta(minutes=random.randint(60, 7 * 24 * 60))
        pending.append(
            Mutation(
                uuid.uuid4(),
                "put",
                kind,
                uuid.uuid4(),
                None,
                contact(
                    random.choice(subject_ids), when, kind, "思想稳定，按规定报告活动情况。" * 2
                ),
            )
        )
        if len(pending) == 200:
            flush()
    flush()
    edits = random.sample(created, len(created) // 20)
    for m, version in edits:
        pending.append(
            Mutation(
                uuid.uuid4(),
                "put",
                m.kind,
                m.record_id,
                version,
                {**m.data, "notes": m.data["notes"] + "（补充）"},
            )
        )
        if len(pending) == 200:
            flush()
    flush()
    from sync.records.models import SyncRecord

    deletes = random.sample(created, len(created) // 100)
    for m, _version in deletes:
        current = SyncRecord.objects.get(pk=m.record_id).version
        pending.append(Mutation(uuid.uuid4(), "delete", m.kind, m.record_id, current, {}))
    flush()
    return {"contacts": total, "edits": len(edits), "deletes": len(deletes)}


def pull_all(client: Any, token: str, cursor: str, limit: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    pages = records = size = 0
    raw = bytearray()
    t0 = time.perf_counter()
    more = True
    while more:
        r = client.get(
            "/api/sync/v1/records/pull", headers=headers, params={"cursor": cursor, "limit": limit}
        )
        r.raise_for_status()
        body = r.json()
        pages += 1
        records += len(body["records"])
        size += len(r.content)
        raw += r.content
        cursor, more = body["cursor"], body["more"]
    return {
        "seconds": time.perf_counter() - t0,
        "pages": pages,
        "records": records,
        "bytes": size,
        "gzip_bytes": len(gzip.compress(bytes(raw))),
        "cursor": cursor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=500)
    parser.add_argument("--per-subject", type=float, default=2.0)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    import httpx

    work = Path(tempfile.mkdtemp(prefix="fv-bench-pull-", dir="/var/tmp"))
    django_setup(work)
    run_id = uuid.uuid4().hex[:6]
    t0 = time.perf_counter()
    office = seed_office(
        bureau=make_bureau(f"基准司法局-{run_id}"),
        name=f"基准司法所-{run_id}",
        subjects=args.subjects,
        tablets=2,
    )
    print(f"seeded an office with {args.subjects} subjects in {time.perf_counter() - t0:.1f} s")
    token_a, token_b = office.tokens
    with (
        Server(work, args.workers) as server,
        httpx.Client(base_url=server.url, timeout=300) as client,
    ):
        first = pull_all(client, token_a, "0", args.limit)
        t0 = time.perf_counter()
        week = a_week_of_work(token_b, office.subject_ids, args.per_subject)
        print(f"a week of work by a colleague: {week} (pushed in {time.perf_counter() - t0:.1f} s)")
        head = {"Authorization": f"Bearer {token_a}"}
        trivial = []
        for _ in range(20):
            t1 = time.perf_counter()
            client.get(
                "/api/sync/v1/records/pull",
                headers=head,
                params={"cursor": "9999999999", "limit": 1},
            ).raise_for_status()
            trivial.append(time.perf_counter() - t1)
        catch_up = pull_all(client, token_a, first["cursor"], args.limit)
        full = pull_all(client, token_a, "0", args.limit)
    reference = statistics.median(trivial)
    print(
        f"week-offline catch-up: {catch_up['records']} records in {catch_up['pages']} pages, "
        f"{catch_up['seconds'] * 1000:.0f} ms, {catch_up['bytes'] / 1e6:.2f} MB JSON "
        f"({catch_up['gzip_bytes'] / 1e6:.2f} MB gzipped)"
    )
    print(
        f"reference, trivial authenticated GET (median of 20): {reference * 1000:.1f} ms; "
        f"ratio {catch_up['seconds'] / reference:.0f}x "
        f"({catch_up['seconds'] / catch_up['pages'] * 1000:.0f} ms per page of {args.limit})"
    )
    print(
        f"reference, first sync of the office before the week: {first['records']} records, "
        f"{first['pages']} pages, {first['seconds'] * 1000:.0f} ms, {first['bytes'] / 1e6:.2f} MB"
    )
    print(
        f"full re-sync from cursor 0 after the week: {full['records']} records, "
        f"{full['pages']} pages, {full['seconds'] * 1000:.0f} ms, {full['bytes'] / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
