"""/api/integrity/: the published day roots (public, read-only) and a recording's
inclusion proof (for those allowed to see the recording)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.security import django_auth
from pydantic import Field

from backend.accounts.models import User
from backend.config.errors import Conflict
from backend.footage.models import RecordingState
from backend.integrity.selectors import roots_published
from backend.integrity.services.proofs import recording_proof
from backend.review.selectors import recording_access_for

router = Router(tags=["integrity"])


class RootsQuery(Schema):
    since: datetime.date | None = None
    limit: int = Field(400, ge=1, le=5000)


@router.get("roots", auth=None, operation_id="integrity_roots")
def roots(request: HttpRequest, query: Query[RootsQuery]) -> dict[str, Any]:
    """Every sealed day's root, its chained statement and RFC 3161 token (base64 DER), and
    the TSA's CA certificate: enough to check any inclusion proof offline."""
    return roots_published(since=query.since, limit=query.limit)


@router.get(
    "recordings/{recording_id}/proof", auth=django_auth, operation_id="integrity_recording_proof"
)
def recording_proof_get(request: HttpRequest, recording_id: str) -> dict[str, Any]:
    """The recording's leaf, audit path, day statement and timestamp token, for
    ops/verify_fieldvault.py. 409 `proof_pending` until its day is sealed."""
    user = request.user
    assert isinstance(user, User)
    access = recording_access_for(user=user, recording_id=recording_id)
    recording = access.recording
    if recording.stored_at is None or recording.state == RecordingState.ANNOUNCED:
        raise Conflict("the recording is not stored yet", code="recording_not_stored")
    proof = recording_proof(recording)
    if proof["pending"]:
        raise Conflict(
            "the recording's day is not sealed yet: its proof exists after the day ends",
            code="proof_pending",
            details={"stored_at": proof["stored_at"]},
        )
    return proof
