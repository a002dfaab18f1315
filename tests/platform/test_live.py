"""Live progress through the ASGI application: WebSocket /ws/analysis/{id} and SSE /sse/progress/{id}.

Both send a snapshot on connect, then progress events while a worker runs the job, then the final result
summary or failure code, then close. Nobody gets events for a job they may not see. The channel layer is the
in-memory one in the fast tier and channels-redis when REDIS_URL is set (config/settings/test.py).
"""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

import detection
from accounts import tickets
from analysis import events, services
from analysis.models import AnalysisJob, JobStatus
from analysis.progress import JobProgress

from .conftest import API, Persona, image_bytes, upload
from .live import SSE, run_async, status, worker_run, ws, ws_close_code, ws_events

pytestmark = pytest.mark.django_db(transaction=True)

STAGES = (("decode", 0, 1), ("decode", 1, 1), ("faces", 0, 1), ("detector:ai_generated", 0, 1),
          ("fusion", 0, 1))


@pytest.fixture(autouse=True)
def _no_broker(enqueued: list[Any]) -> None:
    """Submissions are captured instead of sent to a broker; the tests run the task themselves."""


def _job(persona: Persona, seed: int = 1) -> str:
    return str(services.submit_analysis(persona.user, upload=upload(image_bytes(seed=seed))).pk)


def _session_cookie(persona: Persona) -> str:
    client = Client()
    client.force_login(persona.user)
    return f"sessionid={client.cookies['sessionid'].value}"


def _ticket(persona: Persona, job_id: str | None) -> str:
    response = persona.client.post(f"{API}/auth/ws-ticket", {"job_id": job_id} if job_id else {}, format="json")
    assert response.status_code == 201, response.json()
    return str(response.json()["ticket"])


def _types(received: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in received]


# --- WebSocket ------------------------------------------------------------------------------------------------

def test_a_browser_session_follows_its_job_from_snapshot_to_result(alice: Persona) -> None:
    job_id = _job(alice)
    cookie = _session_cookie(alice)

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        communicator = ws(f"/ws/analysis/{job_id}", cookie=cookie, origin="http://testserver")
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from(5)
        assert (snapshot["type"], snapshot["status"], snapshot["job_id"]) == ("snapshot", "queued", job_id)
        assert await sync_to_async(worker_run)(job_id, *STAGES) == "completed"
        received, code = await ws_events(communicator)
        await communicator.disconnect()
        return received, code

    received, code = run_async(scenario)
    assert code == 1000
    kinds = _types(received)
    assert kinds[-1] == "completed" and set(kinds[:-1]) == {"progress"}, kinds
    progress = [e["progress"] for e in received[:-1]]
    assert progress == sorted(progress) and progress[-1] >= 90  # stages move forward
    assert {e["stage"] for e in received[:-1]} >= {"decode", "faces", "detector:ai_generated", "fusion"}
    final = received[-1]
    assert final["status"] == "completed" and final["progress"] == 100
    assert final["result"] == {"prediction": "deepfake", "confidence": 0.91, "is_authentic": False,
                               "fake_probability": 0.91, "reason": None, "models_used": ["ai_generated"],
                               "processing_time": 0.43}
    assert final["links"]["results"] == f"/api/v2/analysis/{job_id}/results"


def test_an_api_client_connects_with_a_single_use_ticket(robot: Persona) -> None:
    job_id = _job(robot)
    ticket = _ticket(robot, job_id)

    async def scenario() -> tuple[str, int]:
        communicator = ws(f"/ws/analysis/{job_id}?ticket={ticket}")
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_json_from(5)
        await communicator.disconnect()
        again = await ws_close_code(ws(f"/ws/analysis/{job_id}?ticket={ticket}"))
        return first["type"], again

    first, again = run_async(scenario)
    assert first == "snapshot"
    assert again == 4401  # spent


