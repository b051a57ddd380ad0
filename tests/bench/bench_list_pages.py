"""Every menu page at a county's and at a province's data size, on PostgreSQL (issue 26).

    FV_TEST_DB_SUFFIX=benchlist .venv/bin/python tests/bench/bench_list_pages.py \
        --county-fraction 1 --province-fraction 0.05 --samples 15

Builds a throw-away database (test_fieldvault_<suffix>), loads the county with
``scale_load`` (COPY), and crawls as each role: the dashboard, the activities and
recordings lists, their second (keyset) page, a filtered list, and the first detail page
of each list; ``--samples`` requests each, p50/p95. Beside each page its SQL alone: the
summed ``EXPLAIN (ANALYZE)`` execution time of the SELECTs the page ran (one request,
same run). Then it loads the province's fraction on top and crawls again as the
province's first bureau (and the system administrator, who sees everything), and prints
the growth county → province of each page's p50.

The generator's rows/s are printed beside plain ``COPY`` of the same recordings rows
(``COPY … TO STDOUT`` of the loaded table, then ``COPY … FROM STDIN`` into a copy of the
table with the same indexes): the same-run reference.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")
os.environ.setdefault("FV_TEST_DB_SUFFIX", "benchlist")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from backend.accounts.models import Role, User  # noqa: E402
from backend.wiring.scale_load import ScaleSize, scale_load  # noqa: E402

ROLES = (
    Role.SUPERVISOR,
    Role.LEGAL_OFFICER,
    Role.FIELD_OFFICER,
    Role.SYSTEM_ADMIN,
    Role.STORAGE_ADMIN,
    Role.AUDITOR,
)
EXECUTION = re.compile(r"Execution Time: ([0-9.]+) ms")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


SLOWEST: list[tuple[float, str, str]] = []  # (ms, page, plan) of SELECTs over 20 ms


def sql_alone_ms(client: Client, url: str) -> tuple[float, int]:
    """The summed EXPLAIN ANALYZE execution time of the page's SELECTs, and their count."""
    with CaptureQueriesContext(connection) as captured:
        client.get(url, follow=True)
    total = 0.0
    selects = 0
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            selects += 1
            cursor.execute(f"EXPLAIN (ANALYZE) {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            found = EXECUTION.search(plan)
            took = float(found.group(1)) if found else 0.0
            total += took
            if took > 20:
                SLOWEST.append((took, url, plan))
    return total, selects


def pages_for(client: Client) -> list[tuple[str, str]]:
    pages = [("dashboard", "/"), ("activities", "/activities/"), ("recordings", "/recordings/")]
    for name, url, detail in (
        ("activities", "/activities/", r'href="(/activities/[0-9a-f-]{36}/)"'),
        ("recordings", "/recordings/", r'href="(/recordings/[0-9a-f-]{36}/)"'),
    ):
        response = client.get(url, follow=True)
        page = response.content.decode()
        older = re.search(r'href="\?((?:[^"]*&amp;)?older=[^"]*)"', page)
        if older and response.redirect_chain == []:
            pages.append((f"{name} p2", f"{url}?{older.group(1).replace('&amp;', '&')}"))
        first = re.search(detail, page)
        if first:
            pages.append((f"{name.rstrip('s')} detail", first.group(1)))
    pages.append(("activities by officer", "/activities/?officer=人员000-001"))
    pages.append(("recordings 1 day", "/recordings/?from=2026-06-01&to=2026-06-01"))
    return pages


def crawl(prefix: str, samples: int) -> dict[tuple[str, str], float]:
    """Print p50/p95 per role and page; return the p50s."""
    medians: dict[tuple[str, str], float] = {}
    print(f"{'role':<15} {'page':<24} {'p50 ms':>8} {'p95 ms':>8} {'SQL ms':>8} {'SELECTs':>7}")
    for role in ROLES:
        user = User.objects.get(username=f"{prefix}-{role}")
        client = Client()
        client.force_login(user)
        for name, url in pages_for(client):
            client.get(url, follow=True)  # warm: session, caches
            timings = []
            for _ in range(samples):
                begun = time.perf_counter()
                response = client.get(url, follow=True)
                timings.append((time.perf_counter() - begun) * 1000)
            if response.status_code != 200:
                print(f"{role:<15} {name:<24} answers {response.status_code}")
                continue
            sql_ms, selects = sql_alone_ms(client, url)
            p50 = statistics.median(timings)
            medians[(role, name)] = p50
            print(
                f"{role:<15} {name:<24} {p50:8.1f} {percentile(timings, 0.95):8.1f} "
                f"{sql_ms:8.1f} {selects:7d}"
            )
    return medians


def plain_copy_reference(rows_expected: int) -> float:
    """Rows/s of plain COPY of the loaded recordings into a same-indexed copy of the table."""
    buffer = io.BytesIO()
    with connection.cursor() as wrapper:
        raw = wrapper.cursor
        with raw.copy("COPY footage_recording TO STDOUT") as copy:
            for chunk in copy:
                buffer.write(chunk)
        raw.execute("DROP TABLE IF EXISTS bench_recording_copy")
        raw.execute("CREATE TABLE bench_recording_copy (LIKE footage_recording INCLUDING INDEXES)")
        data = buffer.getvalue()
        begun = time.perf_counter()
        with raw.copy("COPY bench_recording_copy FROM STDIN") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
        seconds = time.perf_counter() - begun
        raw.execute("SELECT count(*) FROM bench_recording_copy")
        rows = raw.fetchone()[0]
        raw.execute("DROP TABLE bench_recording_copy")
    assert rows >= rows_expected
    return rows / seconds


def load(size: ScaleSize, prefix: str, seed: int) -> None:
    def progress(table: str, done: int, expected: int) -> None:
        sys.stderr.write(f"\r  {table} {done:,}/{expected:,}")
        sys.stderr.flush()

    report = scale_load(size, prefix=prefix, seed=seed, progress=progress)
    sys.stderr.write("\n")
    recordings_before = report.rows["recordings"]
    reference = plain_copy_reference(recordings_before)
    print(
        f"scale_load {prefix}: {report.total_rows:,} rows in {report.seconds:.1f} s = "
        f"{report.rows_per_second:,.0f} rows/s (all tables, Python row generation included); "
        f"plain COPY of the same recordings rows into a same-indexed table (every "
        f"recording in the database): {reference:,.0f} rows/s; ratio "
        f"{report.rows_per_second / reference:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--county-fraction", type=float, default=1.0)
    parser.add_argument("--province-fraction", type=float, default=0.05)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--skip-province", action="store_true")
    args = parser.parse_args()
    setup_test_environment()
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(
        f"database {name} (PostgreSQL {connection.cursor().connection.info.server_version}); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    try:
        county = ScaleSize.county().scaled(args.county_fraction)
        load(county, "county", 26)
        print(f"\n== county: {county}")
        at_county = crawl("county", args.samples)
        if args.skip_province:
            return
        province = ScaleSize.province(args.province_fraction)
        load(province, "prov", 2600)
        print(f"\n== province x{args.province_fraction}: {province} (plus the county above)")
        print(f"load average {os.getloadavg()[0]:.1f}")
        at_province = crawl("prov", args.samples)
        print("\n== growth county -> province (p50 ratio, same role and page)")
        worst = 0.0
        for key, before in at_county.items():
            after = at_province.get(key)
            if after is None:
                continue
            ratio = after / before
            worst = max(worst, ratio)
            print(f"{key[0]:<15} {key[1]:<24} {before:8.1f} -> {after:8.1f} ms  x{ratio:.2f}")
        print(f"worst growth x{worst:.2f} (aim <= 1.5)")
    finally:
        for took, url, plan in sorted(SLOWEST, reverse=True)[:3]:
            print(f"slow SELECT {took:.1f} ms on {url}:\n{plan}")
        creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
