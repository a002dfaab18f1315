"""``manage.py analyze FILE...`` goes through submit -> task -> result, like the API."""

from __future__ import annotations

import io
import json
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analysis.models import AnalysisJob

from .conftest import image_bytes, make_user
from .test_services import _analysis
from .test_tasks import FakeAnalysis

pytestmark = pytest.mark.django_db


def test_it_prints_a_verdict_per_file_and_fails_for_bad_ones(tmp_path: Path) -> None:
    make_user("cli")
    good, bad = tmp_path / "good.png", tmp_path / "bad.jpg"
    good.write_bytes(image_bytes())
    bad.write_bytes(b"not an image")
    out = io.StringIO()
    with mock.patch("detection.analyze", return_value=FakeAnalysis(_analysis())), \
            pytest.raises(CommandError, match="2 of 3"):
        call_command("analyze", str(good), str(bad), str(tmp_path / "missing.png"), "--user", "cli", "--json",
                     stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["status"] for r in rows] == ["completed", "failed", "failed"]
    assert rows[0]["prediction"] == "deepfake" and rows[1]["code"] == "unsupported_media"
    assert rows[2]["code"] == "not_found"
    assert AnalysisJob.objects.get().status == "completed"


def test_it_needs_a_user(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--user"):
        call_command("analyze", str(tmp_path / "x.png"))