def test_a_ticket_is_refused_for_another_job_after_it_expires_and_when_forged(alice: Persona,
                                                                             settings: Any) -> None:
    job_id, other_id = _job(alice, 1), _job(alice, 2)
    bound = _ticket(alice, job_id)
    settings.WS_TICKET_SECONDS = 1
    expiring = _ticket(alice, job_id)
    time.sleep(1.2)

    async def scenario() -> list[int]:
        return [await ws_close_code(ws(f"/ws/analysis/{other_id}?ticket={bound}")),
                await ws_close_code(ws(f"/ws/analysis/{job_id}?ticket={expiring}")),
                await ws_close_code(ws(f"/ws/analysis/{job_id}?ticket=forged-{'x' * 40}"))]

    assert run_async(scenario) == [4401, 4401, 4401]


def test_a_long_lived_token_in_the_url_is_not_accepted(alice: Persona) -> None:
    from rest_framework_simplejwt.tokens import RefreshToken

    job_id = _job(alice)
    access = str(RefreshToken.for_user(alice.user).access_token)

    async def scenario() -> list[int]:
        return [await ws_close_code(ws(f"/ws/analysis/{job_id}?token={access}")),
                await ws_close_code(ws(f"/ws/analysis/{job_id}?ticket={access}"))]

    assert run_async(scenario) == [4401, 4401]


def test_nobody_follows_a_job_they_may_not_see(alice: Persona, bob: Persona, auditor: Persona) -> None:
    job_id = _job(alice)
    bobs_ticket = _ticket(bob, None)  # a valid ticket, but alice's job does not exist for bob
    alices, bobs, auditors = _session_cookie(alice), _session_cookie(bob), _session_cookie(auditor)

    async def scenario() -> dict[str, int]:
        return {
            "anonymous": await ws_close_code(ws(f"/ws/analysis/{job_id}")),
            "bob (session)": await ws_close_code(ws(f"/ws/analysis/{job_id}", cookie=bobs)),
            "bob (ticket)": await ws_close_code(ws(f"/ws/analysis/{job_id}?ticket={bobs_ticket}")),
            "unknown id": await ws_close_code(ws("/ws/analysis/00000000-0000-0000-0000-000000000000",
                                                 cookie=alices)),
            "malformed id": await ws_close_code(ws("/ws/analysis/not-a-uuid", cookie=alices)),
        }

    assert run_async(scenario) == {"anonymous": 4401, "bob (session)": 4404, "bob (ticket)": 4404,
                                   "unknown id": 4404, "malformed id": 4404}
    # ... and asking for a ticket to someone else's job is the API's usual 404
    response = bob.client.post(f"{API}/auth/ws-ticket", {"job_id": job_id}, format="json")
    assert response.status_code == 404 and response.json() == {"error": "Resource not found", "code": "not_found"}

    async def auditor_sees() -> str:
        communicator = ws(f"/ws/analysis/{job_id}", cookie=auditors)
        assert (await communicator.connect())[0]
        first = await communicator.receive_json_from(5)
        await communicator.disconnect()
        return str(first["type"])

    assert run_async(auditor_sees) == "snapshot"  # read-only roles watch every job


def test_a_page_on_another_site_cannot_use_the_session(alice: Persona) -> None:
    job_id = _job(alice)
    cookie = _session_cookie(alice)

    async def scenario() -> bool:
        communicator = ws(f"/ws/analysis/{job_id}", cookie=cookie, origin="https://evil.example")
        connected, _ = await communicator.connect()
        return bool(connected)

    assert run_async(scenario) is False


def test_a_finished_job_sends_its_snapshot_and_final_event_then_closes(alice: Persona) -> None:
    done, failed = _job(alice, 1), _job(alice, 2)
    worker_run(done)
    worker_run(failed, ("decode", 0, 1), error=detection.DecodeFailed("The image data is truncated."))
    cookie = _session_cookie(alice)

    async def scenario() -> list[tuple[list[dict[str, Any]], int]]:
        out = []
        for job_id in (done, failed):
            communicator = ws(f"/ws/analysis/{job_id}", cookie=cookie)
            assert (await communicator.connect())[0]
            out.append(await ws_events(communicator))
        return out

    (done_events, done_code), (failed_events, failed_code) = run_async(scenario)
    assert _types(done_events) == ["snapshot", "completed"] and done_code == 1000
    assert done_events[0]["status"] == "completed" and done_events[1]["result"]["prediction"] == "deepfake"
    assert _types(failed_events) == ["snapshot", "failed"] and failed_code == 1000
    assert failed_events[1]["error"] == {"code": "decode_failed", "message": "The image data is truncated."}


