"""Running the coverage check against the database: linking, evaluating, explaining.

What counts for an activity:
- recordings linked to it (automatically when the recording's officer took part and the
  recording overlaps the window ± ``FV_COVERAGE_LINK_BUFFER_SECONDS``, or by a person),
  attributed to the link's officer;
- only recordings in custody (state ``stored``, or ``destroyed`` once their retention ran
  out: they were held when it mattered): a clip announced but not yet stored is
  linked, counted in ``detail.recordings_pending_storage``, and the activity is
  re-checked when it is stored (footage.after_stored, wired in backend/wiring/registry.py);
- times are the clock-corrected ``Recording.started_at/ended_at``. **Unknown clock
  offset:** ``Recording.clock_offset_ms`` has no "unknown" value, so a recording's offset
  counts as unknown when its device had no clock measurement (ClockReading) at or
  before the moment the recording row was written: its corrected times were then
  computed without a measured offset. (Sync measures the clock in the same transaction
  before it announces clips, so its recordings always count as placed.) A measurement
  taken later does not make such a recording placeable — its stored times were not
  corrected by it; a corrected time must come through
  :func:`coverage_on_recording_time_changed` (after ``coverage.retime.recordings_retime``,
  whose history row makes the recording count as placed). Such recordings are passed to the check
  with ``offset_known=False``; the check then answers ``undecidable`` unless the
  placeable recordings already satisfy the rule.

Re-checks touch only the affected activities: the activity that closed or whose links
changed, or the activities linked to a recording that was stored, corrected or removed.

The package, by sub-domain: ``evaluation`` (one activity's verdict, stored), ``linking``
(automatic links), ``rechecks`` (what re-checks which activities, one by one and in bulk),
``manual`` (links and exclusions by a person, gap explanations).
"""

from backend.coverage.services.evaluation import (
    COUNTED_STATES,
    NEVER_LINKED_STATES,
    OFFICER_FIELDS,
    coverage_evaluate,
    coverage_rule_from,
    link_buffer,
    result_window,
)
from backend.coverage.services.manual import (
    explanation_decide,
    explanation_submit,
    recording_link_add,
    recording_link_remove,
)
from backend.coverage.services.rechecks import (
    RECHECK_CHUNK,
    coverage_activity_refresh,
    coverage_on_recording_removed,
    coverage_on_recording_stored,
    coverage_on_recording_time_changed,
    coverage_recheck_range,
)

__all__ = [
    "COUNTED_STATES",
    "NEVER_LINKED_STATES",
    "OFFICER_FIELDS",
    "RECHECK_CHUNK",
    "coverage_activity_refresh",
    "coverage_evaluate",
    "coverage_on_recording_removed",
    "coverage_on_recording_stored",
    "coverage_on_recording_time_changed",
    "coverage_recheck_range",
    "coverage_rule_from",
    "explanation_decide",
    "explanation_submit",
    "link_buffer",
    "recording_link_add",
    "recording_link_remove",
    "result_window",
]
