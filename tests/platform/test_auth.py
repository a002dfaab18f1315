"""JWT login/refresh/logout, API keys, and the documented 401 body."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import ApiKey
from accounts.roles import ROLE_CAPABILITIES, Capability, Role, capabilities
from analysis.models import SystemLog

from .conftest import API

pytestmark = pytest.mark.django_db


def _login(client: APIClient, username: str = "alice", password: str = "pw-Secret-123") -> Any:
    return client.post(f"{API}/auth/login", {"username": username, "password": password}, format="json",
                       REMOTE_ADDR="203.0.113.7")


def test_login_returns_a_token_pair_and_is_audited_with_the_ip(alice: Any, anonymous: APIClient) -> None:
    response = _login(anonymous)
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    log = SystemLog.objects.get(event="login")
    assert (log.user_id, log.ip_address) == (alice.user.pk, "203.0.113.7")


def test_a_wrong_password_is_401_with_the_documented_body_and_audited(alice: Any, anonymous: APIClient) -> None:
    response = _login(anonymous, password="nope")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error", "code"} and body["error"]
    assert SystemLog.objects.filter(event="login_failed", ip_address="203.0.113.7").exists()


def test_the_access_token_works_and_refresh_rotates(alice: Any, anonymous: APIClient) -> None:
    tokens = _login(anonymous).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get(f"{API}/users/profile").json()["username"] == "alice"
    rotated = anonymous.post(f"{API}/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200 and rotated.json()["refresh"] != tokens["refresh"]
    again = anonymous.post(f"{API}/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401  # the old refresh token was blacklisted by the rotation


def test_logout_blacklists_the_refresh_token(alice: Any, anonymous: APIClient) -> None:
    tokens = _login(anonymous).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.post(f"{API}/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    response = anonymous.post(f"{API}/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "token_not_valid"
    assert SystemLog.objects.filter(event="logout", user=alice.user).exists()


def test_logout_refuses_someone_elses_refresh_token(alice: Any, bob: Any, anonymous: APIClient) -> None:
    bobs = _login(anonymous, "bob").json()
    response = alice.client.post(f"{API}/auth/logout", {"refresh": bobs["refresh"]}, format="json")
    assert response.status_code == 400 and response.json()["details"]


def test_an_expired_token_is_401(alice: Any) -> None:
    token = AccessToken.for_user(alice.user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2), lifetime=timedelta(minutes=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(f"{API}/users/profile")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_anonymous_requests_get_the_documented_401(anonymous: APIClient) -> None:
    response = anonymous.get(f"{API}/analysis")
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required", "code": "not_authenticated"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_api_key_is_shown_once_stored_hashed_and_records_its_last_use(alice: Any) -> None:
    created = alice.client.post(f"{API}/users/api-keys", {"name": "laptop"}, format="json")
    assert created.status_code == 201
    raw = created.json()["key"]
    key = ApiKey.objects.get(pk=created.json()["id"])
    assert raw not in (key.key_hash, key.prefix) and key.last_used_at is None
    listed = alice.client.get(f"{API}/users/api-keys").json()
    assert "key" not in listed[0]
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get(f"{API}/users/profile").json()["username"] == "alice"
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_a_revoked_api_key_is_401(robot: Any) -> None:
    key = ApiKey.objects.get(user=robot.user)
    assert robot.client.get(f"{API}/users/profile").status_code == 200
    assert robot.client.delete(f"{API}/users/api-keys/{key.pk}").status_code == 204
    response = robot.client.get(f"{API}/users/profile")
    assert response.status_code == 401 and response.json()["code"] == "api_key_revoked"
    assert SystemLog.objects.filter(event="api_key_revoked").exists()


@pytest.mark.parametrize("raw", ["garbage", "dfd_deadbeef_wrong-secret", ""])
def test_a_bad_api_key_is_401(robot: Any, raw: str) -> None:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get(f"{API}/users/profile").status_code == 401


def test_an_expired_api_key_is_401(robot: Any) -> None:
    ApiKey.objects.filter(user=robot.user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert robot.client.get(f"{API}/users/profile").status_code == 401


def test_nobody_can_revoke_someone_elses_key(alice: Any, robot: Any) -> None:
    key = ApiKey.objects.get(user=robot.user)
    assert alice.client.delete(f"{API}/users/api-keys/{key.pk}").status_code == 404


def test_roles_are_defined_once_and_cover_every_role() -> None:
    assert set(ROLE_CAPABILITIES) == set(Role.values)
    assert Capability.SUBMIT not in ROLE_CAPABILITIES[Role.AUDITOR]  # auditors are read-only
    assert capabilities(None) == frozenset()


def test_an_admin_is_staff_and_can_do_everything(staff: Any) -> None:
    assert staff.user.is_staff and capabilities(staff.user) == frozenset(Capability)


def test_the_admin_site_lets_staff_change_a_role_and_audits_it(staff: Any, alice: Any) -> None:
    client = APIClient()
    client.force_login(staff.user)
    assert client.get("/admin/accounts/user/").status_code == 200
    page = client.get(f"/admin/accounts/user/{alice.user.pk}/change/")
    assert page.status_code == 200
    data = {"username": "alice", "email": "alice@example.org", "role": "auditor", "is_active": "on",
            "settings": "{}", "last_login_0": "", "last_login_1": "", "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00", "first_name": "", "last_name": ""}
    response = client.post(f"/admin/accounts/user/{alice.user.pk}/change/", data, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302, response.content[:2000]
    log = SystemLog.objects.get(event="role_change")
    assert (log.user_id, log.ip_address, log.metadata["after"]) == (staff.user.pk, "198.51.100.4", "auditor")


def test_an_analyst_cannot_use_the_admin_site(alice: Any) -> None:
    client = APIClient()
    client.force_login(alice.user)
    assert client.get("/admin/accounts/user/").status_code == 302  # to the admin login


def test_staff_create_an_api_key_in_the_admin_and_see_it_once(staff: Any, robot: Any) -> None:
    client = APIClient()
    client.force_login(staff.user)
    response = client.post("/admin/accounts/apikey/add/", {"user": robot.user.pk, "name": "from admin"}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    raw = next(m.split(": ", 1)[1] for m in shown if "shown once" in m)
    client2 = APIClient()
    client2.credentials(HTTP_X_API_KEY=raw)
    assert client2.get(f"{API}/users/profile").json()["username"] == "robot"
