"""Users choose their channels in /users/settings; the dispatcher reads exactly those."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.services import preferences

pytestmark = pytest.mark.django_db
API = "/api/v2"


def test_the_channels_have_defaults_and_can_be_chosen(alice: Any, anonymous: Any) -> None:
    body = alice.client.get(f"{API}/users/settings").json()
    assert (body["notify_in_app"], body["notify_email"], body["notify_webhook"], body["sms_webhook_url"]) == (
        True, False, False, "")
    assert preferences(alice.user) == {"in_app": True, "email": False, "webhook": False, "sms_webhook_url": ""}
    response = alice.client.patch(f"{API}/users/settings", {"notify_email": True, "notify_in_app": False,
                                                            "sms_webhook_url": "https://sms.example.org/in"},
                                  format="json")
    assert response.status_code == 200
    alice.user.refresh_from_db()
    assert preferences(alice.user) == {"in_app": False, "email": True, "webhook": False,
                                       "sms_webhook_url": "https://sms.example.org/in"}
    assert anonymous.patch(f"{API}/users/settings", {"notify_email": True}, format="json").status_code == 401


def test_the_older_notifications_object_still_counts(alice: Any) -> None:
    alice.client.patch(f"{API}/users/settings", {"notifications": {"email": True, "websocket": False}}, format="json")
    alice.user.refresh_from_db()
    assert preferences(alice.user)["email"] is True and preferences(alice.user)["in_app"] is False


@pytest.mark.parametrize("url", ["ftp://sms.example.org/", "not a url", "http://user:pw@sms.example.org/"])
def test_an_sms_gateway_url_must_be_plain_http(alice: Any, url: str) -> None:
    response = alice.client.patch(f"{API}/users/settings", {"sms_webhook_url": url}, format="json")
    assert response.status_code == 400 and response.json()["details"][0].startswith("sms_webhook_url:")
