"""A developer's machine and the embedded default: SQLite, local files, debug on unless DEBUG=0."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", True)
# A fixed key is fine on a laptop; production.py has no default and refuses this one.
SECRET_KEY = env.str("SECRET_KEY", "django-insecure-local-development-key-change-me-0123456789")
