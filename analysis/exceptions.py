"""Domain errors raised by services; the API turns them into documented error bodies (api/errors.py)."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "invalid_request"
    title = "Invalid request"

    def __init__(self, message: str, *, code: str | None = None, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details if details is not None else [message]


class RejectedUpload(ServiceError):
    """Wrong type (sniffed from the bytes), empty file and the like: 400 with a stable code."""

    title = "Unsupported or invalid media"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
    title = "Conflict"
