"""Read a source (path or bytes), sniff its real type and decode it within the configured limits."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..config import AnalysisConfig
from ..errors import DecodeFailed, EmptyMedia, MediaNotFound, MediaTooLarge, UnsupportedMedia
from .image import DecodedImage, decode_image
from .sniff import Sniffed, sniff

Source = str | os.PathLike[str] | bytes | bytearray | memoryview

__all__ = [
    "DecodedImage",
    "Sniffed",
    "Source",
    "decode",
    "decode_image",
    "read_source",
    "sniff",
    "sniff_or_raise",
]


def read_source(source: Source, config: AnalysisConfig) -> bytes:
    """Return the bytes of ``source``, refusing files over ``config.max_bytes`` before reading them."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(os.fspath(source))
        try:
            size = path.stat().st_size
        except FileNotFoundError as exc:
            raise MediaNotFound(f"{path.name} does not exist.") from exc
        except OSError as exc:
            raise DecodeFailed(f"Cannot open {path.name}: {exc.strerror or exc}") from exc
        if path.is_dir():
            raise UnsupportedMedia(f"{path.name} is a directory, not a media file.")
        if size > config.max_bytes:
            raise MediaTooLarge(f"File is {size} bytes; the limit is {config.max_bytes} bytes.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DecodeFailed(f"Cannot read {path.name}: {exc.strerror or exc}") from exc
    if len(data) > config.max_bytes:
        raise MediaTooLarge(f"Input is {len(data)} bytes; the limit is {config.max_bytes} bytes.")
    if not data:
        raise EmptyMedia("The file is empty (0 bytes).")
    return data


def sniff_or_raise(data: bytes) -> Sniffed:
    kind = sniff(data[:64])
    if kind is None:
        raise UnsupportedMedia(
            "Not a supported image, video or audio format (the type is read from the content, not the name)."
        )
    return kind


def decode(source: Source, config: AnalysisConfig) -> DecodedImage:
    """Read and decode an image (the image-only entry point used by tools and tests)."""
    data = read_source(source, config)
    kind = sniff_or_raise(data)
    if kind.kind != "image":
        raise UnsupportedMedia(f"{kind.format.upper()} is {kind.kind}, not an image.")
    return decode_image(data, kind.format, kind.mime, hashlib.sha256(data).hexdigest(), config)
