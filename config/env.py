"""Strict environment parsing: a typo in a variable fails at start-up with the variable's name, never later.

Every value may also come from a file named by ``NAME_FILE`` (Docker/Kubernetes secrets); setting both
``NAME`` and ``NAME_FILE`` is an error, because which one wins would be a guess.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Missing()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|k|mb|m|gb|g|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    None: 1, "b": 1,
    "k": 1024, "kb": 1024, "kib": 1024,
    "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
    "g": 1024**3, "gb": 1024**3, "gib": 1024**3,
}
_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


class Env:
    """Typed reads of the environment. Each getter raises ``ImproperlyConfigured`` naming the variable."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    # -- raw access -----------------------------------------------------------------------------------
    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        file_name = self.environ.get(f"{name}_FILE")
        if value is not None and file_name is not None:
            raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
        if file_name is not None:
            try:
                return Path(file_name).read_text().strip()
            except OSError as exc:
                raise ImproperlyConfigured(f"{name}_FILE={file_name}: cannot read it ({exc.strerror}).") from exc
        return value

    def _get(self, name: str, default: Any) -> str | Any:
        value = self.raw(name)
        if value is None or value == "":
            if default is REQUIRED:
                raise ImproperlyConfigured(f"{name} must be set (or {name}_FILE pointing at a file holding it).")
            return default
        return value

    def is_set(self, name: str) -> bool:
        return bool(self.environ.get(name) or self.environ.get(f"{name}_FILE"))

    # -- typed getters -------------------------------------------------------------------------------
    def str(self, name: str, default: Any = REQUIRED) -> Any:
        return self._get(name, default)

    def bool(self, name: str, default: Any = REQUIRED) -> Any:
        value = self._get(name, default)
        if isinstance(value, bool) or value is None:
            return value
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use one of 1/0, true/false, yes/no, on/off).")

    def int(self, name: str, default: Any = REQUIRED, *, min: int | None = None, max: int | None = None) -> Any:
        value = self._get(name, default)
        if not isinstance(value, str):
            return value
        try:
            number = int(value.strip())
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc
        self._check_range(name, number, min, max)
        return number

    def float(self, name: str, default: Any = REQUIRED, *, min: float | None = None,
              max: float | None = None) -> Any:
        value = self._get(name, default)
        if not isinstance(value, str):
            return value
        try:
            number = float(value.strip())
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from exc
        self._check_range(name, number, min, max)
        return number

    def size(self, name: str, default: Any = REQUIRED) -> Any:
        """Bytes, written as ``104857600``, ``100MB`` or ``512k`` (binary multiples)."""
        value = self._get(name, default)
        if not isinstance(value, str):
            return value
        m = _SIZE.match(value)
        if not m:
            raise ImproperlyConfigured(f"{name}={value!r} is not a size (examples: 104857600, 100MB, 512KB).")
        number = int(m.group(1)) * _SIZE_UNITS[m.group(2).lower() if m.group(2) else None]
        if number <= 0:
            raise ImproperlyConfigured(f"{name} must be positive.")
        return number

    def list(self, name: str, default: Any = REQUIRED) -> Any:
        value = self._get(name, default)
        if not isinstance(value, str):
            return value
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, choices: tuple[str, ...], default: Any = REQUIRED) -> Any:
        value = self._get(name, default)
        if value not in choices and value is not default:
            raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}.")
        return value

    def rate(self, name: str, default: Any = REQUIRED) -> Any:
        """A DRF throttle rate such as ``30/min``; ``off`` disables it (returns ``None``)."""
        value = self._get(name, default)
        if value is None or value == "off":
            return None
        if not _RATE.match(value.strip()):
            raise ImproperlyConfigured(f"{name}={value!r} is not a rate (examples: 30/min, 1000/hour, off).")
        return value.strip()

    def database(self, name: str, default: Any = REQUIRED) -> dict[str, Any]:
        """``DATABASE_URL``: ``postgres://user:pass@host:5432/db`` or ``sqlite:///relative/or/absolute.db``."""
        value = self._get(name, default)
        try:
            return parse_database_url(value)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from exc

    @staticmethod
    def _check_range(name: str, number: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and number < lo:
            raise ImproperlyConfigured(f"{name}={number} is below the minimum {lo}.")
        if hi is not None and number > hi:
            raise ImproperlyConfigured(f"{name}={number} is above the maximum {hi}.")


def parse_database_url(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///rel.db -> "rel.db"; sqlite:////abs/x.db -> "/abs/x.db"; sqlite://:memory: -> in memory
        in_memory = parts.netloc == ":memory:" or parts.path in ("", "/", "/:memory:")
        name = ":memory:" if in_memory else parts.path[1:]
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    if scheme in ("postgres", "postgresql", "pgsql", "postgis"):
        db = unquote(parts.path.lstrip("/"))
        if not db:
            raise ValueError("the PostgreSQL URL names no database (postgres://user@host:5432/NAME).")
        options = dict(parse_qsl(parts.query))
        config: dict[str, Any] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
        if options:
            config["OPTIONS"] = options
        return config
    raise ValueError(f"unsupported database scheme {scheme!r} (use postgres:// or sqlite://).")
