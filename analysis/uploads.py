"""Upload size limit enforced while the body streams in, not after it has all been read.

Django's multipart parser hands each chunk to the upload handlers in order; this one comes first
(settings.FILE_UPLOAD_HANDLERS), counts, and raises ``UploadTooLarge`` (413) as soon as the running total of
a file passes ``UPLOAD_MAX_BYTES``, before the next handlers write the chunk anywhere. A declared
Content-Length far over the limit is refused before reading a single byte. Under daphne, the ASGI guard in
config/asgi.py applies the same limit to the raw body before Django buffers it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from rest_framework.exceptions import APIException

#: Room for the multipart framing and the small form fields (options, metadata) around the file.
MULTIPART_OVERHEAD = 1024 * 1024


class UploadTooLarge(APIException):
    status_code = 413
    default_detail = "File size exceeds maximum limit"
    default_code = "file_too_large"


def max_upload_bytes() -> int:
    return int(settings.UPLOAD_MAX_BYTES)


def max_request_bytes() -> int:
    return max_upload_bytes() + MULTIPART_OVERHEAD


class SizeLimitUploadHandler(FileUploadHandler):
    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = max_upload_bytes()
        self.received = 0
        #: Total bytes this handler has seen, across files (tests use it to prove the body was not all read).
        self.seen = 0

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, boundary: Any,
                         encoding: Any = None) -> None:
        if content_length and content_length > max_request_bytes():
            raise UploadTooLarge()
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        self.seen += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
