"""Every write of the review app: sign-in attempts, access requests and their approval,
the access register and exports. Each state change writes its audit event.

The package, by sub-domain: ``signin`` (sign-in lockout), ``access`` (access requests,
their documents, approval and grants), ``register`` (the access register), ``exports``
(export packages and their watermarked copies).
"""

from backend.review.services.access import (
    MAX_DOCUMENT_BYTES,
    MAX_GRANT_DAYS,
    MAX_REVOKE_REASON,
    REQUIRED_DOCUMENTS,
    access_document_add,
    access_grant_revoke,
    access_request_approve,
    access_request_create,
    access_request_reject,
)
from backend.review.services.exports import (
    PROXIES_CLAIM_STALE,
    VISUAL_KINDS,
    export_copies_withdraw,
    export_create,
    export_proxies_prepare,
)
from backend.review.services.register import (
    REGISTER_AUDIT_ACTIONS,
    register_export_record,
    register_write,
)
from backend.review.services.signin import (
    login_attempt_record,
    login_failures_allowed,
    login_ip_blocked_until,
    login_ip_failures_allowed,
    login_ip_refusal_record,
    login_ip_window,
    login_locked_until,
    login_lockout_window,
)

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_GRANT_DAYS",
    "MAX_REVOKE_REASON",
    "PROXIES_CLAIM_STALE",
    "REGISTER_AUDIT_ACTIONS",
    "REQUIRED_DOCUMENTS",
    "VISUAL_KINDS",
    "access_document_add",
    "access_grant_revoke",
    "access_request_approve",
    "access_request_create",
    "access_request_reject",
    "export_copies_withdraw",
    "export_create",
    "export_proxies_prepare",
    "login_attempt_record",
    "login_failures_allowed",
    "login_ip_blocked_until",
    "login_ip_failures_allowed",
    "login_ip_refusal_record",
    "login_ip_window",
    "login_locked_until",
    "login_lockout_window",
    "register_export_record",
    "register_write",
]
