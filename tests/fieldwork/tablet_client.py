"""A reference tablet for record sync: keeps a local store, a cursor and an outbox.

Protocol only (mobile_contract/tablet_sync.md); the transport is any object with
`post(path, json)` / `get(path, params)` returning (status, body) — the tests use Django's
test client, the benchmark httpx against a real server.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PUSH = "/api/sync/v1/records/push"
PULL = "/api/sync/v1/records/pull"

Post = Callable[[str, dict[str, Any]], tuple[int, Any]]
Get = Callable[[str, dict[str, Any]], tuple[int, Any]]


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


@dataclass
class Tablet:
    post: Post
    get: Get
    cursor: str = "0"
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → pulled record
    outbox: list[dict[str, Any]] = field(default_factory=list)

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
        batch = self.outbox if mutations is None else mutations
        status, body = self.post(PUSH, {"device_time": now_iso(), "mutations": batch})
        if status == 200:
            done = {r["mutation_id"] for r in body["results"] if r["status"] != "retry"}
            for result in body["results"]:
                if result["status"] == "applied":
                    m = next(m for m in batch if m["mutation_id"] == result["mutation_id"])
                    self.records[m["record_id"]] = {
                        "kind": m["kind"],
                        "id": m["record_id"],
                        "version": result["version"],
                        "deleted": m["op"] == "delete",
                        "data": m["data"],
                    }
            if mutations is None:
                self.outbox = [m for m in self.outbox if m["mutation_id"] not in done]
        return status, body

    def pull_all(self, limit: int = 500) -> tuple[int, int]:
        """Pull until caught up; returns (pages, records)."""
        pages = records = 0
        while True:
            status, body = self.get(PULL, {"cursor": self.cursor, "limit": limit})
            assert status == 200, body
            pages += 1
            records += len(body["records"])
            for record in body["records"]:
                self.records[record["id"]] = record
            self.cursor = body["cursor"]
            if not body["more"]:
                return pages, records
