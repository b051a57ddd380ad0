"""Settings of the tablet benchmark server: the embedded settings plus a connection pool.

Django under ASGI runs each request's sync code in its own thread with its own database
connection, so 200 concurrent tablets would open 200+ connections (PostgreSQL's default
max_connections is 100). A psycopg pool per worker process caps them; requests wait for a
free connection instead of failing. (Recommended for production settings as well.)
"""

import os

from backend.config.settings import *  # noqa: F403
from backend.config.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {
    **DATABASES["default"].get("OPTIONS", {}),
    "pool": {
        "min_size": 2,
        "max_size": int(os.environ.get("FV_BENCH_POOL_MAX", "15")),
        "timeout": 60,
    },
}
