"""Community correction services, split by sub-domain; import from here.

subjects: registration and schedules; contacts: check-ins/visits/talks from tablets;
transfers: 变更执行地; overdue: overdue alerts; contact_log: contacts logged in the browser.
"""

from backend.corrections.services.contact_log import (
    contact_log,
)
from backend.corrections.services.contacts import (
    ACTIVITY_STAGE,
    ContactInput,
    activity_link_later,
    checkin_crosscheck,
    checkins_recheck,
    contact_activity_link,
    contact_copy,
    contact_delete,
    contact_times,
    contact_write,
    contacts_insert_pending,
    contacts_link_redrive,
    footage_fix,
    subjects_by_id,
)
from backend.corrections.services.overdue import (
    OVERDUE_LOOKBACK_DAYS,
    SubjectObligation,
    obligations_due,
    overdue_event,
    overdue_scan,
)
from backend.corrections.services.subjects import (
    SUBJECT_KIND,
    ScheduleInput,
    subject_copy,
    subject_create,
    subject_update,
)
from backend.corrections.services.transfers import (
    SUBJECT_WRITE_ROLES,
    holder_on,
    subject_holders,
    subject_transfer,
    user_supervises_offices,
)

__all__ = [
    "ACTIVITY_STAGE",
    "OVERDUE_LOOKBACK_DAYS",
    "SUBJECT_KIND",
    "SUBJECT_WRITE_ROLES",
    "ContactInput",
    "ScheduleInput",
    "SubjectObligation",
    "activity_link_later",
    "checkin_crosscheck",
    "checkins_recheck",
    "contact_activity_link",
    "contact_copy",
    "contact_delete",
    "contact_log",
    "contact_times",
    "contact_write",
    "contacts_insert_pending",
    "contacts_link_redrive",
    "footage_fix",
    "holder_on",
    "obligations_due",
    "overdue_event",
    "overdue_scan",
    "subject_copy",
    "subject_create",
    "subject_holders",
    "subject_transfer",
    "subject_update",
    "subjects_by_id",
    "user_supervises_offices",
]

from backend.corrections.services.positioning import (
    IngestResult,
    PositionIn,
    area_set,
    point_in_geometry,
    position_alert_close,
    positioning_bind,
    positions_ingest,
)
from backend.corrections.services.privacy import (
    TRACK_ROLES,
    PurgeResult,
    Track,
    may_view_tracks,
    positions_purge,
    track_in_scope,
    track_view,
)
from backend.corrections.services.steps import (
    permission_decide,
    permission_request,
    step_record,
    subject_stage,
)

__all__ += [
    "IngestResult",
    "PositionIn",
    "area_set",
    "permission_decide",
    "permission_request",
    "point_in_geometry",
    "position_alert_close",
    "positioning_bind",
    "positions_ingest",
    "step_record",
    "subject_stage",
]

__all__ += [
    "TRACK_ROLES",
    "PurgeResult",
    "Track",
    "may_view_tracks",
    "positions_purge",
    "track_in_scope",
    "track_view",
]
