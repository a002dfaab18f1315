"""Personas and helpers come from the platform tests (the same users, JWT clients and autouse fixtures)."""

from __future__ import annotations

from tests.platform.conftest import (  # noqa: F401 - fixtures are registered by import
    _fresh_cache,
    _private_media,
    alice,
    anonymous,
    auditor,
    bob,
    enqueued,
    robot,
    staff,
    submit,
)
