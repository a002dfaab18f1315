"""Scan an upload with clamd before it is stored (analysis.services.store_upload calls ``scan_upload``)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from analysis import audit
from analysis.exceptions import RejectedUpload, ServiceError

from .clamd import ScannerUnavailable, instream

logger = logging.getLogger(__name__)


class MalwareDetected(RejectedUpload):
    code = "malware_detected"
    title = "Malware detected"


class ScannerUnavailableError(ServiceError):
    status = 503
    code = "scanner_unavailable"
    title = "The malware scanner is unavailable"


def enabled() -> bool:
    return bool(settings.CLAMD_HOST)


def scan_upload(upload: Any, *, user: Any = None, request: Any = None) -> None:
    """Raise ``MalwareDetected`` (400, audited) for an infected upload; ``ScannerUnavailableError`` (503) when
    clamd cannot answer and ``CLAMD_FAIL_OPEN`` is off. A no-op when scanning is not configured."""
    if not enabled():
        return
    upload.seek(0)
    try:
        result = instream(upload.chunks(), settings.CLAMD_HOST, settings.CLAMD_PORT, settings.CLAMD_TIMEOUT)
    except ScannerUnavailable as exc:
        if settings.CLAMD_FAIL_OPEN:
            logger.warning("upload accepted UNSCANNED (CLAMD_FAIL_OPEN): %s", exc)
            return
        logger.error("upload refused: %s", exc)
        raise ScannerUnavailableError("The upload could not be scanned for malware; try again later.") from exc
    finally:
        upload.seek(0)
    if result.clean:
        return
    name = getattr(upload, "name", "") or ""
    logger.warning("malware in an upload: %s", result.signature)
    audit.record("malware_detected", f"refused an upload containing {result.signature}", request=request,
                 user=user, level="WARNING", signature=result.signature, file_name=name[:200],
                 size=getattr(upload, "size", None))
    raise MalwareDetected(f"The file was refused: the malware scanner found {result.signature}.",
                          details=[f"signature: {result.signature}"])
