"""Every write of the cases app, by sub-domain: the case file, the legal review, the
decision."""

from backend.cases.services.case_file import (
    CaseInput,
    case_activity_link,
    case_archive,
    case_document_add,
    case_number,
    case_open,
    case_recording_link,
    case_stage_advance,
    document_read,
)
from backend.cases.services.decision import (
    DECISION_MADE,
    DECISION_REVOKED,
    decision_record,
    decision_revoke,
)
from backend.cases.services.review import (
    REVIEW_POINTS,
    review_accept,
    review_deadline,
    review_extend,
    review_head_decide,
    review_object,
    review_opinion,
    review_pause,
    review_resume,
    review_submit,
    review_take,
)

__all__ = [
    "DECISION_MADE",
    "DECISION_REVOKED",
    "REVIEW_POINTS",
    "CaseInput",
    "case_activity_link",
    "case_archive",
    "case_document_add",
    "case_number",
    "case_open",
    "case_recording_link",
    "case_stage_advance",
    "decision_record",
    "decision_revoke",
    "document_read",
    "review_accept",
    "review_deadline",
    "review_extend",
    "review_head_decide",
    "review_object",
    "review_opinion",
    "review_pause",
    "review_resume",
    "review_submit",
    "review_take",
]
