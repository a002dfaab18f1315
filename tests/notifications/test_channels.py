"""In-app notices over /ws/notifications (per-user groups) and completion emails through Django's SMTP backend
to a local aiosmtpd server."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.test import Client

from accounts import tickets
from notifications import services
from tests.platform.live import run_async, ws
from tests.reports.fabricate import completed_job


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings: Any) -> Any:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # pytest-django swaps in locmem
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", controller.port, False
    settings.DEFAULT_FROM_EMAIL = "detector@example.org"
    yield inbox
    controller.stop()


@pytest.mark.django_db
def test_a_completed_job_is_emailed_through_smtp(alice: Any, smtp: Inbox) -> None:
    alice.client.patch("/api/v2/users/settings", {"notify_email": True, "notify_in_app": False}, format="json")
    job = completed_job(alice.user, "video", file_name="interview.mp4")
    done = services.dispatch(str(job.pk))
    assert done["email"] is True
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope.rcpt_tos == ["alice@example.org"] and envelope.mail_from == "detector@example.org"
    text = envelope.content.decode()
    assert "Subject: Analysis of interview.mp4: deepfake (confidence 0.91)." in text
    assert job.file_sha256 in text and f"/api/v2/analysis/{job.pk}/results?format=pdf" in text


@pytest.mark.django_db
def test_failures_and_opted_out_users_get_no_email(alice: Any, bob: Any, smtp: Inbox) -> None:
    from analysis import services as analysis_services
    from tests.reports.fabricate import processing_job

    job = completed_job(bob.user, "image")  # bob never turned email on (the default is off)
    assert services.dispatch(str(job.pk))["email"] is False
    alice.client.patch("/api/v2/users/settings", {"notify_email": True}, format="json")
    failed = processing_job(alice.user)
    analysis_services.fail_job(str(failed.pk), "decode_failed", "damaged")
    assert services.dispatch(str(failed.pk))["email"] is False
    assert smtp.messages == []


@pytest.mark.django_db(transaction=True)
def test_the_owner_receives_the_completion_over_the_websocket_and_nobody_else(alice: Any, bob: Any) -> None:
    client = Client()
    client.force_login(alice.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    bob_ticket = tickets.issue(bob.user)
    job = completed_job(alice.user, "image")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], bool]:
        mine = ws("/ws/notifications", cookie=cookie, origin="http://testserver")
        theirs = ws(f"/ws/notifications?ticket={bob_ticket}")
        assert (await mine.connect())[0] and (await theirs.connect())[0]
        hello = await mine.receive_json_from(5)
        assert (await theirs.receive_json_from(5))["user"] == "bob"
        await sync_to_async(services.dispatch)(str(job.pk))
        notice = await mine.receive_json_from(5)
        quiet = await theirs.receive_nothing(0.3)
        await mine.send_json_to({"type": "ping"})
        assert await mine.receive_json_from(5) == {"type": "pong"}
        await mine.disconnect()
        await theirs.disconnect()
        return hello, notice, quiet

    hello, notice, quiet = run_async(scenario)
    assert hello == {"type": "hello", "user": "alice"}
    assert notice["type"] == "notification" and notice["notice"]["event"] == "job.completed"
    assert notice["notice"]["job"]["id"] == str(job.pk) and notice["notice"]["result"]["prediction"] == "deepfake"
    assert quiet


@pytest.mark.django_db(transaction=True)
def test_the_notification_socket_refuses_strangers(alice: Any) -> None:
    async def close_code(path: str) -> int:
        communicator = ws(path)
        connected, _ = await communicator.connect()
        assert connected
        message = await communicator.receive_output(5)
        return int(message.get("code", 1000))

    assert run_async(lambda: close_code("/ws/notifications")) == 4401
    assert run_async(lambda: close_code("/ws/notifications?ticket=forged")) == 4401
    spent = tickets.issue(alice.user)
    assert tickets.redeem(spent) is not None
    assert run_async(lambda: close_code(f"/ws/notifications?ticket={spent}")) == 4401
