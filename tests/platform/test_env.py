"""Settings come from the environment, strictly parsed; production has no default secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import Env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)])
def test_booleans_accept_the_usual_spellings(raw: str, value: bool) -> None:
    assert Env({"DEBUG": raw}).bool("DEBUG") is value


def test_a_typo_in_a_boolean_fails_with_the_variable_name() -> None:
    with pytest.raises(ImproperlyConfigured, match="DEBUG='ture'"):
        Env({"DEBUG": "ture"}).bool("DEBUG", False)


def test_integers_are_range_checked() -> None:
    assert Env({"N": "5"}).int("N", min=1) == 5
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        Env({"N": "0"}).int("N", min=1)
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        Env({"N": "5s"}).int("N")


def test_a_required_variable_that_is_missing_says_so() -> None:
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be set"):
        Env({}).str("SECRET_KEY")


def test_secrets_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret-from-file\n")
    assert Env({"SECRET_KEY_FILE": str(secret)}).str("SECRET_KEY") == "s3cret-from-file"
    with pytest.raises(ImproperlyConfigured, match="not both"):
        Env({"SECRET_KEY": "x", "SECRET_KEY_FILE": str(secret)}).str("SECRET_KEY")
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        Env({"SECRET_KEY_FILE": str(tmp_path / "missing")}).str("SECRET_KEY")


@pytest.mark.parametrize(("raw", "value"), [("1048576", 1048576), ("100MB", 100 * 1024**2), ("512k", 512 * 1024)])
def test_sizes_take_units(raw: str, value: int) -> None:
    assert Env({"UPLOAD_MAX_SIZE": raw}).size("UPLOAD_MAX_SIZE") == value


def test_rates_and_choices_are_validated() -> None:
    assert Env({"R": "30/min"}).rate("R") == "30/min"
    assert Env({"R": "off"}).rate("R") is None
    with pytest.raises(ImproperlyConfigured):
        Env({"R": "30 per minute"}).rate("R")
    with pytest.raises(ImproperlyConfigured):
        Env({"L": "LOUD"}).choice("L", ("INFO", "DEBUG"))


@pytest.mark.parametrize(("url", "expected"), [
    ("postgres://u:p%40ss@db.local:5433/deepfake",
     {"ENGINE": "django.db.backends.postgresql", "NAME": "deepfake", "USER": "u", "PASSWORD": "p@ss",
      "HOST": "db.local", "PORT": "5433"}),
    ("sqlite:///var/db.sqlite3", {"ENGINE": "django.db.backends.sqlite3", "NAME": "var/db.sqlite3"}),
    ("sqlite:////abs/db.sqlite3", {"ENGINE": "django.db.backends.sqlite3", "NAME": "/abs/db.sqlite3"}),
    ("sqlite://:memory:", {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}),
])
def test_database_urls(url: str, expected: dict[str, Any]) -> None:
    assert Env({"DATABASE_URL": url}).database("DATABASE_URL") == expected


def test_an_unknown_database_scheme_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="unsupported database scheme"):
        Env({"DATABASE_URL": "mysql://x/y"}).database("DATABASE_URL")


def _load_production(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SECRET_KEY", "REDIS_URL"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings.production")
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def test_production_refuses_to_start_without_a_secret_key() -> None:
    out = _load_production(ALLOWED_HOSTS="example.org", DATABASE_URL="postgres://u@h/db", REDIS_URL="redis://h")
    assert out.returncode != 0 and "SECRET_KEY must be set" in out.stderr


def test_production_starts_with_everything_set() -> None:
    out = _load_production(SECRET_KEY="k" * 50, ALLOWED_HOSTS="example.org", DATABASE_URL="postgres://u@h/db",
                           REDIS_URL="redis://h:6379/0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