def test_a_cancel_reaches_the_watchers(alice: Persona) -> None:
    job_id = _job(alice)
    cookie = _session_cookie(alice)

    async def scenario() -> list[dict[str, Any]]:
        communicator = ws(f"/ws/analysis/{job_id}", cookie=cookie)
        assert (await communicator.connect())[0]
        await communicator.receive_json_from(5)
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(5) == {"type": "pong"}
        await communicator.send_to(text_data="not json")  # ignored, the stream stays open
        response = await sync_to_async(alice.client.post)(f"{API}/analysis/{job_id}/cancel")
        assert response.status_code == 200
        received, _ = await ws_events(communicator)
        return received

    received = run_async(scenario)
    assert _types(received) == ["cancelled"]
    assert received[0]["error"]["code"] == "cancelled"


# --- SSE -------------------------------------------------------------------------------------------------------

def _bearer(persona: Persona) -> dict[str, str]:
    from rest_framework_simplejwt.tokens import AccessToken

    return {"Authorization": f"Bearer {AccessToken.for_user(persona.user)}"}  # no database write: async-safe


def test_sse_streams_snapshot_progress_and_the_result_then_ends(alice: Persona) -> None:
    job_id = _job(alice)

    async def scenario() -> tuple[SSE, list[dict[str, Any]]]:
        stream = await SSE(f"/sse/progress/{job_id}", _bearer(alice)).open()
        first = await stream.event()
        assert first is not None and first["event"] == "snapshot" and first["data"]["status"] == "queued"
        await sync_to_async(worker_run)(job_id, *STAGES)
        rest = await stream.rest()
        await stream.close()
        return stream, [first, *rest]

    stream, received = run_async(scenario)
    assert stream.status == 200 and stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"].startswith("no-cache")
    names = [e["event"] for e in received]
    assert names[0] == "snapshot" and names[-1] == "completed" and set(names[1:-1]) == {"progress"}
    assert [e["id"] for e in received] == [str(i) for i in range(1, len(received) + 1)]
    assert received[-1]["data"]["result"]["prediction"] == "deepfake"
    assert all(e["event"] == e["data"]["type"] for e in received)


def test_sse_reports_the_failure_code(robot: Persona) -> None:
    job_id = _job(robot)

    async def scenario() -> list[dict[str, Any]]:
        stream = await SSE(f"/sse/progress/{job_id}", {"X-API-Key": str(robot.api_key)}).open()
        assert (await stream.event() or {})["event"] == "snapshot"
        await sync_to_async(worker_run)(job_id, ("decode", 0, 1),
                                        error=detection.UnsupportedMedia("Not an image this engine reads."))
        return await stream.rest()

    received = run_async(scenario)
    assert [e["event"] for e in received][-1] == "failed"
    assert received[-1]["data"]["error"]["code"] == "unsupported_media"


def test_sse_accepts_the_session_and_a_ticket(alice: Persona) -> None:
    job_id = _job(alice)
    worker_run(job_id)
    ticket = _ticket(alice, job_id)
    cookie = _session_cookie(alice)

    async def scenario() -> list[list[str]]:
        by_session = await SSE(f"/sse/progress/{job_id}", {"Cookie": cookie}).open()
        by_ticket = await SSE(f"/sse/progress/{job_id}?ticket={ticket}").open()
        spent = await SSE(f"/sse/progress/{job_id}?ticket={ticket}").open()
        assert spent.status == 401 and b"invalid_ticket" in await spent.body()
        return [[e["event"] for e in await s.rest()] for s in (by_session, by_ticket)]

    assert run_async(scenario) == [["snapshot", "completed"], ["snapshot", "completed"]]


