"""Benchmark: 200 concurrent tablets each push 50 mutations and pull, on PostgreSQL.

    .venv/bin/python tests/bench/bench_tablet_sync.py [--tablets 200] [--mutations 50]
        [--offices 20] [--workers 2] [--solo 30]

A real `uvicorn backend.config.asgi:application` (N worker processes) on the bench
database `fieldvault_bench_field`; the clients are one asyncio process with httpx (on the
same 2-core machine). Each simulated tablet sends one push of `--mutations` new records
(check-ins, visits, talks, phone reports for subjects of its office), then pulls from
cursor 0 until caught up. Figures: errors (any non-200, any mutation not `applied`),
p50/p95 latency of pushes and pulls, and as the same-run reference the latency of a
trivial authenticated GET (a pull at the head cursor, limit 1) at the same concurrency,
with the ratios. Then a replay of every push (exactly once: nothing new may be written).
Then `--solo` tablets push one after another: the service time of a push without queueing,
against the trivial GET also sent one at a time. (All 200 arrive in the same instant in
the first phase: its p95 is mostly the time to drain the queue on 2 cores.)

Last, the docking window: every tablet syncs again (a push of `--mutations` new records,
then pulls from cursor 0), each starting at a random moment within `--window` seconds
(seeded; 200 tablets docking over a minute at the end of a shift). Printed with it: the
machine's CPU seconds per tablet sync (/proc/stat over the phase: server, PostgreSQL and
this client together) and what that implies — the cores needed for all `--tablets` to
arrive in the same instant and still finish within 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tablet_bench_common import (
    Server,
    django_setup,
    make_bureau,
    percentile,
    seed_office,
    summary,
)

KINDS = ["check_in", "home_visit", "talk", "phone_report"]


def mutations_for(subject_ids: list[str], count: int) -> list[dict[str, Any]]:
    now = datetime.datetime.now(datetime.UTC)
    batch = []
    for _ in range(count):
        kind = random.choice(KINDS)
        start = now - datetime.timedelta(minutes=random.randint(30, 7 * 24 * 60))
        batch.append({
            "mutation_id": str(uuid.uuid4()), "op": "put", "kind": kind,
            "record_id": str(uuid.uuid4()), "base_version": None,
            "data": {
                "subject_id": random.choice(subject_ids),
                "started_at": start.isoformat(),
                "ended_at": (start + datetime.timedelta(minutes=15)).isoformat(),
                "place": "青山镇司法所", "latitude": 30.0, "longitude": 120.0,
                "notes": "按时报到，思想稳定。" * 3,
                "identity_method": "face" if kind == "check_in" else "",
            },
        })  # fmt: skip
    return batch


class Timings:
    """Latencies and errors collected by the simulated tablets of one phase."""

    def __init__(self) -> None:
        self.push: list[float] = []
        self.pull: list[float] = []
        self.errors: list[str] = []


async def sync_once(
    client: Any, token: str, subjects: list[str], mutations: int, timings: Timings
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """One tablet sync: push `mutations` new records, then pull from cursor 0 until caught
    up. Returns the push body and answer (None after an error, which is recorded)."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "device_time": datetime.datetime.now(datetime.UTC).isoformat(),
        "mutations": mutations_for(subjects, mutations),
    }
    start = time.perf_counter()
    r = await client.post("/api/sync/v1/records/push", json=body, headers=headers)
    timings.push.append(time.perf_counter() - start)
    if r.status_code != 200:
        timings.errors.append(f"push {r.status_code} {r.text[:200]}")
        return None
    answer: dict[str, Any] = r.json()
    bad = [x for x in answer["results"] if x["status"] != "applied"]
    if bad:
        timings.errors.append(f"push results {bad[:2]}")
    cursor, more = "0", True
    while more:
        start = time.perf_counter()
        r = await client.get(
            "/api/sync/v1/records/pull", headers=headers, params={"cursor": cursor, "limit": 500}
        )
        timings.pull.append(time.perf_counter() - start)
        if r.status_code != 200:
            timings.errors.append(f"pull {r.status_code} {r.text[:200]}")
            return None
        page = r.json()
        cursor, more = page["cursor"], page["more"]
    return body, answer


