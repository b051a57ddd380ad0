"""Cross-check of a check-in against the footage linked to it (pure).

A check-in says "the subject was here, at this time". The recordings linked to it carry
their own GPS fix and clock-corrected span. A known spoof is a subject "checking in" by
video call while away: the footage then shows another place or another time. The
check-in is flagged when no linked footage overlaps its time (with slack for clock drift),
when footage with GPS lies farther from the reported place than `max_distance_m`, or when
identity was verified by video call (报到 is in person at the justice office: a video call
is exactly how the spoof is done). Footage without any GPS fix cannot prove the place; that
is noted (`footage_without_gps`) but is not by itself a mismatch.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any

CONSISTENT = "consistent"
MISMATCH = "mismatch"
NO_FOOTAGE = "no_footage"

VIDEO_CALL = "video_call"
BLOCKING = frozenset({"time_mismatch", "place_mismatch", "identity_by_video_call"})

DEFAULT_MAX_DISTANCE_M = 300.0
DEFAULT_TIME_SLACK = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class FootageFix:
    recording_id: str
    started_at: datetime.datetime
    ended_at: datetime.datetime
    latitude: float | None
    longitude: float | None


@dataclass
class CrossCheckResult:
    status: str
    findings: list[dict[str, Any]] = field(default_factory=list)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    radius = 6_371_000.0
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = math.radians(lat2 - lat1)
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


def crosscheck_checkin(
    *,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    latitude: float | None,
    longitude: float | None,
    footage: list[FootageFix],
    identity_method: str = "",
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    time_slack: datetime.timedelta = DEFAULT_TIME_SLACK,
) -> CrossCheckResult:
    findings: list[dict[str, Any]] = []
    if identity_method == VIDEO_CALL:
        findings.append(
            {"code": "identity_by_video_call", "message": "以视频通话核验身份，报到须本人到场"}
        )
    if not footage:
        findings.append({"code": "no_footage", "message": "未关联音像记录"})
        return CrossCheckResult(
            MISMATCH if findings[0]["code"] in BLOCKING else NO_FOOTAGE, findings
        )
    overlapping = [
        fix
        for fix in footage
        if fix.started_at - time_slack <= ended_at and fix.ended_at + time_slack >= started_at
    ]
    if not overlapping:
        findings.append(
            {
                "code": "time_mismatch",
                "message": "关联音像记录的时间与报到时间不符",
                "recording_ids": [fix.recording_id for fix in footage],
            }
        )
    if latitude is None or longitude is None:
        findings.append({"code": "reported_place_without_gps", "message": "报到未记录定位"})
    else:
        if all(fix.latitude is None or fix.longitude is None for fix in footage):
            findings.append(
                {"code": "footage_without_gps", "message": "关联音像记录无定位，无法核对地点"}
            )
        for fix in footage:
            if fix.latitude is None or fix.longitude is None:
                continue
            meters = distance_m(latitude, longitude, fix.latitude, fix.longitude)
            if meters > max_distance_m:
                findings.append(
                    {
                        "code": "place_mismatch",
                        "message": "关联音像记录的定位与报到地点不符",
                        "recording_id": fix.recording_id,
                        "distance_m": round(meters),
                    }
                )
    status = MISMATCH if any(f["code"] in BLOCKING for f in findings) else CONSISTENT
    return CrossCheckResult(status, findings)
