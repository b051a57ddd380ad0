"""Channel groups and events of community correction (no Django-channels consumer here:
domain code only publishes; see backend/corrections/consumers.py for the stream)."""

from __future__ import annotations

from typing import Any

from sync.events import groups_for_unit_path, publish

ALL_OFFICES_GROUP = "fv.corrections.all"
CORRECTION_STREAM_ROLES = {"correction_officer", "supervisor", "system_admin"}


def office_group(unit_id: int) -> str:
    return f"fv.corrections.unit.{unit_id}"


def correction_groups(unit_path: str) -> list[str]:
    """The office and every unit above it (its supervisors), and all-offices. The
    responsible officer is in the office: the event names them (`officer_id`,
    `officer_user_id`) so their client can tell "mine" from the office's."""
    groups = [ALL_OFFICES_GROUP]
    groups.extend(office_group(int(part)) for part in unit_path.strip("/").split("/") if part)
    return groups


def publish_overdue(events: list[tuple[str, dict[str, Any], str]]) -> None:
    """(office path, event, subject name) → the corrections stream (with the name) and the
    supervisors' live view (without personal data)."""
    for path, event, subject_name in events:
        publish(
            correction_groups(path),
            {**event, "subject_name": subject_name},
        )
        publish(groups_for_unit_path(path), event)
