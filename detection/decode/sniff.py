"""Content sniffing: the real format comes from the bytes, never from the file name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MediaKind = Literal["image", "video", "audio"]


@dataclass(frozen=True)
class Sniffed:
    kind: MediaKind
    format: str  # short name, e.g. "jpeg", "mp4"
    mime: str


_IMAGE = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
}


def sniff(head: bytes) -> Sniffed | None:
    """Return what the first bytes say the file is, or ``None`` for anything we do not accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "jpeg", _IMAGE["jpeg"])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "png", _IMAGE["png"])
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "gif", _IMAGE["gif"])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "webp", _IMAGE["webp"])
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "tiff", _IMAGE["tiff"])
    if head[:2] == b"BM" and len(head) >= 26:
        return Sniffed("image", "bmp", _IMAGE["bmp"])
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("audio", "wav", "audio/wav")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "avi", "video/x-msvideo")
    if head[:4] == b"fLaC":
        return Sniffed("audio", "flac", "audio/flac")
    if head[:4] == b"OggS":
        return Sniffed("audio", "ogg", "audio/ogg")
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return Sniffed("audio", "mp3", "audio/mpeg")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return Sniffed("audio", "m4a", "audio/mp4")
        if brand in (b"qt  ",):
            return Sniffed("video", "mov", "video/quicktime")
        if brand in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"):
            return None  # still-image containers we do not decode
        return Sniffed("video", "mp4", "video/mp4")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        fmt = "webm" if b"webm" in head[:64] else "mkv"
        return Sniffed("video", fmt, "video/webm" if fmt == "webm" else "video/x-matroska")
    return None
