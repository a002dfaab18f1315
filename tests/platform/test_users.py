"""/users/profile (GET/PUT) and /users/settings (GET/PATCH)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import API

pytestmark = pytest.mark.django_db


def test_the_profile_shows_the_role_and_put_changes_only_what_may_change(alice: Any) -> None:
    profile = alice.client.get(f"{API}/users/profile").json()
    assert (profile["username"], profile["role"], profile["email"]) == ("alice", "analyst", "alice@example.org")
    response = alice.client.put(f"{API}/users/profile", {"email": "a@example.net", "first_name": "Alice",
                                                          "last_name": "A", "role": "admin", "username": "root"},
                                format="json")
    assert response.status_code == 200
    alice.user.refresh_from_db()
    assert (alice.user.email, alice.user.first_name, alice.user.role, alice.user.username) == (
        "a@example.net", "Alice", "analyst", "alice")


def test_put_needs_the_email_and_refuses_one_in_use(alice: Any, bob: Any) -> None:
    missing = alice.client.put(f"{API}/users/profile", {"first_name": "x"}, format="json")
    assert missing.status_code == 400 and missing.json()["details"] == ["email: This field is required."]
    taken = alice.client.put(f"{API}/users/profile", {"email": "bob@example.org"}, format="json")
    assert taken.status_code == 400 and taken.json()["details"][0].startswith("email:")


def test_patch_is_not_a_documented_profile_method(alice: Any) -> None:
    assert alice.client.patch(f"{API}/users/profile", {}, format="json").status_code == 405


def test_settings_have_defaults_and_patch_merges(alice: Any) -> None:
    defaults = alice.client.get(f"{API}/users/settings").json()
    assert defaults["default_priority"] == "normal" and defaults["notifications"] == {"email": False,
                                                                                      "websocket": True}
    response = alice.client.patch(f"{API}/users/settings", {"theme": "dark", "notifications": {"email": True}},
                                  format="json")
    assert response.status_code == 200
    body = alice.client.get(f"{API}/users/settings").json()
    assert body["theme"] == "dark" and body["notifications"] == {"email": True, "websocket": True}


@pytest.mark.parametrize("patch", [{"theme": "neon"}, {"confidence_threshold": 2}, {"timezone": "Mars/Base"},
                                   {"default_priority": "asap"}])
def test_invalid_settings_are_400_with_details(alice: Any, patch: dict[str, Any]) -> None:
    response = alice.client.patch(f"{API}/users/settings", patch, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid request" and body["details"][0].startswith(next(iter(patch)))