async def run(url: str, tablets: list[tuple[str, list[str]]], mutations: int) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=len(tablets) + 10, max_keepalive_connections=len(tablets))
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def reference(token: str) -> list[float]:
            times = []
            headers = {"Authorization": f"Bearer {token}"}
            head = await client.get(
                "/api/sync/v1/records/pull",
                headers=headers,
                params={"cursor": "9999999999", "limit": 1},
            )
            assert head.status_code == 200, head.text
            for _ in range(3):
                t0 = time.perf_counter()
                r = await client.get(
                    "/api/sync/v1/records/pull",
                    headers=headers,
                    params={"cursor": "9999999999", "limit": 1},
                )
                times.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(r.text)
            return times

        t0 = time.perf_counter()
        ref = [
            t for ts in await asyncio.gather(*(reference(tok) for tok, _ in tablets)) for t in ts
        ]
        ref_wall = time.perf_counter() - t0

        timings = Timings()
        batches: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

        async def tablet(token: str, subjects: list[str]) -> None:
            done = await sync_once(client, token, subjects, mutations, timings)
            if done is not None:
                batches.append((token, *done))

        t0 = time.perf_counter()
        await asyncio.gather(*(tablet(tok, subj) for tok, subj in tablets))
        wall = time.perf_counter() - t0

    return {
        "ref": ref,
        "ref_wall": ref_wall,
        "push": timings.push,
        "pull": timings.pull,
        "errors": timings.errors,
        "wall": wall,
        "batches": batches,
    }


