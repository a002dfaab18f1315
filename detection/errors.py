"""Expected media problems, each with a stable ``code`` that the CLI, API and reports show as is."""

from __future__ import annotations


class DetectionError(Exception):
    """Base class: a problem with the input, not a bug. Never retried."""

    code = "detection_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class UnsupportedMedia(DetectionError):
    code = "unsupported_media"


class DecodeFailed(DetectionError):
    code = "decode_failed"


class MediaTooLarge(DetectionError):
    """Pixel cap, byte cap or (for time-based media) duration cap exceeded."""

    code = "too_large"


class MediaTooLong(DetectionError):
    """Audio or video over ``config.max_duration``."""

    code = "too_long"


class EmptyMedia(DecodeFailed):
    code = "empty_file"


class MediaNotFound(DetectionError):
    code = "not_found"
