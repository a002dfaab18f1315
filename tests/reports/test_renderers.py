"""One shaping function, three formats: the PDF (checked as rendered pages), CSV safety, and the fetcher."""

from __future__ import annotations

import csv
import http.server
import io
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from reports.context import build_report
from reports.renderers import render
from reports.renderers.csv import safe_cell
from reports.renderers.pdf import SafeFetcher, write_pdf

from .fabricate import completed_job

pytestmark = pytest.mark.django_db
needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


@needs_poppler
def test_the_pdf_shows_verdict_hash_explanations_and_images_on_rendered_pages(alice: Any, tmp_path: Path) -> None:
    jobs = [completed_job(alice.user, kind) for kind in ("image", "audio", "video")]
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render("pdf", build_report(jobs, generated_by=alice.user)).content)

    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 4  # one section per job, then the explanations
    assert all(p.stat().st_size > 1000 for p in pages)

    text = _text(pdf)
    squeezed = "".join(text.split())
    assert "DEEPFAKE" in text
    for job in jobs:
        assert job.file_sha256 in squeezed  # the hash may wrap across lines
    assert "How to read this report" in text and "not proof" in text
    assert "Per-model scores" in text and "face_manipulation" in text and "Timeline" in text

    images = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    rows = [line for line in images.splitlines()[2:] if line.strip()]
    assert len(rows) >= 1 + 2 + 1 + 3  # the image, two heatmaps, a spectrogram, three suspicious frames


def test_weasyprint_fetches_nothing_outside_our_static_files_and_storage(tmp_path: Path) -> None:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{server.server_address[1]}/x.png"
    fetcher = SafeFetcher()
    try:
        pdf = write_pdf(f'<html><body><p>hello</p><img src="http://example.com/x.png"><img src="{local}">'
                        '<img src="file:///etc/passwd"><link rel="stylesheet" href="https://example.com/a.css">'
                        "</body></html>", fetcher)
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF")
    assert "http://example.com/x.png" in fetcher.refused and local in fetcher.refused
    assert "file:///etc/passwd" in fetcher.refused and "https://example.com/a.css" in fetcher.refused
    assert hits == []


def test_the_fetcher_serves_data_uris_and_our_own_static_files() -> None:
    fetcher = SafeFetcher()
    assert fetcher("data:text/plain;base64,aGk=")["string"] == b"hi"
    css = (Path(__file__).resolve().parents[2] / "static" / "reports" / "report.css").as_uri()
    assert b"@page" in fetcher(css)["string"]


def test_csv_cells_cannot_become_formulas(alice: Any) -> None:
    job = completed_job(alice.user, "image", file_name="=HYPERLINK(evil).png",
                        metadata={"source": "+cmd|' /C calc'!A0", "tags": ["@SUM(1)", "-2+3", "\tx", "ok"]})
    body = render("csv", build_report([job])).content
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["file_name"] == "'=HYPERLINK(evil).png"
    assert row["source"].startswith("'+cmd")
    assert row["tags"].startswith("'@SUM(1)")
    assert row["prediction"] == "deepfake" and float(row["confidence"]) == pytest.approx(0.91)
    assert float(row["score_face_manipulation"]) == pytest.approx(0.93) and row["score_compression"] == ""
    for cell in row.values():
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell


@pytest.mark.parametrize("value,expected", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"),
                                            ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), (-0.5, "-0.5"),
                                            (None, ""), (True, "true"), ("é=", "é=")])
def test_safe_cell(value: Any, expected: str) -> None:
    assert safe_cell(value) == expected


def test_json_and_csv_come_from_the_same_shaped_data(alice: Any) -> None:
    jobs = [completed_job(alice.user, "video"), completed_job(alice.user, "audio", prediction="authentic",
                                                              confidence=0.7)]
    data = json.loads(render("json", build_report(jobs)).content)
    assert [j["job_id"] for j in data["jobs"]] == [str(j.pk) for j in jobs]
    video, audio = data["jobs"]
    assert video["timeline"]["kind"] == "video" and len(video["images"]) == 3
    assert audio["timeline"]["kind"] == "audio" and audio["images"][0]["label"].startswith("Spectrogram")
    assert audio["verdict"]["prediction"] == "authentic"
    assert video["provenance"]["models"][0]["weights_sha256"]
    rows = list(csv.DictReader(io.StringIO(render("csv", build_report(jobs)).content.decode("utf-8-sig"))))
    assert [r["job_id"] for r in rows] == [j["job_id"] for j in data["jobs"]]
    assert float(rows[0]["timeline_max_score"]) == pytest.approx(video["timeline"]["max_score"])


def test_an_image_report_shows_the_analysed_image_from_storage(alice: Any) -> None:
    from django.core.files.storage import default_storage

    job = completed_job(alice.user, "image")
    images = build_report([job])["jobs"][0]["images"]
    assert images[0]["label"] == "The analysed image" and images[0]["mime"] == "image/jpeg"
    assert [i["label"] for i in images[1:]] == ["Heatmap: gradcam (face 0)", "Heatmap: gradcam (face 1)"]
    default_storage.delete(job.file_path)  # gone from storage: the report still renders, without it
    assert build_report([job])["jobs"][0]["images"][0]["label"].startswith("Heatmap")
