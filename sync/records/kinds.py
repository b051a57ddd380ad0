"""The record kinds a tablet syncs, and the contract between the sync layer and domains.

The sync layer owns versions, conflicts, tombstones and exactly-once; a domain handler
owns validation and the typed write. A handler runs inside the push transaction (in a
savepoint per mutation) and must not write audit events itself: the push writes one
audit event for the whole batch at its end, so the global audit lock is held briefly.
Rejections are raised as `backend.config.errors.FieldVaultError` and answered per mutation.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from backend.accounts.models import Officer
from backend.config.errors import InvalidInput
from backend.devices.models import Device

# A device time later than the server's clock by more than this is refused.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class DeviceContext:
    device: Device
    officer: Officer
    server_now: datetime.datetime
    clock_offset: datetime.timedelta  # server time − device time, measured at this push
    # Per-push scratch space for handlers (e.g. records loaded once for the whole batch).
    cache: dict[str, Any] = field(default_factory=dict)

    def corrected(self, device_time: datetime.datetime, *, field_name: str) -> datetime.datetime:
        """A device time on the server's clock; far-future times are refused."""
        if device_time.tzinfo is None:
            raise InvalidInput(
                _("时间必须带时区偏移"), code="naive_timestamp", details={"field": field_name}
            )
        try:
            corrected = device_time + self.clock_offset
        except OverflowError:
            raise InvalidInput(
                _("时间超出范围"),
                code="timestamp_out_of_range",
                details={"field": field_name, "value": device_time.isoformat()},
            ) from None
        if corrected > self.server_now + FUTURE_TOLERANCE:
            raise InvalidInput(
                _("时间晚于服务器当前时间"),
                code="timestamp_in_future",
                details={
                    "field": field_name,
                    "value": device_time.isoformat(),
                    "server_time": self.server_now.isoformat(),
                },
            )
        return corrected

    def corrected_unless_stored(
        self,
        value: datetime.datetime,
        *,
        stored: StoredTime | None,
        field_name: str,
    ) -> tuple[datetime.datetime, datetime.datetime | None]:
        """(server time, device reading) of a time in an edit.

        An edit usually sends back times it did not change: either as pulled (already on
        the server clock) or as its own first reading. Those are kept as stored — correcting
        them again with *this* push's clock offset (another tablet, or the same one after
        drift) would move a colleague's check-in by hours. Any other value is a new reading
        on this device's clock and is corrected."""
        if value.tzinfo is None:
            raise InvalidInput(
                _("时间必须带时区偏移"), code="naive_timestamp", details={"field": field_name}
            )
        if stored is not None and value in (stored.server, stored.device):
            return stored.server, stored.device
        return self.corrected(value, field_name=field_name), value


@dataclass(frozen=True)
class StoredTime:
    """A time of a record as the server holds it: corrected, and as the device reported."""

    server: datetime.datetime
    device: datetime.datetime | None


@dataclass(frozen=True)
class RecordCopy:
    """The server copy of a record after a change, as pulled by devices."""

    kind: str
    record_id: uuid.UUID
    unit_id: int | None  # whole-unit record; None with an audience for audience-only ones
    data: dict[str, Any]
    audience: tuple[int, ...] = field(default=())
    deleted: bool = False


class KindHandler(Protocol):
    kind: str
    writable: bool
    deletable: bool

    def put(
        self, *, ctx: DeviceContext, record_id: uuid.UUID, data: dict[str, Any], existing: bool
    ) -> RecordCopy: ...

    def delete(self, *, ctx: DeviceContext, record_id: uuid.UUID) -> RecordCopy: ...


def handler_prepare(
    handler: KindHandler, *, ctx: DeviceContext, data: list[dict[str, Any]]
) -> None:
    """Let a handler load what the whole batch needs at once (optional `prepare` method)."""
    prepare = getattr(handler, "prepare", None)
    if prepare is not None:
        prepare(ctx=ctx, data=data)


# Set in `DeviceContext.cache` during a push's fast pass (no savepoint per mutation): a
# handler may then collect its new rows and insert them all in `flush(ctx=…)`, called once
# per kind at the end of the pass. A failing bulk insert makes the whole pass roll back and
# the batch is redone mutation by mutation, without the flag (so writes are immediate).
DEFER_INSERTS = "defer_inserts"


def handler_flush(handler: KindHandler, *, ctx: DeviceContext) -> None:
    """Let a handler write what it deferred in this pass (optional `flush` method)."""
    flush = getattr(handler, "flush", None)
    if flush is not None:
        flush(ctx=ctx)


# Explicit on purpose: the list of what a tablet may write is read in one place.
KIND_HANDLERS: dict[str, str] = {
    "subject": "backend.corrections.device_records.SUBJECT",
    "check_in": "backend.corrections.device_records.CHECK_IN",
    "home_visit": "backend.corrections.device_records.HOME_VISIT",
    "talk": "backend.corrections.device_records.TALK",
    "phone_report": "backend.corrections.device_records.PHONE_REPORT",
    "inspection": "backend.inspections.device_records.INSPECTION",
}

_loaded: dict[str, KindHandler] = {}


def kind_handler(kind: str) -> KindHandler | None:
    if kind not in KIND_HANDLERS:
        return None
    if kind not in _loaded:
        _loaded[kind] = import_string(KIND_HANDLERS[kind])
    return _loaded[kind]


def parse_data(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """A record's ``data`` validated by its kind's model; ``invalid_record`` (400) with
    each error's location otherwise."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise InvalidInput(
            _("记录内容无效"),
            code="invalid_record",
            details={
                "errors": [
                    {"location": [str(p) for p in e["loc"]], "message": e["msg"]}
                    for e in exc.errors()
                ]
            },
        ) from exc
