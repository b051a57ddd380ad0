"""Benchmark: the public site's decisions index with 10,000 published items, on one core.

    /work/main/.venv/bin/python tests/bench/bench_public_site.py [--items 10000] [--seconds 10]
        [--concurrency 8]

Seeds `--items` published items (bulk, in the bench database), starts one uvicorn worker
(one core) and measures requests per second for `/public/` (the first page of the index,
newest first, keyset) and `/public/?category=penalty&q=…` (a filtered search), each against
the same-run reference: a static file (`/static/review/review.css`) served by the same
server process. Prints each figure beside the reference and their ratio (aim: ≥ 0.5).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tablet_bench_common import Server, django_setup, make_bureau


def seed(items: int) -> None:
    from django.utils import timezone

    from backend.publication.models import PublicItem

    existing = PublicItem.objects.filter(state="published", source="bench").count()
    if existing >= items:
        return
    unit = make_bureau(f"基准县司法局-{uuid.uuid4().hex[:6]}")
    now = timezone.now()
    rows = []
    for i in range(existing, items):
        at = now - datetime.timedelta(minutes=i)
        rows.append(
            PublicItem(
                source="bench",
                source_key=f"{i}-{uuid.uuid4().hex[:6]}",
                unit=unit,
                category=("penalty", "check", "inspection")[i % 3],
                title=f"第{i}号案",
                party_kind="natural",
                party_name=f"张{i}",
                fields=[],
                decided_on=at.date(),
                publish_by=at.date(),
                state="published",
                public_title=f"张某违法执业案行政处罚决定（第{i}号）",
                public_party="张某",
                public_fields=[["处罚结果", "警告"], ["违法事实", "未取得执业证代理诉讼" * 3]],
                public_search=f"张某违法执业案 第{i}号 警告",
                published_at=at,
                takedown_on=at.date().replace(year=at.year + 2),
            )
        )
    PublicItem.objects.bulk_create(rows, batch_size=2000)


def rate(base: str, path: str, seconds: float, concurrency: int) -> float:
    import httpx

    done = [0] * concurrency
    errors = [0]
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.monotonic() < stop:
                response = client.get(path)
                if response.status_code != 200:
                    errors[0] += 1
                done[index] += 1

    # Warm up (first request of each worker process loads templates, connections).
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(5):
            client.get(path)
    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors[0]:
        raise RuntimeError(f"{path}: {errors[0]} non-200 answers")
    return sum(done) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-public-"))
    django_setup(work)
    seed(args.items)
    from backend.publication.models import PublicItem

    published = PublicItem.objects.filter(state="published").count()
    print(f"published items: {published}")
    with Server(work, workers=1) as server:
        reference = rate(server.url, "/static/review/review.css", args.seconds, args.concurrency)
        for path in ("/public/", "/public/?category=penalty&q=%E8%AD%A6%E5%91%8A"):
            figure = rate(server.url, path, args.seconds, args.concurrency)
            print(
                f"{path}: {figure:.0f} req/s; reference static file: {reference:.0f} req/s; "
                f"ratio {figure / reference:.2f}"
            )


if __name__ == "__main__":
    main()
