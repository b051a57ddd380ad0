"""`manage.py doctor`: what an operator checks after installing or upgrading, one line each.

Every check answers OK, WARN or FAIL, what it saw and, unless OK, the fix. FAIL means the
installation must not take evidence as it is (no ffmpeg, a bucket without Object Lock, an
application identity that may delete originals, an expired certificate, a backup that does
not ship, a clock off by more than allowed, a disk that fills before the projection's
quarter); WARN means something to look at (not configured, not measurable, soon due).

The checks touch the real parts: they run ffmpeg, open the font, ask S3 (and try one thing
the application's identity must not be allowed to do, expecting AccessDenied), read the
certificates, read the backup's replicated position, query the time source and measure disks.
"""

from __future__ import annotations

import datetime
import shutil
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.utils.translation import gettext as _

from backend.footage.storage import object_store
from backend.retention.continuity import BackupPosition, backup_position
from backend.retention.selectors import capacity_report
from media.fonts import FontMissingError, cjk_font_path
from media.tools import ToolMissing, ffmpeg_binary

OK, WARN, FAIL = "OK", "WARN", "FAIL"
_SEVERITY = {OK: 0, WARN: 1, FAIL: 2}


@dataclass(frozen=True)
class Finding:
    check: str  # a stable English name (machine-readable)
    status: str  # OK | WARN | FAIL
    detail: str  # what was seen (translated)
    fix: str = ""  # what to do (translated), empty when OK


def worst(findings: list[Finding]) -> str:
    return max((f.status for f in findings), key=_SEVERITY.__getitem__, default=OK)


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} TiB"


def _s3_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return str(
            error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        )
    return type(exc).__name__


# -- media tools ---------------------------------------------------------------------------


