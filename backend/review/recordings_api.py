"""``GET /api/recordings/{recording_id}``: a recording for a signed-in user (scoped by
footage/selectors.py); handing out its derivatives' URLs is a content view, entered in the
access register, which is why the operation lives here."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.security import django_auth

from backend.accounts.models import User
from backend.config.errors import FieldVaultError, NotFound
from backend.footage.api import recording_detail_out
from backend.footage.models import Recording
from backend.footage.schemas import RecordingDetailOut
from backend.footage.selectors import recording_derivative_links, recording_get_visible
from backend.review.models import RegisterAction
from backend.review.selectors import recording_access_for
from backend.review.services import register_write
from backend.web.requests import client_ip

router = Router(tags=["recordings"], auth=django_auth)


def _content_view_registered(request: HttpRequest, user: User, recording: Recording) -> bool:
    """Derivative URLs are content. Hand them out only to a caller who may view the
    recording's content (the review rules: a storage admin sees storage facts only) and
    enter that view in the access register, exactly as the review player does."""
    try:
        access = recording_access_for(user=user, recording_id=str(recording.pk))
    except FieldVaultError:
        return False
    register_write(
        user=user,
        action=RegisterAction.VIEW,
        basis=access.basis,
        purpose=access.purpose,
        recording=access.recording,
        grant=access.grant,
        ip_address=client_ip(request),
    )
    return True


@router.get("{recording_id}", response=RecordingDetailOut, operation_id="recordings_get")
def get_recording(request: HttpRequest, recording_id: str) -> RecordingDetailOut:
    """One recording with its custody states, media processing state (pending, processing,
    ready, damaged with a reason, failed), the metadata read from the file, and short-lived
    presigned URLs of its derivatives (proxy, poster, thumbnails; they answer Range requests
    for seeking). Handing out those URLs is a view of the content and is entered in the
    access register; callers who may see storage facts but not content (storage admins)
    get the derivatives without URLs. Answers 404 for recordings outside the caller's
    scope, so ids cannot be probed across units."""
    user = request.user
    assert isinstance(user, User)
    recording = recording_get_visible(user=user, recording_id=recording_id)
    if recording is None:
        raise NotFound("no such recording", code="recording_not_found")
    links = recording_derivative_links(recording=recording)
    content_allowed = bool(links) and _content_view_registered(request, user, recording)
    return recording_detail_out(recording, links=links, content_allowed=content_allowed)
