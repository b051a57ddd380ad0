"""`/ws/corrections/`: live overdue alerts (逾期提醒) for correction officers and supervisors.

The supervisors' `/ws/events/` stream admits only supervisory roles; the officer responsible
for a subject must hear about a missed check-in too. A correction officer joins the group of
their own justice office (every alert names its responsible officer); a supervisor joins the
group of their unit, to which every office below it publishes; the system administrator
joins all. Events
here may carry the subject's name: only roles that may read the subject get this stream.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from backend.corrections.events import (
    ALL_OFFICES_GROUP,
    CORRECTION_STREAM_ROLES,
    office_group,
)


class CorrectionAlertsConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.groups_joined = []
        if user is None or not user.is_authenticated or user.role not in CORRECTION_STREAM_ROLES:
            await self.close(code=4403)
            return
        if user.role == "system_admin":
            groups = [ALL_OFFICES_GROUP]
        elif user.unit_id is not None:
            groups = [office_group(user.unit_id)]
        else:
            await self.close(code=4403)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        await self.send_json({"type": "hello", "stream": "corrections"})

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def fv_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        return  # read-only stream
