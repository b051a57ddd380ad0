"""Administrative inspections (行政检查) and random inspections (双随机、一公开).

Deliberate deviation from shared/CONVENTIONS.md, which places inspections and random
draws in ``backend/enforcement/``: while this app was written another engineer owned
``backend/enforcement/`` (activities, record list), so inspections live in their own app
(label ``inspections``). They can move into enforcement later with a model-state-only
migration (``SeparateDatabaseAndState``) if the team wants one app.
"""
