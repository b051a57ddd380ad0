from django.contrib import admin
from django.utils.translation import gettext as _

from backend.audit.services import Actor
from backend.enforcement.models import (
    Activity,
    ActivityMoment,
    ActivityOfficer,
    RecordList,
    RecordRule,
)
from backend.enforcement.services import record_rule_edited

# Above this many activities judged by an edited rule, the admin points to the command.
ADMIN_RECHECK_LIMIT = 300


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

    def save_formset(self, request, form, formset, change):  # type: ignore[no-untyped-def]
        super().save_formset(request, form, formset, change)
        if formset.model is not RecordRule:
            return
        pending = []
        for rule_form in formset.forms:
            rule = rule_form.instance
            if rule.pk is None or not rule_form.has_changed() or rule in formset.deleted_objects:
                continue
            _moved, rechecked = record_rule_edited(
                rule=rule,
                changed=list(rule_form.changed_data),
                actor=Actor.user(request.user),
                recheck_limit=ADMIN_RECHECK_LIMIT,
            )
            if rechecked is None:
                pending.append(rule.pk)
        for rule_id in pending:
            self.message_user(
                request,
                _("请运行 python manage.py coverage_recheck --rule %(rule)d 重新检查。")
                % {"rule": rule_id},
            )


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
        # A changed category/stage/item can move activities to or from this rule; a
        # changed grace, officer count or text changes the verdicts judged by it.
        moved, rechecked = record_rule_edited(
            rule=obj,
            changed=list(form.changed_data) if change else ["required"],
            actor=Actor.user(request.user),
            recheck_limit=ADMIN_RECHECK_LIMIT,
        )
        if rechecked is None:
            message = _(
                "已更新 %(n)d 个执法活动的适用事项。按此事项判定的活动较多，"
                "请运行 python manage.py coverage_recheck --rule %(rule)d 重新检查。"
            ) % {"n": moved, "rule": obj.pk}
        else:
            message = _("已更新 %(n)d 个执法活动的适用事项，重新检查了 %(m)d 个执法活动。") % {
                "n": moved,
                "m": rechecked,
            }
        self.message_user(request, message)


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
