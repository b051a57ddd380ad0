"""Reference tablet (平板) for record sync: the tablet mode of the device simulator.

    python -m mobile_contract.simulator tablet log --state tablet.json --kind check_in \
        --subject <subject uuid> --place 青山镇司法所 --identity-method id_card
    python -m mobile_contract.simulator tablet sync --server http://127.0.0.1:8000 \
        --token fvd_… --state tablet.json
    python -m mobile_contract.simulator tablet show --state tablet.json

A tablet keeps, in its state file, the records it pulled (id → kind, version, data), its
pull cursor and an outbox of mutations not yet answered. `log` works offline: it only adds
a mutation (a new record id and a new mutation id) to the outbox. `sync` is the session of
mobile_contract/tablet_sync.md: push the outbox (a replay after a lost answer is safe: same
mutation ids, same answers), keep `retry` mutations for the next round, move conflicts out of
the outbox with the server copy for a person to merge, then pull until `more` is false.

The :class:`Tablet` class is the protocol only; its transport is any pair of functions
`post(path, json) -> (status, body)` / `get(path, params) -> (status, body)`: the tests
plug in Django's test client, the benchmarks httpx, the CLI `requests`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PUSH = "/api/sync/v1/records/push"
PULL = "/api/sync/v1/records/pull"
MAX_PUSH_ROUNDS = 5

Post = Callable[[str, dict[str, Any]], tuple[int, Any]]
Get = Callable[[str, dict[str, Any]], tuple[int, Any]]


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


@dataclass
class Tablet:
    post: Post
    get: Get
    cursor: str = "0"
    scope: str | None = None  # whose records the cursor and local records are
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → pulled record
    outbox: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # answers to merge by hand
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def put(self, kind: str, data: dict[str, Any], record_id: str | None = None) -> dict[str, Any]:
        """Queue a create (new id) or an edit (based on the version last seen)."""
        record_id = record_id or str(uuid.uuid4())
        known = self.records.get(record_id)
        mutation = {
            "mutation_id": str(uuid.uuid4()),
            "op": "put",
            "kind": kind,
            "record_id": record_id,
            "base_version": known["version"] if known else None,
            "data": data,
        }
        self.outbox.append(mutation)
        return mutation

    def delete(self, kind: str, record_id: str) -> dict[str, Any]:
        mutation = {
            "mutation_id": str(uuid.uuid4()),
            "op": "delete",
            "kind": kind,
            "record_id": record_id,
            "base_version": self.records[record_id]["version"],
            "data": {},
        }
        self.outbox.append(mutation)
        return mutation

    def push(self, mutations: list[dict[str, Any]] | None = None) -> tuple[int, Any]:
        """Push the outbox (or the given batch). Applied mutations update the local copy;
        everything answered for good leaves the outbox, `retry` stays."""
        batch = self.outbox if mutations is None else mutations
        status, body = self.post(PUSH, {"device_time": now_iso(), "mutations": batch})
        if status != 200:
            return status, body
        by_id = {m["mutation_id"]: m for m in batch}
        for result in body["results"]:
            m = by_id[result["mutation_id"]]
            if result["status"] == "applied":
                self.records[m["record_id"]] = {
                    "kind": m["kind"],
                    "id": m["record_id"],
                    "version": result["version"],
                    "deleted": m["op"] == "delete",
                    "data": m["data"],
                }
            elif result["status"] == "conflict" and mutations is None:
                self.conflicts.append({"mutation": m, "answer": result})
            elif result["status"] == "rejected" and mutations is None:
                self.rejected.append({"mutation": m, "answer": result})
        if mutations is None:
            done = {r["mutation_id"] for r in body["results"] if r["status"] != "retry"}
            self.outbox = [m for m in self.outbox if m["mutation_id"] not in done]
        return status, body

    def pull_all(self, limit: int = 500) -> tuple[int, int]:
        """Pull until caught up; returns (pages, records)."""
        pages = records = 0
        while True:
            status, body = self.get(PULL, {"cursor": self.cursor, "limit": limit})
            if status != 200:
                raise RuntimeError(f"pull answered {status}: {body}")
            if self.scope is not None and body["scope"] != self.scope and self.cursor != "0":
                # Handed to another officer / office: drop everything held for the old one.
                self.records.clear()
                self.cursor, self.scope = "0", body["scope"]
                pages = records = 0
                continue
            self.scope = body["scope"]
            pages += 1
            records += len(body["records"])
            for record in body["records"]:
                self.records[record["id"]] = record
            self.cursor = body["cursor"]
            if not body["more"]:
                return pages, records

    def sync(self) -> dict[str, int]:
        """One session: push (again while only `retry` answers remain), then pull."""
        rounds = 0
        while self.outbox and rounds < MAX_PUSH_ROUNDS:
            rounds += 1
            before = len(self.outbox)
            status, body = self.push()
            if status != 200:
                raise RuntimeError(f"push answered {status}: {body}")
            if len(self.outbox) == before:  # only `retry` left: their creates are elsewhere
                break
        pages, records = self.pull_all()
        return {
            "push_rounds": rounds,
            "outbox_left": len(self.outbox),
            "conflicts": len(self.conflicts),
            "rejected": len(self.rejected),
            "pull_pages": pages,
            "pulled_records": records,
        }

    # --- the state file of the CLI --------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in asdict(self).items()
            if key in {"cursor", "scope", "records", "outbox", "conflicts", "rejected"}
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], *, post: Post, get: Get) -> Tablet:
        return cls(post=post, get=get, **state)


def requests_transport(server: str, token: str) -> tuple[Post, Get]:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = session.post(server.rstrip("/") + path, json=body, timeout=120)
        return response.status_code, response.json()

    def get(path: str, params: dict[str, Any]) -> tuple[int, Any]:
        response = session.get(server.rstrip("/") + path, params=params, timeout=120)
        return response.status_code, response.json()

    return post, get


def _offline(*_args: Any) -> tuple[int, Any]:
    raise RuntimeError("offline: `log` and `show` never talk to the server")


def _load(path: Path, post: Post = _offline, get: Get = _offline) -> Tablet:
    state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return Tablet.from_state(state, post=post, get=get)


def _save(tablet: Tablet, path: Path) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(tablet.state(), ensure_ascii=False, indent=1), "utf-8")
    temporary.replace(path)  # a crash never leaves half a state file


def contact_data(args: argparse.Namespace) -> dict[str, Any]:
    start = (
        datetime.datetime.fromisoformat(args.started_at)
        if args.started_at
        else datetime.datetime.now().astimezone() - datetime.timedelta(minutes=args.minutes)
    )
    data: dict[str, Any] = {
        "subject_id": args.subject,
        "started_at": start.isoformat(),
        "ended_at": (start + datetime.timedelta(minutes=args.minutes)).isoformat(),
        "place": args.place,
        "notes": args.notes,
        "identity_method": args.identity_method,
        "recording_ids": args.recording or [],
    }
    if args.latitude is not None and args.longitude is not None:
        data.update(latitude=args.latitude, longitude=args.longitude)
    return data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="tablet_command", required=True)
    log = sub.add_parser("log", help="log a check-in, visit, talk or phone report (offline)")
    log.add_argument("--state", type=Path, required=True)
    log.add_argument(
        "--kind", choices=["check_in", "home_visit", "talk", "phone_report"], required=True
    )
    log.add_argument("--subject", required=True, help="subject id (from a pull)")
    log.add_argument("--started-at", help="ISO time with offset (default: now − minutes)")
    log.add_argument("--minutes", type=int, default=15)
    log.add_argument("--place", default="")
    log.add_argument("--notes", default="")
    log.add_argument("--identity-method", default="")
    log.add_argument("--latitude", type=float)
    log.add_argument("--longitude", type=float)
    log.add_argument("--recording", action="append", help="recording id from a manifest")
    sync = sub.add_parser("sync", help="push the outbox, then pull until caught up")
    sync.add_argument("--server", default="http://127.0.0.1:8000")
    sync.add_argument("--token", required=True)
    sync.add_argument("--state", type=Path, required=True)
    show = sub.add_parser("show", help="print the local state (cursor, outbox, conflicts)")
    show.add_argument("--state", type=Path, required=True)


def run(args: argparse.Namespace) -> int:
    if args.tablet_command == "log":
        tablet = _load(args.state)
        mutation = tablet.put(args.kind, contact_data(args))
        _save(tablet, args.state)
        print(json.dumps({"queued": mutation["mutation_id"], "record_id": mutation["record_id"]}))
        return 0
    if args.tablet_command == "show":
        tablet = _load(args.state)
        kinds: dict[str, int] = {}
        for record in tablet.records.values():
            kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
        print(
            json.dumps(
                {
                    "cursor": tablet.cursor,
                    "records": kinds,
                    "outbox": len(tablet.outbox),
                    "conflicts": tablet.conflicts,
                    "rejected": tablet.rejected,
                },
                ensure_ascii=False,
            )
        )
        return 0
    post, get = requests_transport(args.server, args.token)
    tablet = _load(args.state, post, get)
    try:
        report = tablet.sync()
    finally:
        _save(tablet, args.state)  # whatever was answered is kept, even if a pull failed
    print(json.dumps(report))
    return 0 if not tablet.outbox and not tablet.conflicts and not tablet.rejected else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="simulator tablet",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
