"""Page-load medians of every role's menu pages in Chromium, beside the sign-in page's (issue 16,
"Done when": same-run reference, the sign-in page).

    FV_TEST_DB_SUFFIX=benchpages /work/main/.venv/bin/python tests/bench/bench_role_pages.py \
        [--samples 3] [--county-fraction 0.05]

Builds a throw-away database (test_fieldvault_<suffix>), loads the demo (`demo_load`: the
seven demo users and their work) and, with ``--county-fraction``, a county's data at that
fraction (``scale_load``: 20,000 activities and 80,000 recordings at 1.0) whose seven users
are measured too. Starts uvicorn on that database and, in Debian's Chromium, signs in as
each user, reads the menu the user is shown and loads every page of it ``--samples`` times:
the figure is the median navigation load time (``loadEventEnd`` of the Navigation Timing
entry: request, server, HTML, CSS, scripts, until the load event). The reference is the
sign-in page, loaded by an anonymous tab once after each page measured (interleaved, so both
see the same machine load); each page is printed beside the reference's median as a ratio.
Writes test-artifacts/role-page-loads.json. About 100 pages for the demo's seven users
(~2 min on 2 busy cores); the county's users add about as many.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")
os.environ.setdefault("FV_TEST_DB_SUFFIX", "benchpages")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from backend.accounts.models import Role, User  # noqa: E402
from ops.ports import free_port  # noqa: E402

PASSWORD = "bench-pages-Pa55"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
LOAD_MS = (
    "() => { const n = performance.getEntriesByType('navigation')[0];"
    " return n.loadEventEnd - n.startTime; }"
)


def serve(database: str) -> tuple[subprocess.Popen[bytes], str]:
    settings = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.test",
        "FV_TEST_DATABASE_URL": (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{database}"
        ),
        "FV_SERVE_STATIC": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.config.asgi:application",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/accounts/login/", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("uvicorn did not start")
        time.sleep(0.3)


def load_ms(page: Any, url: str) -> float:
    response = page.goto(url)
    if response is None or response.status != 200:
        raise RuntimeError(f"{url}: {response.status if response else 'no response'}")
    page.wait_for_load_state("load")
    return float(page.evaluate(LOAD_MS))


def measure(base: str, usernames: list[str], samples: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    medians: dict[str, dict[str, float]] = {}
    sign_in: list[float] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        anonymous = chromium.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        reference = anonymous.new_page()
        load_ms(reference, base + "/accounts/login/")  # warm
        for username in usernames:
            context = chromium.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.goto(base + "/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_url(base + "/")
            links = page.evaluate(
                "() => [...document.querySelectorAll('#site-menu .main-nav a')]"
                ".map(a => a.getAttribute('href'))"
            )
            rows: dict[str, float] = {}
            for href in dict.fromkeys(links):
                try:
                    timings = [load_ms(page, base + href) for _ in range(samples)]
                except RuntimeError as error:
                    print(f"{username:<28} {href:<34} {error}")
                    continue
                # The reference, interleaved: one sign-in page load per page measured.
                sign_in.append(load_ms(reference, base + "/accounts/login/"))
                rows[href] = round(statistics.median(timings), 1)
            medians[username] = rows
            context.close()
        chromium.close()
    reference_ms = statistics.median(sign_in)
    print(f"sign-in page (reference): median {reference_ms:.1f} ms over {len(sign_in)} loads")
    print(f"{'user':<28} {'page':<34} {'median ms':>9} {'ratio':>6}")
    figures: dict[str, Any] = {"sign-in (reference)": {"median_ms": round(reference_ms, 1)}}
    for username, rows in medians.items():
        figures[username] = {}
        for href, median in rows.items():
            ratio = round(median / reference_ms, 2)
            figures[username][href] = {"median_ms": median, "ratio_to_sign_in": ratio}
            print(f"{username:<28} {href:<34} {median:9.1f} {ratio:6.2f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--county-fraction", type=float, default=0.0)
    args = parser.parse_args()
    setup_test_environment()
    creation = connection.creation
    name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(
        f"database {name}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
        f"{args.samples} samples per page"
    )
    process = None
    # A SIGTERM (e.g. `timeout`) still stops the server and drops the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        began = time.monotonic()
        roster = ROOT / "mobile_contract" / "examples" / "officers.csv"
        with open(os.devnull, "w") as quiet:
            call_command("demo_load", roster=roster, password=PASSWORD, stdout=quiet)
        usernames = [f"demo-{role.replace('_', '-')}" for role in Role.values]
        if args.county_fraction > 0:
            from backend.wiring.scale_load import ScaleSize, scale_load

            size = ScaleSize.county().scaled(args.county_fraction)
            scale_load(size, prefix="county", seed=16)
            for role in Role.values:
                user = User.objects.get(username=f"county-{role}")
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
                usernames.append(user.username)
            print(f"county x{args.county_fraction}: {size}")
        print(f"data loaded in {time.monotonic() - began:.1f} s")
        connection.close()
        process, base = serve(name)
        figures = measure(base, usernames, args.samples)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "role-page-loads.json").write_text(
            json.dumps(figures, ensure_ascii=False, indent=1)
        )
        ratios = [
            row["ratio_to_sign_in"]
            for user, rows in figures.items()
            if user.startswith(("demo-", "county-"))
            for row in rows.values()
        ]
        print(
            f"{len(ratios)} pages: median ratio to sign-in {statistics.median(ratios):.2f}, "
            f"worst {max(ratios):.2f}; measured in {time.monotonic() - began:.0f} s"
        )
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        connection.close()
        creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
