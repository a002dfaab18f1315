"""Signed webhook bodies: HMAC-SHA256 over ``"{timestamp}.{body}"`` with the webhook's secret.

Every delivery carries::

    X-Deepfake-Timestamp: 1732435200            (Unix seconds when it was signed)
    X-Deepfake-Signature: v1=<hex HMAC-SHA256>   (over the timestamp, a dot, and the raw body bytes)
    X-Deepfake-Event:     job.completed | job.failed | ping
    X-Deepfake-Delivery:  <delivery id; the same id on every retry of one event>

To verify (the receiver's side; ``verify`` below does exactly this):

1. read the RAW body bytes (before any JSON parsing) and the two headers;
2. refuse if the timestamp is more than 5 minutes away from your clock (a captured request cannot be replayed
   later; within the window, remember the delivery ids you have processed and drop repeats);
3. compute ``hmac_sha256(secret, f"{timestamp}.".encode() + body).hexdigest()`` and compare it with the value
   after ``v1=`` using a constant-time comparison (``hmac.compare_digest``).

The timestamp is inside the signed message, so it cannot be changed without breaking the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Deepfake-Timestamp"
SIGNATURE_HEADER = "X-Deepfake-Signature"
EVENT_HEADER = "X-Deepfake-Event"
DELIVERY_HEADER = "X-Deepfake-Delivery"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, *, event: str, delivery_id: int | str,
                   now: float | None = None) -> dict[str, str]:
    ts = int(now if now is not None else time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": "deepfake-detection-webhooks/1",
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: signature(secret, ts, body),
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
    }


def verify(secret: str, body: bytes, timestamp: str | None, signature_header: str | None, *,
           tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """The receiver's check: a fresh timestamp and a matching ``v1=`` signature (constant time)."""
    if not timestamp or not signature_header:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance:
        return False
    expected = signature(secret, ts, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in signature_header.split(","))
