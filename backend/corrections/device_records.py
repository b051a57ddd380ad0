"""Record kinds that tablets sync for community correction (see sync/records/kinds.py).

`subject` is read-only on devices (subjects are registered at the office); check-ins,
home visits, talks and phone reports are written on the tablet, offline, and pushed.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field

from backend.config.errors import InvalidInput
from backend.corrections.models import ContactKind
from backend.corrections.services import (
    ContactInput,
    contact_copy,
    contact_delete,
    contact_times,
    contact_write,
    contacts_insert_pending,
    subjects_by_id,
)
from sync.records.kinds import DEFER_INSERTS, DeviceContext, RecordCopy, parse_data


class ContactData(BaseModel):
    """The `data` of a check-in / home visit / talk / phone report mutation."""

    model_config = ConfigDict(extra="forbid")

    subject_id: uuid.UUID
    started_at: datetime.datetime = Field(description="Device clock, with UTC offset.")
    ended_at: datetime.datetime
    place: str = Field(default="", max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    notes: str = Field(default="", max_length=20_000)
    identity_method: str = Field(default="", max_length=20)
    photo_recording_id: uuid.UUID | None = None
    recording_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


PENDING = "pending_contacts"


class ContactKindHandler:
    writable = True
    deletable = True

    def __init__(self, kind: str):
        self.kind = kind

    def put(
        self, *, ctx: DeviceContext, record_id: uuid.UUID, data: dict[str, Any], existing: bool
    ) -> RecordCopy:
        parsed: ContactData = parse_data(ContactData, data)
        from backend.corrections.models import IdentityMethod

        if parsed.identity_method and parsed.identity_method not in IdentityMethod.values:
            raise InvalidInput(
                _("身份核验方式无效"),
                code="invalid_identity_method",
                details={"allowed": list(IdentityMethod.values)},
            )
        stored = contact_times(record_id) if existing else None
        started_at, device_started_at = ctx.corrected_unless_stored(
            parsed.started_at, stored=stored[0] if stored else None, field_name="started_at"
        )
        ended_at, device_ended_at = ctx.corrected_unless_stored(
            parsed.ended_at, stored=stored[1] if stored else None, field_name="ended_at"
        )
        values = ContactInput(
            subject_id=parsed.subject_id,
            started_at=started_at,
            ended_at=ended_at,
            device_started_at=device_started_at,
            device_ended_at=device_ended_at,
            place=parsed.place,
            latitude=parsed.latitude,
            longitude=parsed.longitude,
            notes=parsed.notes,
            identity_method=parsed.identity_method,
            photo_recording_id=parsed.photo_recording_id,
            recording_ids=tuple(dict.fromkeys(parsed.recording_ids)),
        )
        contact = contact_write(
            kind=self.kind,
            record_id=record_id,
            officer=ctx.officer,
            device=ctx.device,
            values=values,
            existing=existing,
            subjects=ctx.cache.setdefault("subjects", {}),
            pending=ctx.cache.setdefault(PENDING, []) if ctx.cache.get(DEFER_INSERTS) else None,
        )
        return contact_copy(contact)

    def flush(self, *, ctx: DeviceContext) -> None:
        """Insert the batch's new contacts (all kinds share one list) at once."""
        contacts_insert_pending(ctx.cache.get(PENDING, []))

    def prepare(self, *, ctx: DeviceContext, data: list[dict[str, Any]]) -> None:
        """Load the batch's subjects in one query."""
        cache: dict[uuid.UUID, Any] = ctx.cache.setdefault("subjects", {})
        wanted = set()
        for item in data:
            try:
                wanted.add(uuid.UUID(str(item.get("subject_id"))))
            except ValueError:
                continue
        missing = [i for i in wanted if i not in cache]
        if missing:
            cache.update(subjects_by_id(missing))

    def delete(self, *, ctx: DeviceContext, record_id: uuid.UUID) -> RecordCopy:
        return contact_copy(contact_delete(record_id=record_id, officer=ctx.officer))


class SubjectKindHandler:
    kind = "subject"
    writable = False
    deletable = False

    def put(
        self, *, ctx: DeviceContext, record_id: uuid.UUID, data: dict[str, Any], existing: bool
    ) -> RecordCopy:
        raise NotImplementedError  # never called: writable is False

    def delete(self, *, ctx: DeviceContext, record_id: uuid.UUID) -> RecordCopy:
        raise NotImplementedError


SUBJECT = SubjectKindHandler()
CHECK_IN = ContactKindHandler(ContactKind.CHECK_IN)
HOME_VISIT = ContactKindHandler(ContactKind.HOME_VISIT)
TALK = ContactKindHandler(ContactKind.TALK)
PHONE_REPORT = ContactKindHandler(ContactKind.PHONE_REPORT)
