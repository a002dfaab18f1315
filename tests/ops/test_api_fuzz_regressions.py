"""The 5xx that schemathesis found in our API, each pinned by a plain test."""

from __future__ import annotations

from typing import Any

import pytest

from tests.platform.conftest import API

pytestmark = pytest.mark.django_db


def test_a_huge_page_number_is_a_400_not_a_500(alice: Any) -> None:
    response = alice.client.get(f"{API}/analysis", {"page": 2435164130598808626, "limit": 65})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request"
    assert alice.client.get(f"{API}/analysis", {"page": 1_000_000}).status_code == 200
