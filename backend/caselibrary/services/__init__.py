"""Every write of the case library, by sub-domain: ``drafting`` (start a case from its
source, edit it), ``deidentify`` (the changes, with the project's one masker), ``review``
(submit under the author's name, the levels' verdicts, acceptance)."""

from backend.caselibrary.services.deidentify import (
    detector_findings,
    masked_sections,
    redaction_add,
    redaction_set_undone,
    segments,
)
from backend.caselibrary.services.drafting import library_case_edit, library_case_start
from backend.caselibrary.services.review import library_case_review, library_case_submit

__all__ = [
    "detector_findings",
    "library_case_edit",
    "library_case_review",
    "library_case_start",
    "library_case_submit",
    "masked_sections",
    "redaction_add",
    "redaction_set_undone",
    "segments",
]
