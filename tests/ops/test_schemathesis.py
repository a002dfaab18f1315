"""Schemathesis against our own OpenAPI schema (/api/schema), as an authenticated analyst: no request it can
build from the schema, valid or not, gets a 5xx.

Bounded: ``SCHEMATHESIS_MAX_EXAMPLES`` per operation (default 12) and no coverage phase; a deeper run:
``SCHEMATHESIS_MAX_EXAMPLES=200 SCHEMATHESIS_COVERAGE=1 .venv/bin/pytest tests/ops/test_schemathesis.py``.
Marked ``fuzz`` so a quick run can leave it out (``-m "not fuzz and not e2e"``). In-process over WSGI, on
the test database; half the examples address alice's real job, file and report so the paths past the 404 are fuzzed too.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.roles import Role
from reports.models import Report
from tests.reports.fabricate import completed_job

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db, pytest.mark.timeout(600)]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"))

schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", get_wsgi_application())
# the coverage phase enumerates every boundary of every field (minutes per operation): opt in for deep runs
schema.config.phases.coverage.enabled = os.environ.get("SCHEMATHESIS_COVERAGE", "0") == "1"


@pytest.fixture
def alices_things(db: Any) -> dict[str, str]:
    user = User.objects.create_user(username="alice", email="alice@example.org", password="pw-Secret-123",
                                    role=Role.ANALYST)
    job = completed_job(user, "image")
    report = Report.objects.create(user=user, format="json", job_ids=[str(job.pk)])
    return {"user": str(user.pk), "jobId": str(job.pk), "fileId": str(job.asset_id), "resultId": str(job.result.pk),
            "reportId": str(report.pk)}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_no_request_built_from_the_schema_gets_a_server_error(case: Any, alices_things: dict[str, str]) -> None:
    if "multipart" in (case.media_type or "") and not isinstance(case.body, dict):
        # a multipart body that is not an object (True, [None]) cannot be encoded by the WSGI transport: it
        # fails inside werkzeug's test client before any request reaches us (not a server response)
        return
    user = User.objects.get(pk=alices_things["user"])
    token = RefreshToken.for_user(user).access_token  # fresh each time: a fuzzed logout cannot lock us out
    if case.path_parameters and len(repr(case.query or {})) % 2 == 0:
        for name in case.path_parameters:
            if name in alices_things:
                case.path_parameters[name] = alices_things[name]
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                           checks=[schemathesis.checks.not_a_server_error])
