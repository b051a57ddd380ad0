"""A job for tests/operations/test_logs.py: it logs one line, which must carry the id of the
request that queued it."""

import logging

from django_tasks import task

logger = logging.getLogger("fieldvault.test_job")


@task()
def log_a_line(marker: str) -> str:
    logger.warning("job ran %s", marker)
    return marker
