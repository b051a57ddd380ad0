from django.contrib import admin

from backend.footage.models import (
    Recording,
    RecordingDerivative,
    RecordingMetadata,
    RecordingProcessing,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Read-only: recordings change only through services, which audit every change."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "device", "officer", "started_at", "state", "size_bytes")
    list_filter = ("state", "media_kind")
    search_fields = ("clip_id", "sha256", "file_name")


@admin.register(RecordingProcessing)
class RecordingProcessingAdmin(ReadOnlyAdmin):
    list_display = ("recording", "state", "reason_code", "attempts", "worker_id", "finished_at")
    list_filter = ("state", "reason_code")
    search_fields = ("recording__clip_id", "recording__sha256")


@admin.register(RecordingMetadata)
class RecordingMetadataAdmin(ReadOnlyAdmin):
    list_display = ("recording", "container", "video_codec", "duration_seconds", "decode_errors")
    list_filter = ("container", "file_time_disagrees")


@admin.register(RecordingDerivative)
class RecordingDerivativeAdmin(ReadOnlyAdmin):
    list_display = ("recording", "profile", "key", "size_bytes")
    list_filter = ("profile",)
