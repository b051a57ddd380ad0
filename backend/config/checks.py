"""System checks that make `manage.py check --deploy` fail on an unsafe production setup.

The embedded stack's secret key and S3 credentials are printed in this repository; with
them anyone can sign sessions or, through S3, write under an original's key. Django's own
deploy checks only warn (W009 for a weak SECRET_KEY); these are errors, so a deployment
that runs `check --deploy --fail-level ERROR` (or plain `check --deploy`, whose exit code
is non-zero on any error) refuses to go on.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def embedded_secrets_in_production(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    if settings.SECRET_KEY == settings.EMBEDDED_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the embedded stack's published default.",
                hint="Set DJANGO_SECRET_KEY to a long random value (python -c "
                "'import secrets; print(secrets.token_urlsafe(50))').",
                id="fieldvault.E001",
            )
        )
    for name in (
        "FV_S3_ACCESS_KEY",
        "FV_S3_SECRET_KEY",
        "FV_S3_DESTRUCTION_ACCESS_KEY",
        "FV_S3_DESTRUCTION_SECRET_KEY",
    ):
        if getattr(settings, name) in settings.EMBEDDED_S3_CREDENTIALS:
            errors.append(
                Error(
                    f"{name} is the embedded stack's published default.",
                    hint="Give the S3 server its own identities (ops/s3.json.example) and "
                    "set these from them.",
                    id="fieldvault.E002",
                )
            )
    if (
        settings.FV_S3_ACCESS_KEY == settings.FV_S3_DESTRUCTION_ACCESS_KEY
        and settings.FV_S3_ACCESS_KEY
    ):
        errors.append(
            Error(
                "The application and destruction S3 identities are the same.",
                hint="The application's identity must not be able to delete originals: "
                "FV_S3_DESTRUCTION_ACCESS_KEY names a separate identity.",
                id="fieldvault.E003",
            )
        )
    return errors
