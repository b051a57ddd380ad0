"""The supervisors' live websocket: `/ws/events/` streams sync and processing events."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sync.events import ALL_UNITS_GROUP, unit_group

ROLES_WITH_LIVE_VIEW = {"supervisor", "system_admin", "storage_admin", "legal_officer"}


class LiveEventsConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.groups_joined = []
        if user is None or not user.is_authenticated or user.role not in ROLES_WITH_LIVE_VIEW:
            await self.close(code=4403)
            return
        if user.role == "system_admin" or user.unit_id is None:
            groups = [ALL_UNITS_GROUP] if user.role == "system_admin" else []
        else:
            groups = [unit_group(user.unit_id)]
        if not groups:
            await self.close(code=4403)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        await self.send_json({"type": "hello", "groups": len(groups)})

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def fv_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Read-only stream: anything a client sends is ignored.
        return
