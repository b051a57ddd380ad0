"""The browser tests reuse the review app's world (tests/review/conftest.py)."""

from tests.review.conftest import sample_mp4, world  # noqa: F401
