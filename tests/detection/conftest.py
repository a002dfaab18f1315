from __future__ import annotations

import pytest

from .media import encode, face_photo, photo


@pytest.fixture(scope="session")
def face_jpeg() -> bytes:
    return encode(face_photo(), "JPEG", quality=92)


@pytest.fixture(scope="session")
def landscape_png() -> bytes:
    return encode(photo((480, 360), seed=3), "PNG")
