from django.contrib import admin
from django.utils.translation import gettext as _

from backend.enforcement.models import (
    Activity,
    ActivityMoment,
    ActivityOfficer,
    RecordList,
    RecordRule,
)
from backend.enforcement.services import activities_resolve_rules


class RecordRuleInline(admin.TabularInline):
    model = RecordRule
    extra = 0
    fields = (
        "sequence",
        "category",
        "stage",
        "item",
        "start_text",
        "stop_text",
        "start_moment",
        "stop_moment",
        "full_process",
        "required",
        "min_officers",
        "late_start_grace",
        "early_stop_grace",
        "max_split_gap",
    )


@admin.register(RecordList)
class RecordListAdmin(admin.ModelAdmin):
    """Versions are created by the import (record_list_import); rules stay editable here."""

    list_display = ("effective_from", "name", "source_file_name", "imported_at")
    readonly_fields = ("source_sha256", "imported_at", "imported_by")
    inlines = (RecordRuleInline,)


@admin.register(RecordRule)
class RecordRuleAdmin(admin.ModelAdmin):
    list_display = (
        "record_list",
        "sequence",
        "category",
        "stage",
        "item",
        "start_text",
        "stop_text",
        "full_process",
        "required",
        "min_officers",
        "late_start_grace",
        "early_stop_grace",
        "max_split_gap",
    )
    list_filter = ("record_list", "category", "full_process", "required")
    list_editable = ("full_process", "required", "min_officers")
    search_fields = ("category", "stage", "item", "start_text", "stop_text")

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        # A changed category/stage/item can move activities to or from this rule.
        moved = activities_resolve_rules(record_list=obj.record_list)
        self.message_user(
            request,
            _(
                "已更新 %(n)d 个执法活动的适用事项。"
                "修改宽限时间等参数后，请运行 coverage_recheck 重新检查。"
            )
            % {"n": moved},
        )


class ParticipantInline(admin.TabularInline):
    model = ActivityOfficer
    extra = 0
    readonly_fields = ("officer", "certificate_valid", "certificate_problem")
    can_delete = False


class MomentInline(admin.TabularInline):
    model = ActivityMoment
    extra = 0
    readonly_fields = ("code", "label", "occurred_at", "source", "reason")
    can_delete = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """Read-only: activities change through the API/services, which audit and re-check."""

    list_display = ("started_at", "stopped_at", "category", "stage", "unit", "state")
    list_filter = ("state", "category", "stage", "unit")
    inlines = (ParticipantInline, MomentInline)

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
