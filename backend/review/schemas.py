from __future__ import annotations

import datetime

from ninja import Schema


class AccessRequestIn(Schema):
    requester_kind: str
    purpose: str
    recording_ids: list[str] = []
    activity_id: str = ""
    want_copy: bool = False
    applicant_name: str = ""
    applicant_organisation: str = ""
    applicant_id_number: str = ""


class AccessRequestOut(Schema):
    id: str
    requester_id: int
    requester_kind: str
    purpose: str
    want_copy: bool
    state: str
    required_authority: str
    recording_ids: list[str]
    activity_id: str | None
    created_at: datetime.datetime
    decided_by_id: int | None
    decided_at: datetime.datetime | None
    grant_id: str | None


class DecisionIn(Schema):
    valid_days: int = 7
    note: str = ""
    view_only: bool = False
    # The grant's scope: a subset of the request's recordings (all of them when omitted).
    recording_ids: list[str] | None = None


class GrantOut(Schema):
    id: str
    request_id: str
    holder_id: int
    can_copy: bool
    expires_at: datetime.datetime
    recording_ids: list[str]
    granted_by_id: int
    granted_at: datetime.datetime
    # active, expired or revoked (revoked grants stop working at once: 403 grant_revoked).
    state: str
    revoked_at: datetime.datetime | None = None
    revoked_by_id: int | None = None
    revoke_reason: str = ""


class RevokeIn(Schema):
    reason: str


class RegisterEntryOut(Schema):
    id: int
    occurred_at: datetime.datetime
    user_id: int
    user_display: str
    action: str
    basis: str
    purpose: str
    recording_id: str | None
    grant_id: str | None
    export_id: str | None


class PlaybackOut(Schema):
    recording_id: str
    source: str
    media_url: str | None
    media_type: str
    poster_url: str | None
    thumbnails_url: str | None
    expires_seconds: int
    register_entry_id: int


class ExportIn(Schema):
    purpose: str = ""


class ExportOut(Schema):
    id: str
    grant_id: str
    download_url: str
    with_proxies: bool
    # none (originals only), pending / working (watermarked copies being made: the
    # download answers 409 export_not_ready), ready, failed, revoked / expired (the grant
    # stopped working before the copies were published: none were kept).
    proxies_state: str
    file_count: int
