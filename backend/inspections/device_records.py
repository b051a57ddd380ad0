"""The `inspection` record kind that inspectors' tablets sync (see sync/records/kinds.py).

Inspections are created by a random draw on the server and reach exactly their two drawn
inspectors' devices; on the tablet the inspector records arrival, departure, findings,
rectification and photos, offline, and pushes them. Devices cannot create or delete them.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.config.errors import InvalidInput
from backend.inspections.models import Inspection
from backend.inspections.services import (
    InspectionResultInput,
    inspection_copy,
    inspection_record_result,
)
from sync.records.kinds import DeviceContext, RecordCopy, StoredTime, parse_data


class InspectionData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arrived_at: datetime.datetime | None = Field(default=None, description="Device clock.")
    departed_at: datetime.datetime | None = None
    findings: str = Field(default="", max_length=20_000)
    rectification_required: bool = False
    rectification_deadline: datetime.date | None = None
    photo_recording_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class InspectionKindHandler:
    kind = "inspection"
    writable = True
    deletable = False

    def put(
        self, *, ctx: DeviceContext, record_id: uuid.UUID, data: dict[str, Any], existing: bool
    ) -> RecordCopy:
        if not existing:
            raise InvalidInput("检查由随机抽取产生，设备不能新建", code="inspection_not_found")
        parsed: InspectionData = parse_data(InspectionData, data)
        row = (
            Inspection.objects.filter(pk=record_id)
            .values_list("arrived_at", "device_arrived_at", "departed_at", "device_departed_at")
            .first()
        )
        stored: dict[str, datetime.datetime | None] = (
            dict(
                zip(
                    ("arrived_at", "device_arrived_at", "departed_at", "device_departed_at"),
                    row,
                    strict=True,
                )
            )
            if row
            else {}
        )

        def moment(name: str, value: datetime.datetime | None) -> tuple[Any, Any]:
            if value is None:
                return None, None
            server = stored.get(f"{name}_at")
            known = StoredTime(server, stored.get(f"device_{name}_at")) if server else None
            return ctx.corrected_unless_stored(value, stored=known, field_name=f"{name}_at")

        arrived, device_arrived = moment("arrived", parsed.arrived_at)
        departed, device_departed = moment("departed", parsed.departed_at)
        inspection = inspection_record_result(
            record_id=record_id,
            officer=ctx.officer,
            device=ctx.device,
            values=InspectionResultInput(
                arrived_at=arrived,
                departed_at=departed,
                device_arrived_at=device_arrived,
                device_departed_at=device_departed,
                findings=parsed.findings,
                rectification_required=parsed.rectification_required,
                rectification_deadline=parsed.rectification_deadline,
                photo_recording_ids=tuple(dict.fromkeys(parsed.photo_recording_ids)),
            ),
        )
        inspection = (
            Inspection.objects.select_related("item", "target")
            .prefetch_related("inspectors", "photos")
            .get(pk=inspection.pk)
        )
        return inspection_copy(inspection)

    def delete(self, *, ctx: DeviceContext, record_id: uuid.UUID) -> RecordCopy:
        raise NotImplementedError  # never called: deletable is False


INSPECTION = InspectionKindHandler()
