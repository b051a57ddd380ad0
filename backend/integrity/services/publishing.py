"""Publication: each day's statement and token as files in FV_INTEGRITY_PUBLISH_DIR, plus
the TSA's CA certificate. Append-only: a file is written once and never overwritten; a
file that exists with other bytes is reported, not replaced."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from backend.integrity.models import DayRoot


class PublicationConflict(Exception):
    pass


def _write_once(path: Path, content: bytes) -> bool:
    """Write `content` to a new file; True when written, False when it was already there
    with the same bytes."""
    if path.exists():
        if path.read_bytes() != content:
            raise PublicationConflict(f"{path} was published with other content; not replaced")
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_bytes(content)
    with temporary.open("rb") as stream:
        os.fsync(stream.fileno())
    try:
        os.link(temporary, path)  # fails if another pass published it meanwhile
    except FileExistsError:
        temporary.unlink()
        return _write_once(path, content)
    temporary.unlink()
    return True


def root_file_names(day: datetime.date) -> tuple[str, str]:
    return f"{day.isoformat()}.statement.json", f"{day.isoformat()}.tsr"


def trust_anchor_pem() -> bytes:
    path = settings.FV_TSA_TRUST_ANCHOR
    return Path(path).read_bytes() if path else b""


def roots_publish(
    directory: Path | None = None, *, now: datetime.datetime | None = None
) -> list[str]:
    """Publish what is not yet published; returns the names of the files written."""
    directory = directory or Path(settings.FV_INTEGRITY_PUBLISH_DIR)
    written: list[str] = []
    anchor = trust_anchor_pem()
    if anchor and _write_once(directory / "tsa-ca.pem", anchor):
        written.append("tsa-ca.pem")
    for root in DayRoot.objects.filter(stamp_published_at__isnull=True).order_by("day"):
        statement_name, token_name = root_file_names(root.day)
        if _write_once(directory / statement_name, root.statement.encode("utf-8")):
            written.append(statement_name)
        fields = {"published_at": root.published_at or now or timezone.now()}
        if root.stamp_token is not None:
            if _write_once(directory / token_name, bytes(root.stamp_token)):
                written.append(token_name)
            fields["stamp_published_at"] = now or timezone.now()
        DayRoot.objects.filter(pk=root.pk).update(**fields)
    return written


def roots_export(directory: Path) -> list[str]:
    """Every root, token and the CA into `directory` (for a notary or a higher
    authority): the same files as the publication, written once each."""
    written: list[str] = []
    anchor = trust_anchor_pem()
    if anchor and _write_once(directory / "tsa-ca.pem", anchor):
        written.append("tsa-ca.pem")
    for root in DayRoot.objects.order_by("day"):
        statement_name, token_name = root_file_names(root.day)
        if _write_once(directory / statement_name, root.statement.encode("utf-8")):
            written.append(statement_name)
        if root.stamp_token is not None and _write_once(
            directory / token_name, bytes(root.stamp_token)
        ):
            written.append(token_name)
    return written
