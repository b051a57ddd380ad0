"""Tablet record sync: push mutations, pull changes. Device bearer authentication."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from ninja import Router

from backend.config.errors import InvalidInput
from sync.auth import DeviceBearer, request_device
from sync.records.schemas import MutationResultOut, PullOut, PushIn, PushOut
from sync.records.services import DEFAULT_PULL_LIMIT, Mutation, records_pull, records_push

router = Router(tags=["tablet record sync"], auth=DeviceBearer())
_RESULT_KEYS: dict[str, object] = dict.fromkeys(MutationResultOut.model_fields)


@router.post("push", response=PushOut, operation_id="sync_records_push")
def push(request: HttpRequest, payload: PushIn) -> HttpResponse:
    """Send a batch of changes made on the tablet (up to 500), each with its own
    `mutation_id`. Every mutation gets its own answer, in order:

    * `applied` — stored; `version` is the record's new server version (use it as
      `base_version` for the next edit).
    * `conflict` — the record changed on the server since `base_version` (or was deleted):
      nothing was written; `server_copy` is the server's record. Merge, then send a *new*
      mutation with `base_version = server_copy.version`.
    * `rejected` — invalid or not allowed (`code`, `message`, `details`); nothing written.
      Final: resending the same mutation answers the same.
    * `retry` — the record this edits has not reached the server yet (batches arrived out
      of order); send the same mutation again after the earlier batch.

    Sending a batch again (same mutation ids) changes nothing and gets the same answers,
    so after a lost response simply resend. Times in `data` are in the device clock; the
    server corrects them with `device_time` and refuses any that lie in the future.
    """
    device = request_device(request)
    answer = records_push(
        device=device,
        device_time=payload.device_time,
        mutations=[
            Mutation(
                mutation_id=m.mutation_id,
                op=m.op,
                kind=m.kind,
                record_id=m.record_id,
                base_version=m.base_version,
                data=m.data,
            )
            for m in payload.mutations
        ],
    )
    # The results are server-built dicts of MutationResultOut's shape, given every key of it
    # (absent ones as null, as documented); encoding them directly skips validating them
    # again (tests/fieldwork/test_tablet_sync.py checks real answers against PushOut).
    return _json_response(
        {
            "server_time": answer.server_time,
            "results": [{**_RESULT_KEYS, **result} for result in answer.results],
        }
    )


@router.get("pull", response=PullOut, operation_id="sync_records_pull")
def pull(request: HttpRequest, cursor: str = "0", limit: int = DEFAULT_PULL_LIMIT) -> HttpResponse:
    """Records changed since `cursor` that this tablet's officer may see — subjects of the
    officer's justice office with their schedules, the office's check-ins, visits and talks,
    inspections the officer was drawn for — oldest change first. Deleted records come as
    tombstones (`deleted: true`), and so do records that left the office's scope (a subject
    transferred to another office, with its contacts): a tombstone always means "delete it
    locally", whatever the reason. Start with cursor `0`; store the returned cursor after
    applying the page; while `more` is true, pull again at once (a tablet back from a week
    offline catches up in one session, page by page). Keep `scope` with the cursor: when a
    pull answers another scope (the tablet now acts for another officer or office), delete
    every local record and pull again from cursor `0`."""
    device = request_device(request)
    if not cursor.isdigit() or len(cursor) > 19:
        raise InvalidInput("invalid cursor", code="invalid_cursor", details={"cursor": cursor[:40]})
    answer = records_pull(device=device, cursor=int(cursor), limit=limit)
    # The records are server-built dicts of the documented shape (PullOut); encoding them
    # directly skips validating up to 1,000 records per page again (half a pull's time).
    return _json_response(
        {
            "server_time": answer.server_time,
            "scope": answer.scope,
            "cursor": str(answer.cursor),
            "more": answer.more,
            "records": answer.records,
        }
    )


def _json_response(body: dict[str, object]) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json",
    )
