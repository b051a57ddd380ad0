"""The words of the dashboard's live feed (review/static/review/live.js), in the page's
language: every event type the server publishes (sync/events.py, footage, retention,
corrections, inspections) and the connection states. An unknown type shows as "其他事件",
never as its code."""

from __future__ import annotations

from django.utils.translation import gettext as _


def live_labels() -> dict[str, str]:
    return {
        "manifest": _("设备同步"),
        "clip_started": _("开始上传"),
        "bytes_received": _("上传中"),
        "verified": _("已校验"),
        "mismatch": _("哈希不符"),
        "stored": _("已入库"),
        "storage_failed": _("入库失败，稍后重试"),
        "queued": _("排队处理"),
        "processing": _("处理中"),
        "ready": _("可播放"),
        "damaged": _("文件损坏"),
        "failed": _("处理失败"),
        "destroyed": _("已销毁"),
        "fixity_alert": _("完整性校验异常"),
        "correction.overdue": _("社区矫正逾期提醒"),
        "inspection.publish_by_earlier": _("抽查结果公示期限提前"),
        "hello": _("已连接"),
        "other": _("其他事件"),
        "forbidden": _("无权限"),
        "reconnecting": _("已断开，重连中"),
    }
