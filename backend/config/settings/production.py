"""Production: every secret must come from the environment; nothing insecure by default."""

from backend.config.env import env_bool, env_int, env_str
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

# HTTPS only. Behind a TLS-terminating proxy, list it in FV_TRUSTED_PROXIES: uvicorn then
# takes the scheme from its X-Forwarded-Proto (ops/web.py) and requests count as secure; a
# proxy not listed would see every request redirected. FV_SSL_REDIRECT=0 only where TLS is
# enforced in front and the proxy cannot be listed.
SECURE_SSL_REDIRECT = env_bool("FV_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("FV_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FV_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = False