async def replay_all(url: str, batches: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> int:
    """Exactly once under load: replay every push at once; count answers that differ."""
    import httpx

    mismatches = 0
    limits = httpx.Limits(max_connections=len(batches) + 10)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def replay(token: str, body: dict[str, Any], first: dict[str, Any]) -> None:
            nonlocal mismatches
            r = await client.post(
                "/api/sync/v1/records/push", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            if r.status_code != 200 or r.json()["results"] != first["results"]:
                mismatches += 1

        await asyncio.gather(*(replay(*b) for b in batches))
    return mismatches


async def solo(url: str, tablets: list[tuple[str, list[str]]], mutations: int) -> dict[str, Any]:
    """Service time without queueing: tablets push (and pull at the head) one after another;
    the same-run reference is the trivial authenticated GET, also one at a time."""
    import httpx

    push_times: list[float] = []
    ref_times: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for token, subjects in tablets:
            headers = {"Authorization": f"Bearer {token}"}
            t0 = time.perf_counter()
            r = await client.get(
                "/api/sync/v1/records/pull",
                headers=headers,
                params={"cursor": "9999999999", "limit": 1},
            )
            ref_times.append(time.perf_counter() - t0)
            body = {
                "device_time": datetime.datetime.now(datetime.UTC).isoformat(),
                "mutations": mutations_for(subjects, mutations),
            }
            t0 = time.perf_counter()
            r = await client.post("/api/sync/v1/records/push", json=body, headers=headers)
            push_times.append(time.perf_counter() - t0)
            if r.status_code != 200 or any(x["status"] != "applied" for x in r.json()["results"]):
                errors += 1
    return {"push": push_times, "ref": ref_times, "errors": errors}


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores; /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its live children (uvicorn's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def window(
    url: str,
    tablets: list[tuple[str, list[str]]],
    mutations: int,
    seconds: float,
    seed: int,
    server_pid: int,
) -> dict[str, Any]:
    """Every tablet syncs once (push, then pull from 0), starting at a random moment
    within `seconds`."""
    import httpx

    rng = random.Random(seed)
    starts = sorted(rng.uniform(0, seconds) for _ in tablets)
    timings = Timings()
    limits = httpx.Limits(max_connections=len(tablets) + 10, max_keepalive_connections=len(tablets))
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        began = time.perf_counter()

        async def tablet(token: str, subjects: list[str], at: float) -> None:
            await asyncio.sleep(max(0.0, began + at - time.perf_counter()))
            await sync_once(client, token, subjects, mutations, timings)

        cpu0 = machine_cpu_seconds()
        server0 = process_tree_cpu_seconds(server_pid)
        client0 = time.process_time()
        await asyncio.gather(
            *(tablet(tok, subj, at) for (tok, subj), at in zip(tablets, starts, strict=True))
        )
        cpu = machine_cpu_seconds() - cpu0
        server_cpu = process_tree_cpu_seconds(server_pid) - server0
        client_cpu = time.process_time() - client0
        wall = time.perf_counter() - began
    return {
        "push": timings.push,
        "pull": timings.pull,
        "errors": timings.errors,
        "cpu": cpu,
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tablets", type=int, default=200)
    parser.add_argument("--mutations", type=int, default=50)
    parser.add_argument("--offices", type=int, default=20)
    parser.add_argument("--subjects-per-office", type=int, default=25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--solo", type=int, default=30, help="tablets in the one-at-a-time phase")
    parser.add_argument(
        "--window", type=float, default=60.0, help="seconds over which tablets dock (0: skip)"
    )
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fv-bench-tablet-", dir="/var/tmp"))
    django_setup(work)
    run_id = uuid.uuid4().hex[:6]
    t0 = time.perf_counter()
    bureau = make_bureau(f"基准司法局-{run_id}")
    per_office = -(-args.tablets // args.offices)
    tablets: list[tuple[str, list[str]]] = []
    for index in range(args.offices):
        count = min(per_office, args.tablets - len(tablets))
        if count <= 0:
            break
        office = seed_office(
            bureau=bureau,
            name=f"基准司法所-{run_id}-{index}",
            subjects=args.subjects_per_office,
            tablets=count,
        )
        tablets.extend((token, office.subject_ids) for token in office.tokens)
    print(
        f"seeded {len(tablets)} tablets in {args.offices} offices, "
        f"{args.subjects_per_office} subjects each, in {time.perf_counter() - t0:.1f} s"
    )
    from django.db import connection

    from sync.records.models import AppliedMutation, SyncRecord

    connection.close()
    with Server(work, args.workers) as server:
        result = asyncio.run(run(server.url, tablets, args.mutations))
        records_after = SyncRecord.objects.count()
        applied_after = AppliedMutation.objects.count()
        connection.close()
        replay_mismatch = asyncio.run(replay_all(server.url, result["batches"]))
        unchanged = (SyncRecord.objects.count(), AppliedMutation.objects.count()) == (
            records_after,
            applied_after,
        )
        connection.close()
        alone = asyncio.run(solo(server.url, tablets[: args.solo], args.mutations))
        docking = (
            asyncio.run(
                window(
                    server.url,
                    tablets,
                    args.mutations,
                    args.window,
                    args.seed,
                    server_pid=server.process.pid,  # type: ignore[union-attr]
                )
            )
            if args.window > 0
            else None
        )
    print(
        f"{len(tablets)} tablets x {args.mutations} mutations, {args.workers} uvicorn "
        f"worker(s), wall {result['wall']:.1f} s"
    )
    print(
        f"errors: {len(result['errors'])}"
        + (f"  first: {result['errors'][0]}" if result["errors"] else "")
    )
    print(f"push  : {summary(result['push'])}")
    print(f"pull  : {summary(result['pull'])}")
    print(f"reference (trivial authenticated GET, same concurrency): {summary(result['ref'])}")
    ref95 = percentile(result["ref"], 95)
    print(
        f"ratio p95 push / reference = {percentile(result['push'], 95) / ref95:.1f}x; "
        f"pull / reference = {percentile(result['pull'], 95) / ref95:.1f}x"
    )
    print(
        f"goal p95 <= 500 ms: push {'met' if percentile(result['push'], 95) <= 0.5 else 'NOT met'}"
        f", pull {'met' if percentile(result['pull'], 95) <= 0.5 else 'NOT met'}"
    )
    print(
        f"replayed all {len(result['batches'])} batches concurrently: {replay_mismatch} "
        f"answers differed; records/applied mutations unchanged: {unchanged}"
    )
    solo_ref95 = percentile(alone["ref"], 95)
    print(
        f"one at a time ({len(alone['push'])} tablets, no queueing): errors {alone['errors']}; "
        f"push {summary(alone['push'])}"
    )
    print(f"  reference (trivial authenticated GET, one at a time): {summary(alone['ref'])}")
    print(
        f"  ratio p95 push / reference = {percentile(alone['push'], 95) / solo_ref95:.1f}x; "
        f"goal p95 <= 500 ms: {'met' if percentile(alone['push'], 95) <= 0.5 else 'NOT met'}"
    )
    if docking is None:
        return
    per_sync = docking["cpu"] / len(tablets)
    server_per_sync = docking["server_cpu"] / len(tablets)
    client_per_sync = docking["client_cpu"] / len(tablets)
    push95, pull95 = percentile(docking["push"], 95), percentile(docking["pull"], 95)
    print(
        f"docking window: {len(tablets)} tablets starting at random within {args.window:.0f} s "
        f"(seed {args.seed}), wall {docking['wall']:.1f} s, errors {len(docking['errors'])}"
        + (f"  first: {docking['errors'][0]}" if docking["errors"] else "")
    )
    print(f"  push: {summary(docking['push'])}")
    print(f"  pull: {summary(docking['pull'])}")
    print(
        f"  ratio p95 push / one-at-a-time push p95 = "
        f"{push95 / percentile(alone['push'], 95):.1f}x; goal p95 <= 500 ms: push "
        f"{'met' if push95 <= 0.5 else 'NOT met'}, pull {'met' if pull95 <= 0.5 else 'NOT met'}"
    )
    print(
        f"  machine CPU per tablet sync (server + PostgreSQL + client): {per_sync * 1000:.0f} ms;"
        f" {len(tablets)} tablets arriving in one instant and done within 500 ms would need"
        f" >= {len(tablets) * per_sync / 0.5:.0f} such cores (this machine: {os.cpu_count()})"
    )
    print(
        f"  of which: web processes {server_per_sync * 1000:.0f} ms, this client"
        f" {client_per_sync * 1000:.0f} ms, the rest (PostgreSQL, kernel, others)"
        f" {(per_sync - server_per_sync - client_per_sync) * 1000:.0f} ms; server side alone:"
        f" >= {len(tablets) * (per_sync - client_per_sync) / 0.5:.0f} cores for the burst goal"
    )


if __name__ == "__main__":
    main()
