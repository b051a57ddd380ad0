"""Stable reason codes for damaged or suspicious originals, with text a person understands.

The codes are part of the contract with the Django side and the web UI: they are stored on
the recording and never renamed. The messages are shown to supervisors, Chinese first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ReasonCode(StrEnum):
    """Why an original is damaged (``severity == "damaged"``) or only flagged (warning)."""

    MOOV_MISSING = "moov_missing"
    EMPTY_FILE = "empty_file"
    NOT_MEDIA = "not_media"
    WRONG_EXTENSION = "wrong_extension"
    DIMENSIONS_TOO_LARGE = "dimensions_too_large"
    UNDECODABLE = "undecodable"
    PARTLY_CORRUPT = "partly_corrupt"


# Warnings still end in ``ready``; everything else ends in ``damaged``.
WARNING_CODES: frozenset[ReasonCode] = frozenset(
    {ReasonCode.WRONG_EXTENSION, ReasonCode.PARTLY_CORRUPT}
)

_MESSAGES: dict[ReasonCode, tuple[str, str]] = {
    ReasonCode.MOOV_MISSING: (
        "文件不完整：缺少索引（moov），可能因断电中断录制",
        "Incomplete file: index (moov atom) missing, recording probably cut by power loss",
    ),
    ReasonCode.EMPTY_FILE: (
        "文件为空（0 字节），设备未写入任何数据",
        "Empty file (0 bytes): the device wrote no data",
    ),
    ReasonCode.NOT_MEDIA: (
        "不是可识别的音视频或照片文件",
        "Not a recognisable audio, video or photo file",
    ),
    ReasonCode.WRONG_EXTENSION: (
        "文件扩展名与实际内容不符，已按实际内容处理",
        "File extension does not match the content; processed by its content",
    ),
    ReasonCode.DIMENSIONS_TOO_LARGE: (
        "画面尺寸异常过大，为保护系统未做处理",
        "Declared picture size is implausibly large; not processed to protect the system",
    ),
    ReasonCode.UNDECODABLE: (
        "文件无法解码，内容可能已损坏",
        "The file cannot be decoded; its content is probably damaged",
    ),
    ReasonCode.PARTLY_CORRUPT: (
        "文件部分损坏：解码时发现错误，已生成可播放副本",
        "Partly corrupt: decoding reported errors; a playable copy was still made",
    ),
}


@dataclass(frozen=True)
class Reason:
    """One reason code with its human text (zh first) and machine-readable details."""

    code: ReasonCode
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_warning(self) -> bool:
        """True when the original is still processed (``ready``) despite this reason."""
        return self.code in WARNING_CODES

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for storing on the recording."""
        return {
            "code": self.code.value,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "details": dict(self.details),
        }


def make_reason(
    code: ReasonCode, *, detail_zh: str = "", detail_en: str = "", **details: Any
) -> Reason:
    """Build a :class:`Reason` with the standard text for ``code``, optionally extended."""
    zh, en = _MESSAGES[code]
    if detail_zh:
        zh = f"{zh}（{detail_zh}）"
    if detail_en:
        en = f"{en} ({detail_en})"
    return Reason(code=code, message_zh=zh, message_en=en, details=details)


class ToolTimeout(Exception):
    """ffmpeg ran longer than allowed. Transient (machine overloaded): retry, do not mark
    the original damaged."""

    def __init__(self, tool: str, timeout_s: float) -> None:
        super().__init__(f"{tool} exceeded {timeout_s:.0f} s")
        self.tool = tool
        self.timeout_s = timeout_s


class MediaUnreadable(Exception):
    """The file cannot be opened as media. Carries a stable reason code and human text."""

    def __init__(
        self,
        reason_code: ReasonCode,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        tool_output: str = "",
    ) -> None:
        default_zh, default_en = _MESSAGES[reason_code]
        self.reason_code = reason_code
        self.message_zh = message_zh or default_zh
        self.message_en = message_en or default_en
        # Last lines of ffmpeg/PyAV output, for operators; never shown as the main message.
        self.tool_output = tool_output
        super().__init__(f"{reason_code.value}: {self.message_en}")

    def to_reason(self) -> Reason:
        """The same information as a :class:`Reason` for a processing outcome."""
        details: dict[str, Any] = {}
        if self.tool_output:
            details["tool_output"] = self.tool_output
        return Reason(
            code=self.reason_code,
            message_zh=self.message_zh,
            message_en=self.message_en,
            details=details,
        )