def test_sse_refuses_strangers_with_the_documented_bodies(alice: Persona, bob: Persona) -> None:
    job_id = _job(alice)

    async def answer(path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        stream = await SSE(path, headers).open()
        return stream.status, await stream.body()

    async def scenario() -> dict[str, tuple[int, bytes]]:
        return {
            "anonymous": await answer(f"/sse/progress/{job_id}"),
            "bad token": await answer(f"/sse/progress/{job_id}", {"Authorization": "Bearer nonsense"}),
            "bad key": await answer(f"/sse/progress/{job_id}", {"X-API-Key": "dfd_12345678_nope"}),
            "bob": await answer(f"/sse/progress/{job_id}", _bearer(bob)),
            "unknown": await answer("/sse/progress/00000000-0000-0000-0000-000000000000", _bearer(alice)),
        }

    import json

    got = {k: (status_, json.loads(body)) for k, (status_, body) in run_async(scenario).items()}
    assert got["anonymous"] == (401, {"error": "Authentication required", "code": "not_authenticated"})
    assert got["bad token"][0] == 401 and got["bad token"][1]["code"] == "token_not_valid"
    assert got["bad key"][0] == 401 and got["bad key"][1]["code"] == "invalid_api_key"
    assert got["bob"] == got["unknown"] == (404, {"error": "Resource not found", "code": "not_found"})


def test_an_eventsource_reconnecting_to_a_finished_job_is_told_to_stop(alice: Persona) -> None:
    job_id = _job(alice)
    worker_run(job_id)

    async def scenario() -> int:
        stream = await SSE(f"/sse/progress/{job_id}", {**_bearer(alice), "Last-Event-ID": "7"}).open()
        return stream.status

    assert run_async(scenario) == 204


def test_a_lost_broadcast_is_recovered_by_reading_the_row(alice: Persona, settings: Any) -> None:
    """With no event reaching the stream (e.g. an in-memory layer in another process), the end still arrives."""
    settings.ANALYSIS_LIVE_POLL_SECONDS = 0.1
    job_id = _job(alice)

    async def scenario() -> list[str]:
        stream = await SSE(f"/sse/progress/{job_id}", _bearer(alice)).open()
        assert (await stream.event() or {})["event"] == "snapshot"
        assert await stream.frame() == ": keep-alive"  # nothing happened for a poll interval
        with mock.patch("analysis.events.publish", return_value=False):
            await sync_to_async(worker_run)(job_id, *STAGES)
        return [e["event"] for e in await stream.rest()]

    assert run_async(scenario) == ["completed"]
    assert status(job_id) == JobStatus.COMPLETED


# --- the producer side: one DB write and one group_send per update ------------------------------------------

def test_progress_is_throttled_into_one_write_and_one_broadcast_per_update(alice: Persona) -> None:
    job_id = _job(alice)
    job = services.claim_job(job_id)
    assert job is not None
    sent: list[dict[str, Any]] = []
    with mock.patch("analysis.events.publish", side_effect=lambda jid, ev: sent.append(dict(ev))) as publish, \
            mock.patch("analysis.services.record_progress", wraps=services.record_progress) as write:
        progress = JobProgress(job_id, job.started_at, min_interval=60, attempts=1)
        progress("decode", 0, 1)
        progress("decode", 1, 1)  # same stage within the interval: skipped
        progress("faces", 0, 1)  # a new stage is always written (it is where a cancel is noticed)
        progress("faces", 0, 1)  # nothing new
    assert write.call_count == publish.call_count == 2
    assert [(e["type"], e["stage"], e["progress"]) for e in sent] == [("progress", "decode", 0),
                                                                      ("progress", "faces", 10)]
    row = AnalysisJob.objects.get(pk=job_id)
    assert (row.stage, row.progress) == ("faces", 10)
    assert sent[-1]["updated_at"] == row.updated_at.isoformat() and sent[-1]["attempts"] == 1


def test_status_changes_are_announced_once_each(alice: Persona) -> None:
    job_id = _job(alice)
    sent: list[str] = []
    with mock.patch("analysis.events.publish", side_effect=lambda _, ev: sent.append(f"{ev['type']}:{ev['status']}")):
        worker_run(job_id, ("decode", 0, 1))
    assert sent == ["progress:processing", "progress:processing", "completed:completed"]


def test_a_ticket_works_once(alice: Persona) -> None:
    raw = tickets.issue(alice.user)
    assert tickets.redeem(raw) == alice.user
    assert tickets.redeem(raw) is None
    assert events.group_name("x") == "analysis.job.x"
