"""Production: every secret must come from the environment; nothing insecure by default."""

from backend.config.env import env_str
from backend.config.settings.base import *  # noqa: F403

SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)
FV_S3_ACCESS_KEY = env_str("FV_S3_ACCESS_KEY", required=True)
FV_S3_SECRET_KEY = env_str("FV_S3_SECRET_KEY", required=True)
FV_S3_DESTRUCTION_ACCESS_KEY = env_str("FV_S3_DESTRUCTION_ACCESS_KEY", required=True)
FV_S3_DESTRUCTION_SECRET_KEY = env_str("FV_S3_DESTRUCTION_SECRET_KEY", required=True)
FV_S3_ENDPOINT_URL = env_str("FV_S3_ENDPOINT_URL", required=True)
_database_url = env_str("DATABASE_URL", required=True)
DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
