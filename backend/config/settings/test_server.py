"""Settings for a server process started by a test: the test's own database by name.

FV_TEST_SERVER_DB names the database pytest-django created (test_fieldvault_…); S3 and the
staging directory come from the environment the test sets.
"""

import os
from pathlib import Path

from backend.config.settings.test import *  # noqa: F403
from backend.config.settings.test import DATABASES

DATABASES["default"]["NAME"] = os.environ["FV_TEST_SERVER_DB"]
FV_S3_ENDPOINT_URL = os.environ.get("FV_S3_ENDPOINT_URL", "http://127.0.0.1:8333")
FV_S3_ACCESS_KEY = os.environ.get("FV_S3_ACCESS_KEY", "fieldvault-embedded")
FV_S3_SECRET_KEY = os.environ.get("FV_S3_SECRET_KEY", "fieldvault-embedded-secret")
FV_S3_DESTRUCTION_ACCESS_KEY = os.environ.get(
    "FV_S3_DESTRUCTION_ACCESS_KEY", "fieldvault-embedded-destruction"
)
FV_S3_DESTRUCTION_SECRET_KEY = os.environ.get(
    "FV_S3_DESTRUCTION_SECRET_KEY", "fieldvault-embedded-destruction-secret"
)
FV_ORIGINALS_BUCKET = os.environ.get("FV_ORIGINALS_BUCKET", "fv-originals")
FV_DERIVATIVES_BUCKET = os.environ.get("FV_DERIVATIVES_BUCKET", "fv-derivatives")
if "FV_STAGING_DIR" in os.environ:
    FV_STAGING_DIR = Path(os.environ["FV_STAGING_DIR"])
FV_STORE_DISPATCH = "thread"
FV_PROCESS_AFTER_STORE = False
