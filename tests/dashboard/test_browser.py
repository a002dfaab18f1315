"""The dashboard in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium) against a real stack
(tests/platform/stack.py: daphne, Redis, a Celery worker with the real engine, a throw-away database).

alice logs in, uploads an image (scikit-image's astronaut), then an audio file and a generated 2 s video, and
watches each job reach 100 % live over the WebSocket, then sees the verdict and heatmaps; bob cannot open her
job; the auditor sees her jobs but cannot upload. Screenshots of the key pages go to var/screenshots/ (or $SCREENSHOT_DIR).

Marked ``e2e``; skipped cleanly without /usr/bin/chromium, the playwright package or Redis. Never run
``playwright install``: the browser is Debian's (apt-get install chromium).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ROOT = Path(__file__).resolve().parents[2]
#: Screenshots go to var/screenshots (not tracked); SCREENSHOT_DIR=docs/screenshots refreshes the documented ones.
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "var" / "screenshots")
PASSWORD = "pw-Browser-123"
FINAL_TIMEOUT_MS = 240_000
BROWSER_REDIS_DB = 12  # flushed by these tests

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from tests.platform.stack import Stack  # noqa: E402

SHARED: dict[str, Any] = {}


def astronaut_png(path: Path) -> Path:
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).save(path, format="PNG")
    return path


def two_second_mp4(path: Path) -> Path:
    """2 s, 12 fps, 320x320: the astronaut's face drifting slowly (a face for the tracker to follow)."""
    import av
    import numpy as np
    from skimage import data

    img = data.astronaut()
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 320, 320, "yuv420p"
        for i in range(24):
            frame = np.ascontiguousarray(img[10 + i: 330 + i, 100 + i: 420 + i])
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("browser")
    extra = {"SERVE_STATIC": "1"}  # daphne serves the collected static files, as scripts/start.sh does
    if "TEST_E2E_REDIS_URL" not in os.environ:
        # Our own Redis database: the platform e2e tests flush theirs (13) and their workers would take our jobs
        # when both run at once on one machine.
        extra["TEST_E2E_REDIS_URL"] = f"redis://127.0.0.1:6379/{BROWSER_REDIS_DB}"
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        running = Stack(tmp)
    except LookupError as exc:
        pytest.skip(str(exc))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    manage = [sys.executable, "manage.py"]
    try:
        subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=running.env, check=True,
                       timeout=120)
        script = (
            "from accounts.models import User\n"
            f"for name, role in [('alice','analyst'),('bob','analyst'),('audrey','auditor')]:\n"
            f"    User.objects.create_user(username=name, email=name + '@example.org', password={PASSWORD!r},\n"
            "                             role=role)\n"
        )
        subprocess.run([*manage, "shell", "-c", script], cwd=ROOT, env=running.env, check=True, timeout=120)
        running.worker("browser")
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("media")
    audio = tmp / "speech_en.flac"
    shutil.copy(ROOT / "tests" / "fixtures" / "speech_en.flac", audio)
    return {"image": astronaut_png(tmp / "astronaut.png"), "audio": audio, "video": two_second_mp4(tmp / "clip.mp4")}


