"""The one place that reads the environment.

Every setting FieldVault takes from outside comes through these helpers, so a
missing or malformed value fails loudly at start-up with the variable's name.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed."""


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ConfigurationError(f"environment variable {name} is required")
        if default is None:
            raise ConfigurationError(f"environment variable {name} has no default")
        return default
    return value


def env_optional(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be a boolean, got {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, Any]:
    """Turn `postgres://user:pass@host:port/name` or `sqlite:///path` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:////abs/file.sqlite3 is absolute, sqlite:///var/file.sqlite3 is relative.
        path = unquote(parsed.path)[1:]
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {
                # WAL lets the web process read while the worker writes; IMMEDIATE makes
                # writers queue on the lock instead of failing with "database is locked".
                # synchronous=NORMAL: a power cut may take back the last commits; the
                # one the device relies on (`stored`) commits with FULL
                # (backend/footage/durability.py; tests/bench/bench_backup.py: the cost).
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        options: dict[str, Any] = {
            key: values[-1] for key, values in parse_qs(parsed.query).items()
        }
        pool_max = env_int("FV_DB_POOL_MAX", 10)
        if pool_max > 0:
            # A bounded pool per process, connections handed back at the end of every
            # request (CONN_MAX_AGE 0). Under ASGI Django runs each request's sync code on
            # a thread of its own that ends with the request: a persistent connection
            # (CONN_MAX_AGE > 0) stayed open in the dead thread until the garbage
            # collector found it — 72 idle connections from one web process after two
            # minutes of a 12-device soak, and "too many clients" 500s once PostgreSQL's
            # max_connections ran out. A request finding the pool empty waits up to
            # FV_DB_POOL_TIMEOUT seconds, then gets 503 with Retry-After (never a 500).
            options["pool"] = {
                "min_size": min(env_int("FV_DB_POOL_MIN", 1), pool_max),
                "max_size": pool_max,
                "timeout": env_int("FV_DB_POOL_TIMEOUT", 10),
                "max_idle": 300,
            }
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            # Never persistent: see the pool above (FV_DB_POOL_MAX=0: no pool, a fresh
            # connection per request, still closed at its end).
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ConfigurationError(f"DATABASE_URL scheme {parsed.scheme!r} is not supported")
