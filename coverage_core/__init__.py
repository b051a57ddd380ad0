"""The coverage check's decision logic, Django-free like ``media/``: intervals
(:mod:`coverage_core.intervals`), the record list's moments (:mod:`coverage_core.moments`),
the verdicts and the one monthly aggregation (:mod:`coverage_core.evaluation`).

``backend/coverage`` loads activities and recordings from the database, calls this package
and stores what it answers. Nothing here imports Django or ``backend`` (import-linter
contract in pyproject.toml).
"""
