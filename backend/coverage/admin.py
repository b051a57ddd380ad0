from django.contrib import admin

from backend.coverage.models import CoverageEvaluation, GapExplanation, RecordingLink


class _ReadOnly(admin.ModelAdmin):
    """Read-only: links, verdicts and explanations change through services (audited)."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(CoverageEvaluation)
class CoverageEvaluationAdmin(_ReadOnly):
    list_display = ("activity", "verdict", "covered_fraction", "evaluated_at")
    list_filter = ("verdict",)


@admin.register(RecordingLink)
class RecordingLinkAdmin(_ReadOnly):
    list_display = ("activity", "recording", "officer", "source", "excluded", "reason")
    list_filter = ("source", "excluded")


@admin.register(GapExplanation)
class GapExplanationAdmin(_ReadOnly):
    list_display = ("activity", "officer", "reason", "state", "submitted_at", "decided_at")
    list_filter = ("reason", "state")