def check_ffmpeg() -> list[Finding]:
    try:
        binary = ffmpeg_binary()
        answer = subprocess.run(
            [binary, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30
        )
    except (ToolMissing, OSError, subprocess.TimeoutExpired) as exc:
        return [
            Finding(
                "ffmpeg",
                FAIL,
                _("ffmpeg 无法运行：%(error)s") % {"error": exc},
                _(
                    "安装本项目（pip install -e .，带 imageio-ffmpeg）"
                    "或系统的 ffmpeg，或设置 FV_FFMPEG。"
                ),
            )
        ]
    if answer.returncode != 0 or " drawtext " not in answer.stdout:
        return [
            Finding(
                "ffmpeg",
                FAIL,
                _("%(binary)s 缺少 drawtext 滤镜（水印需要）") % {"binary": binary},
                _("换用带 libfreetype 的 ffmpeg（imageio-ffmpeg 自带的即可），或设置 FV_FFMPEG。"),
            )
        ]
    return [Finding("ffmpeg", OK, _("%(binary)s，含 drawtext 滤镜") % {"binary": binary})]


def check_font() -> list[Finding]:
    try:
        path = cjk_font_path()
        with path.open("rb") as font:
            magic = font.read(4)
    except (FontMissingError, OSError) as exc:
        return [
            Finding(
                "font",
                FAIL,
                _("中文字体不可用：%(error)s") % {"error": exc},
                _("取消 FV_CJK_FONT 以使用随附字体，或将其指向存在的 OTF/TTF 文件。"),
            )
        ]
    if magic not in (b"OTTO", b"\x00\x01\x00\x00", b"true", b"ttcf"):
        return [
            Finding(
                "font",
                FAIL,
                _("%(path)s 不是 OpenType/TrueType 字体") % {"path": path},
                _("将 FV_CJK_FONT 指向 OTF/TTF 文件。"),
            )
        ]
    return [Finding("font", OK, _("中文字体 %(path)s") % {"path": path})]


# -- object storage ------------------------------------------------------------------------


def check_buckets() -> list[Finding]:
    client = object_store().client
    findings = []
    originals = settings.FV_ORIGINALS_BUCKET
    try:
        versioning = client.get_bucket_versioning(Bucket=originals).get("Status")
        try:
            lock = (
                client.get_object_lock_configuration(Bucket=originals)
                .get("ObjectLockConfiguration", {})
                .get("ObjectLockEnabled")
            )
        except ClientError as exc:
            if "ObjectLockConfigurationNotFound" not in _s3_code(exc):
                raise
            lock = None
    except (ClientError, BotoCoreError) as exc:
        return [
            Finding(
                "s3_buckets",
                FAIL,
                _("原始文件存储桶 %(bucket)s 无法读取：%(code)s")
                % {"bucket": originals, "code": _s3_code(exc)},
                _(
                    "检查 FV_S3_ENDPOINT_URL 与 FV_S3_ACCESS_KEY/FV_S3_SECRET_KEY，"
                    "并运行 manage.py storage_init 创建存储桶。"
                ),
            )
        ]
    if versioning != "Enabled" or lock != "Enabled":
        findings.append(
            Finding(
                "s3_buckets",
                FAIL,
                _("原始文件存储桶 %(bucket)s：版本控制 %(versioning)s，对象锁定 %(lock)s")
                % {"bucket": originals, "versioning": versioning or "-", "lock": lock or "-"},
                _(
                    "对象锁定只能在创建存储桶时开启：新建开启对象锁定的存储桶"
                    "（manage.py storage_init 使用新的 FV_ORIGINALS_BUCKET），再迁移原始文件。"
                ),
            )
        )
    else:
        findings.append(
            Finding(
                "s3_buckets",
                OK,
                _("原始文件存储桶 %(bucket)s：版本控制与对象锁定已开启") % {"bucket": originals},
            )
        )
    try:
        client.head_bucket(Bucket=settings.FV_DERIVATIVES_BUCKET)
    except (ClientError, BotoCoreError) as exc:
        findings.append(
            Finding(
                "s3_buckets",
                FAIL,
                _("派生文件存储桶 %(bucket)s 无法读取：%(code)s")
                % {"bucket": settings.FV_DERIVATIVES_BUCKET, "code": _s3_code(exc)},
                _("运行 manage.py storage_init 创建存储桶。"),
            )
        )
    return findings


def check_s3_least_privilege() -> list[Finding]:
    """Try what the application's identity must never do: turn versioning of the originals
    bucket (already Enabled: harmless if it were allowed) and delete a version that does
    not exist. Both must be refused with AccessDenied."""
    client = object_store().client
    bucket = settings.FV_ORIGINALS_BUCKET
    if settings.FV_S3_ACCESS_KEY == settings.FV_S3_DESTRUCTION_ACCESS_KEY:
        return [
            Finding(
                "s3_identity",
                FAIL,
                _("应用与销毁使用同一 S3 身份"),
                _("为销毁单独设置 FV_S3_DESTRUCTION_ACCESS_KEY（见 ops/README.md“S3 身份”）。"),
            )
        ]
    probes: list[tuple[str, Callable[[], object]]] = [
        (
            "PutBucketVersioning",
            lambda: client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
        ),
        (
            "DeleteObjectVersion",
            lambda: client.delete_object(
                Bucket=bucket, Key=f"doctor-probe/{uuid.uuid4().hex}", VersionId="doctor-probe"
            ),
        ),
    ]
    allowed, unclear = [], []
    for action, probe in probes:
        try:
            probe()
            allowed.append(action)
        except ClientError as exc:
            if _s3_code(exc) != "AccessDenied":
                unclear.append(f"{action}: {_s3_code(exc)}")
        except BotoCoreError as exc:
            unclear.append(f"{action}: {type(exc).__name__}")
    if allowed:
        return [
            Finding(
                "s3_identity",
                FAIL,
                _("应用的 S3 身份被允许 %(actions)s（应为 AccessDenied）")
                % {"actions": ", ".join(allowed)},
                _(
                    "按 ops/s3.json.example 为应用身份附加拒绝删除和修改存储桶配置的策略；"
                    "删除只交给销毁身份。"
                ),
            )
        ]
    if unclear:
        return [
            Finding(
                "s3_identity",
                WARN,
                _("无法确认应用的 S3 身份受限：%(answers)s") % {"answers": "; ".join(unclear)},
                _("检查 S3 服务器的策略：应用身份不得删除原始文件或修改存储桶配置。"),
            )
        ]
    return [
        Finding(
            "s3_identity",
            OK,
            _("应用的 S3 身份试图修改版本控制、删除版本均被拒绝（AccessDenied）"),
        )
    ]


# -- TLS -----------------------------------------------------------------------------------


def _certificate_finding(label: str, path: str, now: datetime.datetime) -> Finding:
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        return Finding(
            "tls",
            FAIL,
            _("%(label)s %(path)s 无法读取：%(error)s")
            % {"label": label, "path": path, "error": type(exc).__name__},
            _("将设置指向 PEM 格式证书，或用 python -m ops.tls 重新签发。"),
        )
    not_after = certificate.not_valid_after_utc
    days = (not_after - now).total_seconds() / 86400
    values = {"label": label, "path": path, "date": not_after.date().isoformat(), "days": int(days)}
    if certificate.not_valid_before_utc > now or days <= 0:
        return Finding(
            "tls",
            FAIL,
            _("%(label)s %(path)s 不在有效期内（到期 %(date)s）") % values,
            _(
                "更换证书（python -m ops.tls DIR --host … --renew-server "
                "或单位签发的证书），并重载代理。"
            ),
        )
    if days < settings.FV_TLS_WARN_DAYS:
        return Finding(
            "tls",
            WARN,
            _("%(label)s %(path)s 将于 %(date)s 到期（剩 %(days)s 天）") % values,
            _("到期前更换证书（python -m ops.tls DIR --host … --renew-server），并重载代理。"),
        )
    return Finding("tls", OK, _("%(label)s 到期 %(date)s（剩 %(days)s 天）") % values)


def check_tls() -> list[Finding]:
    now = datetime.datetime.now(datetime.UTC)
    configured = [
        (_("服务器证书"), settings.FV_TLS_CERT_FILE),
        (_("内部 CA 证书"), settings.FV_TLS_CA_FILE),
    ]
    findings = [_certificate_finding(label, path, now) for label, path in configured if path]
    if not settings.FV_TLS_CERT_FILE:
        findings.append(
            Finding(
                "tls",
                WARN,
                _("未设置 FV_TLS_CERT_FILE：无法检查 TLS 证书的有效期"),
                _("将反向代理的证书路径写入 FV_TLS_CERT_FILE（内部 CA：python -m ops.tls）。"),
            )
        )
    return findings


# -- backups -------------------------------------------------------------------------------


def check_backup() -> list[Finding]:
    position: BackupPosition | None
    try:
        position = backup_position()
        error = position.error
    except Exception as exc:  # a database that cannot say is an answer too
        position, error = None, type(exc).__name__
    if position is None or error or position.age_seconds is None:
        engine = position.engine if position else "-"
        return [
            Finding(
                "backup",
                FAIL,
                _("连续备份（%(engine)s）没有复制位置：%(error)s")
                % {"engine": engine, "error": error or "-"},
                _(
                    "SQLite：启动 python -m ops.litestream replicate（make run 会启动）；"
                    "PostgreSQL：开启 archive_mode 并配置 archive_command"
                    "（python -m ops.pg_pitr）。"
                ),
            )
        ]
    values = {
        "engine": position.engine,
        "position": position.position,
        "age": position.age_seconds,
    }
    if position.age_seconds > settings.FV_BACKUP_MAX_AGE_SECONDS:
        return [
            Finding(
                "backup",
                WARN,
                _("连续备份（%(engine)s）最后一次复制在 %(age)s 秒前（位置 %(position)s）")
                % values,
                _(
                    "若期间有写入，说明复制停滞：检查 Litestream/WAL 归档进程及其日志；"
                    "空闲系统可调大 FV_BACKUP_MAX_AGE_SECONDS。"
                ),
            )
        ]
    return [
        Finding(
            "backup",
            OK,
            _("连续备份（%(engine)s）在复制，最近一次 %(age)s 秒前（位置 %(position)s）") % values,
        )
    ]


# -- time ----------------------------------------------------------------------------------

_NTP_EPOCH = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def sntp_offset(server: str, timeout: float) -> float:
    """The local clock's offset from an NTP server in seconds (positive: the server is ahead),
    from one SNTP v4 query (RFC 4330)."""
    host, _sep, port = server.partition(":")
    packet = bytearray(48)
    packet[0] = (0 << 6) | (4 << 3) | 3  # no leap warning, version 4, client
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sent = time.time()
        struct.pack_into("!II", packet, 40, int(sent) + _NTP_EPOCH, int((sent % 1) * 2**32))
        sock.sendto(bytes(packet), (host, int(port or 123)))
        answer, _address = sock.recvfrom(512)
        received = time.time()
    if len(answer) < 48 or answer[0] & 0x07 != 4:
        raise ValueError("not an NTP server answer")
    if answer[1] == 0:
        raise ValueError("kiss-of-death (stratum 0)")
    words = struct.unpack("!12I", answer[:48])
    server_received = words[8] - _NTP_EPOCH + words[9] / 2**32
    server_sent = words[10] - _NTP_EPOCH + words[11] / 2**32
    return ((server_received - sent) + (server_sent - received)) / 2


def _system_time_sync() -> tuple[str, float | None] | None:
    """(source, offset seconds or None when only 'synchronised' is known), from chrony or
    systemd; None when neither answers."""
    chronyc = shutil.which("chronyc")
    if chronyc:
        try:
            out = subprocess.run(
                [chronyc, "-n", "tracking"], capture_output=True, text=True, timeout=5
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        for line in out.splitlines():
            if line.startswith("System time"):
                parts = line.split(":", 1)[1].split()
                offset = float(parts[0])
                return "chronyc", offset if "slow" not in line else -offset
    timedatectl = shutil.which("timedatectl")
    if timedatectl:
        try:
            answer = subprocess.run(
                [timedatectl, "show", "-p", "NTPSynchronized", "--value"],
                capture_output=True,
                text=True,
                timeout=5,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if answer.returncode == 0 and answer.stdout.strip() in {"yes", "no"}:
            return "timedatectl", 0.0 if answer.stdout.strip() == "yes" else float("inf")
    return None


def check_time() -> list[Finding]:
    limit_ms = settings.FV_CLOCK_MAX_OFFSET_MS
    fix = _(
        "启用时间同步（chrony 或 systemd-timesyncd）并指向单位的 NTP 服务器；"
        "证据时间以服务器时钟为准。"
    )
    source: str | None
    if settings.FV_NTP_SERVER:
        source = f"SNTP {settings.FV_NTP_SERVER}"
        try:
            offset: float | None = sntp_offset(
                settings.FV_NTP_SERVER, settings.FV_NTP_TIMEOUT_SECONDS
            )
        except (OSError, ValueError) as exc:
            return [
                Finding(
                    "time",
                    WARN,
                    _("时间服务器 %(server)s 无应答：%(error)s")
                    % {"server": settings.FV_NTP_SERVER, "error": type(exc).__name__},
                    _("检查 FV_NTP_SERVER 与到该服务器的 UDP 123 端口。"),
                )
            ]
    else:
        system = _system_time_sync()
        if system is None:
            return [
                Finding(
                    "time",
                    WARN,
                    _("无法得知时钟是否同步（没有 chronyc/timedatectl，也未设置 FV_NTP_SERVER）"),
                    _("设置 FV_NTP_SERVER 为单位的 NTP 服务器，或安装 chrony。"),
                )
            ]
        source, offset = system
    assert offset is not None
    if offset == float("inf"):
        return [Finding("time", FAIL, _("%(source)s：时钟未同步") % {"source": source}, fix)]
    values = {"source": source, "offset": round(offset * 1000), "limit": limit_ms}
    if abs(offset) * 1000 > limit_ms:
        return [
            Finding(
                "time",
                FAIL,
                _("%(source)s：时钟偏差 %(offset)s 毫秒，超过允许的 %(limit)s 毫秒") % values,
                fix,
            )
        ]
    return [
        Finding(
            "time", OK, _("%(source)s：时钟偏差 %(offset)s 毫秒（允许 %(limit)s 毫秒）") % values
        )
    ]


# -- space ---------------------------------------------------------------------------------


def check_space() -> list[Finding]:
    findings = []
    staging = Path(settings.FV_STAGING_DIR)
    staging.mkdir(parents=True, exist_ok=True)
    staging_free = shutil.disk_usage(staging).free
    values = {
        "path": staging,
        "free": _size(staging_free),
        "need": _size(settings.FV_STAGING_HEADROOM_BYTES),
    }
    if staging_free < settings.FV_STAGING_HEADROOM_BYTES:
        findings.append(
            Finding(
                "space",
                FAIL,
                _("暂存目录 %(path)s 剩余 %(free)s，低于预留 %(need)s") % values,
                _("扩大暂存磁盘或清理其上的其他文件；设备在空间不足时无法同步。"),
            )
        )
    else:
        findings.append(Finding("space", OK, _("暂存目录 %(path)s 剩余 %(free)s") % values))
    report = capacity_report()
    growth = max(0, report.projected_12_months_bytes - report.total_bytes)
    store_dir = Path(settings.FV_OBJECT_STORE_DIR) if settings.FV_OBJECT_STORE_DIR else None
    if store_dir is None or not store_dir.exists():
        findings.append(
            Finding(
                "space",
                WARN,
                _("对象存储的磁盘不在本机（FV_OBJECT_STORE_DIR）：未来 12 个月预计新增 %(growth)s")
                % {"growth": _size(growth)},
                _("在 S3 服务器上确认剩余空间不少于该预计值。"),
            )
        )
        return findings
    free = shutil.disk_usage(store_dir).free
    values = {"path": store_dir, "free": _size(free), "growth": _size(growth)}
    if free < growth / 4:
        findings.append(
            Finding(
                "space",
                FAIL,
                _(
                    "对象存储磁盘 %(path)s 剩余 %(free)s，不够未来 3 个月"
                    "（12 个月预计新增 %(growth)s）"
                )
                % values,
                _("立即扩容对象存储；容量页面（/retention/capacity/）给出按单位与类别的用量。"),
            )
        )
    elif free < growth:
        findings.append(
            Finding(
                "space",
                WARN,
                _("对象存储磁盘 %(path)s 剩余 %(free)s，少于未来 12 个月预计新增 %(growth)s")
                % values,
                _("在一年内扩容对象存储；容量页面（/retention/capacity/）给出增长预测。"),
            )
        )
    else:
        findings.append(
            Finding(
                "space",
                OK,
                _("对象存储磁盘 %(path)s 剩余 %(free)s，未来 12 个月预计新增 %(growth)s") % values,
            )
        )
    return findings


CHECKS: list[Callable[[], list[Finding]]] = [
    check_ffmpeg,
    check_font,
    check_buckets,
    check_s3_least_privilege,
    check_tls,
    check_backup,
    check_time,
    check_space,
]


def run_checks() -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check())
        except Exception as exc:  # one broken check never hides the others
            findings.append(
                Finding(
                    check.__name__.removeprefix("check_"),
                    FAIL,
                    _("检查本身出错：%(error)s") % {"error": f"{type(exc).__name__}: {exc}"[:300]},
                    _("按错误信息修复配置后重新运行 manage.py doctor。"),
                )
            )
    return findings
