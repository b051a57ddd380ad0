"""Audit events as sentences people read: who did what to which object, with names.

The audit log stores codes (`recording.verified`, actor ids, object ids, a JSON payload) so that
its hash chain is stable; this module turns a page of events into lines such as
"王执法 · 设备 执法记录仪 DSJ-001 · 核验音像记录 DSJ_0001.MP4（SHA-256 一致）". Names are
resolved for the whole page at once (one query per kind of object on the page), so a page of
50 events costs a fixed handful of queries whatever they are about.

Used by the audit-log page, its XLSX export and the chain of custody on a recording's page.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.accounts.models import Officer, Unit, User
from backend.audit.models import ActorKind, AuditEvent
from backend.corrections.models import Subject
from backend.devices.models import Device, DeviceAssignment
from backend.enforcement.models import Activity
from backend.footage.models import Recording
from backend.review.models import AccessRequest

# What each event says it did, as a verb phrase in front of its object.
VERBS: dict[str, Any] = {
    "access_approver.named": gettext_lazy("指定调阅审批人"),
    "access_approver.withdrawn": gettext_lazy("撤销调阅审批人"),
    "access_grant.revoked": gettext_lazy("撤销调阅授权"),
    "access_register.exported": gettext_lazy("导出查阅登记簿"),
    "access_request.approved": gettext_lazy("批准调阅申请"),
    "access_request.created": gettext_lazy("提交调阅申请"),
    "access_request.document_added": gettext_lazy("为调阅申请添加材料"),
    "access_request.rejected": gettext_lazy("驳回调阅申请"),
    "activity.closed": gettext_lazy("结束执法活动"),
    "activity.created": gettext_lazy("开始执法活动"),
    "activity.moment_added": gettext_lazy("记录执法环节时刻"),
    "correction_checkin.rechecked": gettext_lazy("复核报到"),
    "correction_overdue.due_date_recomputed": gettext_lazy("重算逾期期限"),
    "correction_overdue.raised": gettext_lazy("发出逾期提醒"),
    "correction_subject.created": gettext_lazy("登记社区矫正对象"),
    "correction_subject.updated": gettext_lazy("修改社区矫正对象信息"),
    "corrections.subject_transferred": gettext_lazy("移交社区矫正对象"),
    "coverage.explanation_decided": gettext_lazy("审核中断说明"),
    "coverage.explanation_submitted": gettext_lazy("提交中断说明"),
    "coverage.link_added": gettext_lazy("将音像记录关联到执法活动"),
    "coverage.link_removed": gettext_lazy("解除音像记录与执法活动的关联"),
    "destruction.approved": gettext_lazy("批准销毁批次"),
    "destruction.cancelled": gettext_lazy("取消销毁批次"),
    "destruction.executed": gettext_lazy("执行销毁批次"),
    "destruction.item_destroyed": gettext_lazy("销毁音像记录"),
    "destruction.item_recovered": gettext_lazy("恢复待销毁的音像记录"),
    "destruction.item_skipped": gettext_lazy("跳过销毁"),
    "destruction.prepared": gettext_lazy("编制销毁批次"),
    "destruction.queued": gettext_lazy("排队执行销毁"),
    "device.assigned": gettext_lazy("分配设备"),
    "device.enrolled": gettext_lazy("注册设备"),
    "device.enrolment_code_issued": gettext_lazy("签发设备注册码"),
    "device.enrolment_code_redeemed": gettext_lazy("使用设备注册码"),
    "device.revoked": gettext_lazy("停用设备"),
    "device.ledger_changed": gettext_lazy("登记设备台账状态"),
    "export.proxies_failed": gettext_lazy("生成带水印副本失败"),
    "export.proxies_ready": gettext_lazy("生成带水印副本"),
    "export.proxies_withdrawn": gettext_lazy("收回带水印副本"),
    "fixity.alert": gettext_lazy("发现存储完整性异常"),
    "fixity.alert_acknowledged": gettext_lazy("确认存储完整性告警"),
    "inspection.publish_by_recomputed": gettext_lazy("重算抽查结果公示期限"),
    "inspection.published": gettext_lazy("公示抽查结果"),
    "inspection_items.imported": gettext_lazy("导入抽查事项清单"),
    "inspection_targets.imported": gettext_lazy("导入检查对象名录"),
    "inspector_conflict.declared": gettext_lazy("申报回避"),
    "login.ip_throttled": gettext_lazy("因多次登录失败暂停该地址登录"),
    "login.succeeded": gettext_lazy("登录"),
    "officer.imported": gettext_lazy("导入执法人员"),
    "officer.updated": gettext_lazy("修改执法人员信息"),
    "public_item.offered": gettext_lazy("提交公示信息"),
    "public_item.reoffered": gettext_lazy("更新待公示信息"),
    "public_item.published": gettext_lazy("公示执法信息"),
    "public_item.excluded": gettext_lazy("决定不予公开"),
    "public_item.withdrawn": gettext_lazy("撤下公示信息"),
    "public_item.expired": gettext_lazy("公开期满撤下公示信息"),
    "public_item.publish_by_recomputed": gettext_lazy("重算公示期限"),
    "public_item.error_reported": gettext_lazy("收到公示信息纠错"),
    "public_item.error_report_handled": gettext_lazy("处理公示信息纠错"),
    "public_item.corrected": gettext_lazy("更正公示信息"),
    "public_notice.saved": gettext_lazy("更新救济途径与投诉举报渠道"),
    "yearly_report.filed": gettext_lazy("报送行政执法统计年报"),
    "random_draw.drawn": gettext_lazy("随机抽取检查对象和人员"),
    "record_list.imported": gettext_lazy("导入音像记录事项清单"),
    "record_rule.edited": gettext_lazy("修改记录事项规则"),
    "recording.hash_mismatch": gettext_lazy("发现音像记录哈希不一致"),
    "recording.processing_failed": gettext_lazy("转码处理失败"),
    "recording.processing_lease_expired": gettext_lazy("转码处理超时"),
    "recording.processing_queued": gettext_lazy("排队转码处理"),
    "recording.processing_started": gettext_lazy("开始转码处理"),
    "recording.processing_ready": gettext_lazy("完成转码处理，可播放"),
    "recording.processing_damaged": gettext_lazy("转码处理发现文件损坏"),
    "recording.processing_pending": gettext_lazy("等待转码处理"),
    "recording.processing_processing": gettext_lazy("转码处理中"),
    "recording.viewed": gettext_lazy("查看音像记录"),
    "recording.downloaded": gettext_lazy("下载音像记录原始文件"),
    "recording.exported": gettext_lazy("导出音像记录"),
    "recording.recovered_after_restore": gettext_lazy("恢复数据库后重新登记原始文件"),
    "device.manifest_synced": gettext_lazy("同步设备清单"),
    "dock.camera_assigned": gettext_lazy("将采集工作站登记的设备分配给执法人员"),
    "dock.camera_refused": gettext_lazy("拒绝采集工作站代传他单位或已停用的设备"),
    "dock.camera_registered": gettext_lazy("采集工作站登记新设备（待分配）"),
    "dock.manifest_synced": gettext_lazy("采集工作站代设备同步清单"),
    "storage.reconciled": gettext_lazy("数据库与原始文件存储对账"),
    "sync.records_pushed": gettext_lazy("上传平板工作记录"),
    "upload.created": gettext_lazy("开始上传"),
    "upload.completed": gettext_lazy("完成上传"),
    "upload.expired": gettext_lazy("上传过期"),
    "upload.superseded": gettext_lazy("上传被新的上传取代"),
    "upload.terminated": gettext_lazy("终止上传"),
    "recording.storage_failed": gettext_lazy("存储音像记录失败"),
    "recording.stored": gettext_lazy("存入对象存储（锁定）"),
    "recording.time_corrected": gettext_lazy("校正音像记录时间"),
    "recording.verified": gettext_lazy("核验音像记录（SHA-256 一致）"),
    "retention.approver_designated": gettext_lazy("指定销毁审批领导"),
    "retention.approver_withdrawn": gettext_lazy("撤销销毁审批领导"),
    "retention.hold_placed": gettext_lazy("设置法律保全"),
    "retention.hold_released": gettext_lazy("解除法律保全"),
    "retention.legal_hold_object": gettext_lazy("对存储对象设置法律保全"),
    "retention.lock_extended": gettext_lazy("延长对象锁定期限"),
    "retention.mark_added": gettext_lazy("添加证据标记"),
    "retention.mark_withdrawn": gettext_lazy("撤销证据标记"),
    "retention.policy_changed": gettext_lazy("修改保存期限策略"),
    "workcalendar.year_entered": gettext_lazy("录入年度节假日安排"),
    "correction_contact.logged": gettext_lazy("登记矫正工作记录"),
    "correction_area.set": gettext_lazy("设定矫正对象活动区域"),
    "correction_positioning.bound": gettext_lazy("绑定定位终端"),
    "correction_position_alert.closed": gettext_lazy("处置定位提醒"),
    "correction_track.viewed": gettext_lazy("查看定位轨迹"),
    "correction_positions.purged": gettext_lazy("清除超过保存期限的定位"),
    "correction_step.announcement": gettext_lazy("宣告社区矫正"),
    "correction_step.warning": gettext_lazy("给予警告"),
    "correction_step.revocation_proposal": gettext_lazy("提请收监执行"),
    "correction_step.release": gettext_lazy("解除社区矫正"),
    "correction_permission.requested": gettext_lazy("提交外出、会客或迁居申请"),
    "correction_permission.approved": gettext_lazy("批准外出、会客或迁居"),
    "correction_permission.rejected": gettext_lazy("不批准外出、会客或迁居"),
    "device.enrolment_refused": gettext_lazy("拒绝用注册码接管已注册设备"),
    "device.re_enrolled": gettext_lazy("重新注册设备（换发凭据）"),
    "staging.admission_refused": gettext_lazy("因暂存空间不足拒收上传"),
    "upload.abandoned_reclaimed": gettext_lazy("回收长期无进展的上传"),
    "upload.staging_lost": gettext_lazy("发现上传暂存文件丢失，重新上传"),
    "integrity.day_sealed": gettext_lazy("封存当日默克尔树根"),
    "integrity.day_stamped": gettext_lazy("为当日树根取得可信时间戳"),
    "case.opened": gettext_lazy("立案"),
    "review_catalogue.imported": gettext_lazy("导入法制审核目录清单"),
    "enforcement_matters.imported": gettext_lazy("导入行政执法事项清单"),
    "case.activity_linked": gettext_lazy("将执法活动归入案卷"),
    "case.recording_linked": gettext_lazy("将音像记录归入案卷"),
    "case.document_added": gettext_lazy("向案卷添加执法文书"),
    "case.stage_entered": gettext_lazy("案件进入新阶段"),
    "case.archived": gettext_lazy("案卷归档"),
    "case.review_submitted": gettext_lazy("送法制审核"),
    "case.review_taken": gettext_lazy("承担法制审核"),
    "case.review_paused": gettext_lazy("暂停法制审核计时"),
    "case.review_resumed": gettext_lazy("恢复法制审核计时"),
    "case.review_extended": gettext_lazy("批准延长法制审核期限"),
    "case.review_opinion": gettext_lazy("出具法制审核意见"),
    "case.review_opinion_adopted": gettext_lazy("采纳法制审核意见"),
    "case.review_disputed": gettext_lazy("对法制审核意见提出异议"),
    "case.review_head_decided": gettext_lazy("负责人处理审核分歧"),
    "case.review_due_recomputed": gettext_lazy("重算法制审核期限"),
    "case.decided": gettext_lazy("作出执法决定"),
    "case.decision_revoked": gettext_lazy("登记执法决定撤销"),
    "case.file_printed": gettext_lazy("打印案卷"),
    "case.archive_overdue": gettext_lazy("案卷逾期未归档提醒"),
    "case.document_read": gettext_lazy("调阅案卷材料"),
    "library_case.started": gettext_lazy("选编典型案例"),
    "library_case.edited": gettext_lazy("修改典型案例"),
    "library_case.redaction_added": gettext_lazy("为典型案例增加一处脱敏"),
    "library_case.redaction_undone": gettext_lazy("撤销典型案例的一处脱敏"),
    "library_case.redaction_restored": gettext_lazy("恢复典型案例的一处脱敏"),
    "library_case.submitted": gettext_lazy("署名报送典型案例"),
    "library_case.approved": gettext_lazy("审核通过典型案例"),
    "library_case.returned": gettext_lazy("退回典型案例"),
    "library_case.rejected": gettext_lazy("决定典型案例不予入库"),
    "library_case.accepted": gettext_lazy("典型案例审核通过并入库"),
    "library_package.built": gettext_lazy("生成案例报送包"),
    "library_package.imported": gettext_lazy("导入案例报送包"),
}

OBJECT_KINDS: dict[str, Any] = {
    "recording": gettext_lazy("音像记录"),
    "activity": gettext_lazy("执法活动"),
    "access_request": gettext_lazy("调阅申请"),
    "destruction_batch": gettext_lazy("销毁批次"),
    "storage_reconciliation": gettext_lazy("存储对账"),
    "user": gettext_lazy("用户"),
    "object": gettext_lazy("存储对象"),
    "officer": gettext_lazy("执法人员"),
    "export": gettext_lazy("导出包"),
    "device": gettext_lazy("设备"),
    "correction_subject": gettext_lazy("社区矫正对象"),
    "unit": gettext_lazy("单位"),
    "overdue_alert": gettext_lazy("逾期提醒"),
    "legal_hold": gettext_lazy("法律保全"),
    "inspection": gettext_lazy("检查"),
    "public_item": gettext_lazy("公示信息"),
    "yearly_report": gettext_lazy("统计年报"),
    "enrolment_code": gettext_lazy("设备注册码"),
    "username": gettext_lazy("用户名"),
    "retention_policy": gettext_lazy("保存期限策略"),
    "record_rule": gettext_lazy("记录事项规则"),
    "record_list": gettext_lazy("音像记录事项清单"),
    "random_draw": gettext_lazy("随机抽取"),
    "ip_address": gettext_lazy("网络地址"),
    "correction_contact": gettext_lazy("矫正工作记录"),
    "correction_positions": gettext_lazy("矫正对象定位"),
    "calendar_year": gettext_lazy("年度节假日安排"),
    "access_register": gettext_lazy("查阅登记簿"),
    "upload": gettext_lazy("上传"),
    "integrity_day": gettext_lazy("完整性日根"),
    "case": gettext_lazy("案件"),
    "library_case": gettext_lazy("典型案例"),
    "library_package": gettext_lazy("案例报送包"),
}

# Payload keys people care about, in the order shown; others are left to the raw view.
DETAIL_LABELS: dict[str, Any] = {
    "reason": gettext_lazy("理由"),
    "purpose": gettext_lazy("事由"),
    "note": gettext_lazy("备注"),
    "file_name": gettext_lazy("文件名"),
    "kind": gettext_lazy("类别"),
    "state": gettext_lazy("状态"),
    "previous_state": gettext_lazy("原状态"),
    "outcome": gettext_lazy("结果"),
    "error": gettext_lazy("错误"),
    "size": gettext_lazy("大小（字节）"),
    "serial": gettext_lazy("序列号"),
    "until": gettext_lazy("期限"),
    "title": gettext_lazy("标题"),
    "username": gettext_lazy("用户名"),
    "ip": gettext_lazy("地址"),
    "code": gettext_lazy("代码"),
    "authority": gettext_lazy("审批权限"),
    "approval": gettext_lazy("审批"),
    "certificate_number": gettext_lazy("证件编号"),
    "attempt": gettext_lazy("第几次"),
    "changed": gettext_lazy("变更"),
    "fields": gettext_lazy("字段"),
}


@dataclass
class EventLine:
    event: AuditEvent
    actor: str
    verb: str
    object_kind: str
    object_title: str
    object_url: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sentence(self) -> str:
        target = f"{self.object_kind} {self.object_title}".strip()
        return f"{self.actor} · {self.verb}" + (f" · {target}" if target else "")


def _uuid_keys(values: Iterable[str]) -> list[uuid.UUID]:
    keys = []
    for value in values:
        try:
            keys.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return keys


def _int_keys(values: Iterable[str]) -> list[int]:
    return [int(value) for value in values if str(value).isdigit() and len(str(value)) < 18]


def _detail_value(value: object) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list | tuple):
        shown = ", ".join(str(item) for item in list(value)[:5])
        return shown + (f" …（{len(value)}）" if len(value) > 5 else "")
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in list(value.items())[:5])
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


class _Names:
    """Titles of the objects and actors of a page of events, fetched once per kind."""

    def __init__(self, events: list[AuditEvent]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for event in events:
            if event.actor_kind == ActorKind.USER:
                wanted["user"].add(event.actor_id)
            elif event.actor_kind == ActorKind.DEVICE:
                wanted["device"].add(event.actor_id)
            if event.object_id:
                wanted[event.object_type].add(event.object_id)
        self.users = {
            str(u.pk): u
            for u in User.objects.filter(pk__in=_int_keys(wanted["user"])).only(
                "id", "username", "first_name", "last_name", "role"
            )
        }
        self.devices = {
            str(d.pk): d
            for d in Device.objects.filter(pk__in=_uuid_keys(wanted["device"])).only(
                "id", "kind", "serial"
            )
        }
        # Who held each device when (the event names the holder at its own time).
        self.holders: dict[str, list[DeviceAssignment]] = defaultdict(list)
        for assignment in DeviceAssignment.objects.filter(
            device_id__in=_uuid_keys(self.devices)
        ).select_related("officer"):
            self.holders[str(assignment.device_id)].append(assignment)
        self.recordings = {
            str(r.pk): r.file_name
            for r in Recording.objects.filter(pk__in=_uuid_keys(wanted["recording"])).only(
                "id", "file_name"
            )
        }
        self.activities = {
            str(a.pk): a
            for a in Activity.objects.filter(pk__in=_uuid_keys(wanted["activity"])).only(
                "id", "external_ref", "category", "stage", "started_at"
            )
        }
        self.officers = {
            str(o.pk): o.name
            for o in Officer.objects.filter(pk__in=_int_keys(wanted["officer"])).only("id", "name")
        }
        self.subjects = {
            str(s.pk): s.name
            for s in Subject.objects.filter(pk__in=_uuid_keys(wanted["correction_subject"])).only(
                "id", "name"
            )
        }
        self.units = {
            str(u.pk): u.name
            for u in Unit.objects.filter(pk__in=_int_keys(wanted["unit"])).only("id", "name")
        }
        self.requests = {
            str(r.pk): r.purpose
            for r in AccessRequest.objects.filter(pk__in=_uuid_keys(wanted["access_request"])).only(
                "id", "purpose"
            )
        }

    def actor(self, event: AuditEvent) -> str:
        if event.actor_kind == ActorKind.SYSTEM:
            return _("系统")
        if event.actor_kind == ActorKind.DEVICE:
            device = self.devices.get(event.actor_id)
            if device is None:
                return _("设备（已删除）")
            held = [
                a.officer.name
                for a in self.holders.get(event.actor_id, [])
                if a.starts_at <= event.occurred_at
                and (a.ends_at is None or event.occurred_at < a.ends_at)
            ]
            holder = f"（{held[0]}）" if held else ""
            return f"{_('设备')} {device}{holder}"
        user = self.users.get(event.actor_id)
        if user is None:
            return _("用户（已删除）")
        return f"{user.get_full_name() or user.username}（{user.get_role_display()}）"

    def object(self, event: AuditEvent) -> tuple[str, str | None]:
        key, kind = event.object_id, event.object_type
        if not key:
            return "", None
        if kind == "recording" and key in self.recordings:
            return self.recordings[key], reverse("review:recording", args=[key])
        if kind == "activity" and key in self.activities:
            activity = self.activities[key]
            title = activity.external_ref or f"{activity.category} · {activity.stage}"
            return title, reverse("review:activity", args=[key])
        if kind == "access_request" and key in self.requests:
            purpose = self.requests[key]
            short = purpose if len(purpose) <= 24 else purpose[:23] + "…"
            return f"「{short}」", reverse("review:access_request", args=[key])
        if kind == "user" and key in self.users:
            user = self.users[key]
            return user.get_full_name() or user.username, None
        if kind == "device" and key in self.devices:
            return str(self.devices[key]), None
        if kind == "officer" and key in self.officers:
            return self.officers[key], None
        if kind == "correction_subject" and key in self.subjects:
            return self.subjects[key], None
        if kind == "unit" and key in self.units:
            return self.units[key], None
        return key if len(key) <= 20 else key[:8] + "…", None


def describe(events: Iterable[AuditEvent]) -> list[EventLine]:
    """The events as readable lines, names resolved for all of them at once."""
    events = list(events)
    names = _Names(events)
    lines = []
    for event in events:
        title, url = names.object(event)
        data = event.data if isinstance(event.data, dict) else {}
        details = [
            (str(label), _detail_value(data[key]))
            for key, label in DETAIL_LABELS.items()
            if key in data and data[key] not in (None, "", [], {})
        ]
        lines.append(
            EventLine(
                event=event,
                actor=names.actor(event),
                verb=str(VERBS.get(event.action, event.action)),
                object_kind=str(OBJECT_KINDS.get(event.object_type, event.object_type)),
                object_title=title,
                object_url=url,
                details=details,
            )
        )
    return lines
