"""PDF with WeasyPrint from templates/reports/report.html and static/reports/report.css.

WeasyPrint fetches every URL a document names (images, stylesheets, fonts). ``SafeFetcher`` answers ``data:``
URLs itself and ``file:`` URLs only inside our static directories and local storage (MEDIA_ROOT); anything else
(http, https, ftp, other files) is refused before any connection is made. A refused resource is simply missing
from the PDF. The report's own images are inline ``data:`` URIs, so nothing else is needed.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.template.loader import render_to_string

from ..charts import data_uri, timeline_svg
from . import Rendered

logger = logging.getLogger(__name__)

CSS_PATH = Path(settings.BASE_DIR) / "static" / "reports" / "report.css"


class RefusedURL(ValueError):
    pass


def allowed_roots() -> list[Path]:
    roots = [Path(settings.BASE_DIR) / "static", Path(settings.STATIC_ROOT), Path(settings.MEDIA_ROOT)]
    return [r.resolve() for r in roots]


class SafeFetcher:
    """A WeasyPrint ``url_fetcher`` that never touches the network. ``refused`` lists what it turned down."""

    def __init__(self, roots: list[Path] | None = None) -> None:
        self.roots = roots if roots is not None else allowed_roots()
        self.refused: list[str] = []

    def __call__(self, url: str, timeout: float = 10, ssl_context: Any = None, http_headers: Any = None) -> dict:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path)).resolve()
            if any(path.is_relative_to(root) for root in self.roots) and path.is_file():
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return {"string": path.read_bytes(), "mime_type": mime, "filename": path.name}
        self.refused.append(url)
        logger.warning("report rendering: refused to fetch %s", url[:200])
        raise RefusedURL(f"refused to fetch {url[:200]}")

    @staticmethod
    def _data(url: str) -> dict:
        header, _, payload = url[5:].partition(",")
        mime = header.split(";")[0] or "text/plain"
        raw = base64.b64decode(payload) if header.endswith(";base64") else unquote(payload).encode()
        return {"string": raw, "mime_type": mime}


def html(data: Any) -> str:
    """The report as HTML (also useful to look at without WeasyPrint)."""
    jobs = []
    for job in data["jobs"]:
        svg = timeline_svg(job.get("timeline"))
        jobs.append({**job, "timeline_chart": data_uri(svg) if svg else None})
    return render_to_string("reports/report.html", {"report": data, "jobs": jobs,
                                                    "explanations": data["explanations"]})


def write_pdf(document: str, fetcher: SafeFetcher | None = None) -> bytes:
    from weasyprint import CSS, HTML

    fetcher = fetcher or SafeFetcher()
    base = (Path(settings.BASE_DIR) / "static").resolve().as_uri() + "/"
    stylesheet = CSS(string=CSS_PATH.read_text(encoding="utf-8"), url_fetcher=fetcher, base_url=base)
    pdf: bytes = HTML(string=document, base_url=base, url_fetcher=fetcher).write_pdf(stylesheets=[stylesheet])
    return pdf


def render(data: Any) -> Rendered:
    return Rendered(write_pdf(html(data)), "application/pdf", "pdf")