def shot(page: Any, name: str, full: bool = True) -> None:
    """Save a compact screenshot: at most 900 px wide, a 128-colour palette PNG (tens of kB, not half a MB)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    compact_png(path)


def compact_png(path: Path, width: int = 900) -> None:
    from PIL import Image

    im = Image.open(path).convert("RGB")
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
    im.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def login(browser: Any, stack: Stack, username: str, **context: Any) -> Any:
    page = browser.new_context(viewport=context.pop("viewport", {"width": 1280, "height": 900}), **context).new_page()
    page.goto(f"http://127.0.0.1:{stack.port}/")
    assert "/login/" in page.url
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"http://127.0.0.1:{stack.port}/")
    return page


LIVE_RECORDER = """
window.addEventListener('DOMContentLoaded', () => {
  const pct = document.getElementById('progress-pct');
  const how = document.getElementById('progress-transport');
  if (!pct || document.getElementById('progress-card').hidden) return;
  const log = () => {
    const seen = JSON.parse(sessionStorage.getItem('seen') || '[]');
    seen.push(pct.textContent + '|' + how.textContent);
    sessionStorage.setItem('seen', JSON.stringify(seen));
  };
  new MutationObserver(log).observe(pct, {childList: true, characterData: true, subtree: true});
  new MutationObserver(log).observe(how, {childList: true, characterData: true, subtree: true});
});
"""


def watch_to_the_verdict(page: Any) -> list[str]:
    """Wait for the server-rendered verdict after the live stream ended; what the progress line showed."""
    page.locator("#verdict, .verdict").first.wait_for(timeout=FINAL_TIMEOUT_MS)
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen') || '[]')")
    page.evaluate("sessionStorage.removeItem('seen')")
    return list(seen)


def test_an_analyst_uploads_image_audio_and_video_and_watches_them_live(browser: Any, stack: Stack,
                                                                      media: dict[str, Path]) -> None:
    login_page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    login_page.goto(f"http://127.0.0.1:{stack.port}/login/")
    shot(login_page, "login")
    login_page.context.close()

    page = login(browser, stack, "alice")
    page.context.add_init_script(LIVE_RECORDER)
    base = f"http://127.0.0.1:{stack.port}"

    # the image: one file -> straight to its job page, which follows the job live
    page.goto(f"{base}/upload/")
    page.set_input_files("#files", [str(media["image"])])
    page.get_by_label("Tags (comma-separated)").fill("browser-test")
    shot(page, "upload")
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url("**/jobs/**")
    SHARED["image"] = page.url
    seen = watch_to_the_verdict(page)
    assert any(s.startswith("100%|live") for s in seen), seen  # the WebSocket carried it to the end
    assert page.locator("#verdict-h").inner_text().startswith("Verdict:")
    shown = page.locator("img.overlay:not(.off)")
    before = shown.count()
    assert before >= 1, "no heatmap overlay on the image"
    toggle = page.locator("#" + str(page.locator("input[data-overlay]:checked").first.get_attribute("id")))
    toggle.uncheck()
    assert shown.count() < before
    toggle.check()
    assert shown.count() == before
    pdf_href = page.get_by_role("link", name="PDF report").get_attribute("href")
    assert pdf_href.endswith("format=pdf")
    pdf = page.request.get(base + pdf_href)  # the browser's session cookie, as a click would send it
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF"), (pdf.status, pdf.body()[:200])
    shot(page, "job-image")

    # audio and video together: several files at once, then each job page
    page.goto(f"{base}/upload/")
    page.set_input_files("#files", [str(media["audio"]), str(media["video"])])
    page.get_by_role("button", name="Analyse").click()
    page.get_by_role("link", name="Open job").nth(1).wait_for(timeout=60_000)
    links = page.get_by_role("link", name="Open job")
    audio_url, video_url = (links.nth(i).get_attribute("href") for i in range(2))
    page.goto(base + video_url)  # queued behind the audio: its page starts before the analysis does
    seen = watch_to_the_verdict(page)
    assert any(s.startswith("100%") for s in seen), seen
    assert page.locator("svg.chart polyline, .frames").count() >= 1 or page.locator(".verdict").count() == 1
    SHARED["video"] = page.url
    frames = page.locator("button.frame")
    if frames.count():
        frames.first.click()
    shot(page, "job-video")

    page.goto(base + audio_url)
    page.locator(".verdict").first.wait_for(timeout=FINAL_TIMEOUT_MS)
    assert page.locator("audio").count() == 1
    SHARED["audio"] = page.url
    shot(page, "job-audio")

    page.goto(f"{base}/")
    assert page.locator("table.jobs tbody tr").count() == 3
    page.get_by_label("Search file name or tag").fill("browser-test")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("table.jobs tbody tr").count() == 1
    page.goto(f"{base}/")
    shot(page, "jobs")
    page.goto(f"{base}/analytics/")
    shot(page, "analytics")
    page.goto(f"{base}/models/")
    shot(page, "models")
    page.goto(f"{base}/health/")
    assert "Workers: OK" in page.locator("main").inner_text()
    shot(page, "health")

    phone = login(browser, stack, "alice", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(SHARED["image"])
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the job page scrolls sideways at phone width ({width}px)"
    shot(phone, "job-phone")
    phone.goto(f"{base}/")
    shot(phone, "jobs-phone")
    phone.context.close()
    page.context.close()


def test_without_a_websocket_the_job_page_falls_back_to_polling(browser: Any, stack: Stack,
                                                                media: dict[str, Path]) -> None:
    page = login(browser, stack, "alice")
    page.context.add_init_script("delete window.WebSocket;")
    page.context.add_init_script(LIVE_RECORDER)
    page.goto(f"http://127.0.0.1:{stack.port}/upload/")
    page.set_input_files("#files", [str(media["image"])])
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url("**/jobs/**")
    seen = watch_to_the_verdict(page)
    assert any(s.endswith("|polling") for s in seen), seen
    assert page.locator("#verdict-h").is_visible()
    page.context.close()


def test_another_analyst_cannot_open_her_job_page(browser: Any, stack: Stack) -> None:
    if "image" not in SHARED:
        pytest.skip("the upload test did not create a job")
    page = login(browser, stack, "bob")
    response = page.goto(SHARED["image"])
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    page.goto(f"http://127.0.0.1:{stack.port}/")
    assert "astronaut.png" not in page.locator("main").inner_text()
    page.context.close()


def test_the_auditor_sees_the_jobs_but_cannot_upload(browser: Any, stack: Stack) -> None:
    if "image" not in SHARED:
        pytest.skip("the upload test did not create a job")
    page = login(browser, stack, "audrey")
    assert "astronaut.png" in page.locator("main").inner_text()
    page.goto(SHARED["image"])
    assert page.locator(".verdict").count() == 1
    page.goto(f"http://127.0.0.1:{stack.port}/upload/")
    assert page.locator("#upload-form").count() == 0
    assert "cannot submit" in page.locator("main").inner_text()
    shot(page, "upload-auditor")
    status = page.evaluate("""async () => {
        const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
        const body = new FormData();
        body.append('files', new Blob([new Uint8Array([137, 80, 78, 71])], {type: 'image/png'}), 'x.png');
        const r = await fetch('/upload/', {method: 'POST', body, headers: {'X-CSRFToken': token,
                                           'Accept': 'application/json'}});
        return r.status;
    }""")
    assert status == 403
    page.context.close()
