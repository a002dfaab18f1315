"""The permission matrix: every endpoint x every persona.

anonymous 401 / no permission 403 / someone else's 404 / allowed 2xx. alice (analyst) owns the job and the
file; bob is another analyst; the auditor sees everything read-only; staff (admin role) may do everything;
robot is an API client with an X-API-Key and jobs of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from analysis import services
from analysis.models import AnalysisJob

from .conftest import API, Persona, image_bytes, upload
from .test_services import _analysis

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "alice", "bob", "auditor", "staff", "robot")


def _matrix(**codes: int) -> dict[str, int]:
    return {p: codes.get(p, codes.get("default", 200)) for p in PERSONAS}


OWNED = _matrix(anonymous=401, bob=404, robot=404)  # alice's job or file
EVERYONE = _matrix(anonymous=401)
SUBMIT = _matrix(anonymous=401, auditor=403, default=201)

Request = Callable[[APIClient, dict[str, str]], Any]

ENDPOINTS: dict[str, tuple[Request, dict[str, int]]] = {
    "POST /analysis": (lambda c, w: c.post(f"{API}/analysis", {"file": upload(image_bytes(seed=7)),
                                                                "options": json.dumps({"priority": "low"})},
                                           format="multipart"), SUBMIT),
    "GET /analysis": (lambda c, w: c.get(f"{API}/analysis", {"limit": 5}), EVERYONE),
    "GET /analysis/{id}": (lambda c, w: c.get(f"{API}/analysis/{w['job']}"), OWNED),
    "GET /analysis/{id}/results": (lambda c, w: c.get(f"{API}/analysis/{w['done']}/results"), OWNED),
    "POST /analysis/{id}/cancel": (lambda c, w: c.post(f"{API}/analysis/{w['job']}/cancel"),
                                   _matrix(anonymous=401, bob=404, robot=404, auditor=403)),
    "POST /files/upload": (lambda c, w: c.post(f"{API}/files/upload", {"file": upload(image_bytes(seed=8))},
                                               format="multipart"), SUBMIT),
    "GET /files/{id}/status": (lambda c, w: c.get(f"{API}/files/{w['file']}/status"), OWNED),
    "GET /files/{id}/download": (lambda c, w: c.get(f"{API}/files/{w['file']}/download"), OWNED),
    "GET /models": (lambda c, w: c.get(f"{API}/models"), EVERYONE),
    "GET /models/{id}/status": (lambda c, w: c.get(f"{API}/models/ai_generated/status"), EVERYONE),
    "GET /models/{id}/metrics": (lambda c, w: c.get(f"{API}/models/ai_generated/metrics"), EVERYONE),
    "GET /users/profile": (lambda c, w: c.get(f"{API}/users/profile"), EVERYONE),
    "PUT /users/profile": (lambda c, w: c.put(f"{API}/users/profile", {"email": f"{w['me']}@example.net"},
                                              format="json"), EVERYONE),
    "GET /users/settings": (lambda c, w: c.get(f"{API}/users/settings"), EVERYONE),
    "PATCH /users/settings": (lambda c, w: c.patch(f"{API}/users/settings", {"theme": "dark"}, format="json"),
                              EVERYONE),
    "GET /users/api-keys": (lambda c, w: c.get(f"{API}/users/api-keys"), EVERYONE),
    "POST /users/api-keys": (lambda c, w: c.post(f"{API}/users/api-keys", {"name": "k"}, format="json"),
                             _matrix(anonymous=401, default=201)),
    "POST /auth/ws-ticket": (lambda c, w: c.post(f"{API}/auth/ws-ticket", {"job_id": w["job"]}, format="json"),
                             _matrix(anonymous=401, bob=404, robot=404, default=201)),
    "POST /auth/logout": (lambda c, w: c.post(f"{API}/auth/logout", {"refresh": "x"}, format="json"),
                          _matrix(anonymous=401, default=400)),  # 204 with a real token: test_auth.py
}


@pytest.fixture
def world(alice: Persona, bob: Persona, auditor: Persona, staff: Persona, robot: Persona, enqueued: list[Any],
          anonymous: APIClient) -> dict[str, Any]:
    job = services.submit_analysis(alice.user, upload=upload(image_bytes(seed=1)))
    done = services.submit_analysis(alice.user, upload=upload(image_bytes(seed=2)))
    services.claim_job(str(done.pk))
    services.complete_job(str(done.pk), _analysis())
    services.submit_analysis(robot.user, upload=upload(image_bytes(seed=3)))
    return {"personas": {"anonymous": anonymous, "alice": alice.client, "bob": bob.client,
                         "auditor": auditor.client, "staff": staff.client, "robot": robot.client},
            "ids": {"job": str(job.pk), "done": str(done.pk), "file": str(job.asset_id)}}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(world: dict[str, Any], endpoint: str, persona: str) -> None:
    request, expected = ENDPOINTS[endpoint]
    response = request(world["personas"][persona], {**world["ids"], "me": persona})
    assert response.status_code == expected[persona], (endpoint, persona, getattr(response, "data", None))
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), str) and body.get("code"), body
        if response.status_code == 404:
            assert body["error"] == "Resource not found"  # never a hint that the job exists


def test_the_list_shows_each_persona_what_it_may_see(world: dict[str, Any]) -> None:
    def ids(persona: str) -> set[str]:
        return {j["id"] for j in world["personas"][persona].get(f"{API}/analysis").json()["data"]}

    alices = {world["ids"]["job"], world["ids"]["done"]}
    assert ids("alice") == alices and ids("bob") == set()
    assert len(ids("robot")) == 1 and ids("auditor") == ids("staff") == set(map(str, AnalysisJob.objects
                                                                                 .values_list("pk", flat=True)))
