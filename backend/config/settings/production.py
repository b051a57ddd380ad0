"""Production: every secret must come from the environment; nothing insecure by default."""

from backend.config.env import env_bool, env_int, env_str
from backend.config.settings.base import *  # noqa: F403
from backend.config.settings.base import FV_TRUSTED_PROXIES

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
# Probes and Prometheus reach each web process directly on the private network (every
# process counts its own requests): health, readiness and metrics answer over plain HTTP
# there instead of redirecting. They reveal nothing (/metrics: loopback or its token).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# The TLS proxy (ops/proxy.py, docker-compose's `proxy`) sets X-Forwarded-Proto on every
# request it passes. uvicorn believes it only from FV_TRUSTED_PROXIES (ops/web.py); Django
# reads it too, so that a request is secure exactly when it came in over HTTPS. Without a
# trusted proxy there is no proxy, and the header is never believed.
if FV_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# `check --deploy` is clean (tests/operations/test_tls.py). Two of its warnings are
# deliberate here: HSTS preload needs a public domain on the browsers' preload list, which
# a bureau's intranet name never is (W021); includeSubDomains would force HTTPS on every
# other host of the bureau's domain, which is the bureau's decision (FV_HSTS_INCLUDE_SUBDOMAINS;
# W005 is silenced only while it is off).
SILENCED_SYSTEM_CHECKS = ["security.W021"] + (
    [] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]
)
