"""Test settings: the real PostgreSQL by default (integration), SQLite when asked.

FV_TEST_DB_SUFFIX keeps concurrent test runs on one machine from sharing a database.
"""

import os
import tempfile
from pathlib import Path

from backend.config.env import database_from_url, env_str
from backend.config.settings.base import *  # noqa: F403
from backend.config.settings.base import TASKS

SECRET_KEY = "test-only-secret"  # noqa: S105
DATABASES = {
    "default": database_from_url(
        env_str("FV_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fieldvault")
    )
}
_suffix = os.environ.get("FV_TEST_DB_SUFFIX", "")
DATABASES["default"]["TEST"] = {"NAME": "test_fieldvault" + (f"_{_suffix}" if _suffix else "")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
# The test process itself runs without the connection pool (pytest-django swaps databases
# under it); servers a test starts with backend.config.settings have it, as deployed.
DATABASES["default"]["OPTIONS"].pop("pool", None)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {
    **TASKS,
    "default": {**TASKS["default"], "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
FV_STAGING_DIR = Path(tempfile.mkdtemp(prefix="fv-test-staging-"))
# The S3 endpoint and keys are set by the test session's SeaweedFS fixture (tests/conftest.py).
FV_STORE_DISPATCH = "sync"
# In-process tests build the upload endpoint inside a test: no start-up lease sweep there
# (the subprocess servers of tests/sync run it, with the deployed settings).
FV_LEASES_RELEASE_AT_START = False
