"""`backend.config.settings` is the embedded (development) configuration."""

from backend.config.settings.base import *  # noqa: F403
