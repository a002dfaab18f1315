from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from detection.config import AnalysisConfig
from detection.decode import decode, sniff
from detection.errors import DecodeFailed, EmptyMedia, MediaTooLarge, UnsupportedMedia

from .media import encode, photo

CFG = AnalysisConfig()


@pytest.mark.parametrize(
    "fmt,name", [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("TIFF", "tiff"), ("BMP", "bmp")]
)
def test_it_decodes_every_supported_image_format_to_rgb(fmt: str, name: str) -> None:
    img = decode(encode(photo(), fmt), CFG)
    assert img.info.format == name
    assert img.rgb.shape == (240, 320, 3) and img.rgb.dtype == np.uint8
    assert len(img.info.sha256) == 64


def test_it_reads_the_type_from_the_bytes_not_the_name(tmp_path) -> None:
    path = tmp_path / "holiday.png"
    path.write_bytes(encode(photo(), "JPEG"))
    assert decode(path, CFG).info.format == "jpeg"


def test_it_rejects_a_renamed_executable(tmp_path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 200)
    with pytest.raises(UnsupportedMedia) as err:
        decode(path, CFG)
    assert err.value.code == "unsupported_media"


def test_it_rejects_a_shell_script_named_like_an_image(tmp_path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(b"#!/bin/sh\nrm -rf /\n")
    with pytest.raises(UnsupportedMedia):
        decode(path, CFG)


def test_it_rejects_a_zero_byte_file_as_a_decode_failure(tmp_path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(EmptyMedia) as err:
        decode(path, CFG)
    assert isinstance(err.value, DecodeFailed)


def test_it_fails_cleanly_on_a_truncated_jpeg() -> None:
    data = encode(photo((640, 480)), "JPEG", quality=90)
    with pytest.raises(DecodeFailed) as err:
        decode(data[: len(data) // 2], CFG)
    assert err.value.code == "decode_failed"


def test_it_fails_cleanly_on_a_jpeg_with_garbage_after_the_header() -> None:
    data = encode(photo(), "JPEG")
    with pytest.raises(DecodeFailed):
        decode(data[:20] + bytes(range(256)) * 4, CFG)


def _png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG whose pixels would take width*height bytes: tiny on disk, huge in memory."""
    raw = zlib.compress(b"".join(b"\x00" + b"\x00" * ((width + 7) // 8) for _ in range(height)), 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_it_refuses_a_png_decompression_bomb_before_decoding_it() -> None:
    bomb = _png_bomb(20000, 20000)
    assert len(bomb) < 200_000
    t = time.perf_counter()
    with pytest.raises(MediaTooLarge) as err:
        decode(bomb, CFG)
    assert err.value.code == "too_large"
    assert time.perf_counter() - t < 5


def test_it_refuses_a_file_over_the_byte_limit(tmp_path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(encode(photo(), "JPEG"))
    with pytest.raises(MediaTooLarge):
        decode(path, AnalysisConfig(max_bytes=1000))


def test_it_decodes_a_cmyk_jpeg_to_rgb() -> None:
    cmyk = Image.fromarray(photo()).convert("CMYK")
    img = decode(encode(cmyk, "JPEG"), CFG)
    assert img.rgb.shape[2] == 3 and img.meta["mode"] == "CMYK"


def test_it_scales_a_16_bit_png_to_8_bit() -> None:
    arr = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    img = decode(encode(Image.fromarray(arr), "PNG"), CFG)
    assert img.rgb.dtype == np.uint8 and img.rgb.max() > 200 and img.rgb.min() < 10


def test_it_composites_transparency_over_white() -> None:
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)
    img = decode(encode(Image.fromarray(rgba), "PNG"), CFG)
    assert (img.rgb == 255).all()


def test_it_decodes_a_palette_image_with_transparency() -> None:
    pal = Image.fromarray(photo()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    img = decode(encode(pal, "PNG", transparency=0), CFG)
    assert img.rgb.shape == (240, 320, 3)


def test_it_applies_exif_orientation() -> None:
    im = Image.fromarray(photo((320, 240)))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    img = decode(encode(im, "JPEG", exif=exif.tobytes()), CFG)
    assert img.rgb.shape[:2] == (320, 240)


def test_it_takes_the_first_frame_of_an_animated_gif() -> None:
    frames = [Image.fromarray(np.full((40, 40, 3), v, dtype=np.uint8)) for v in (10, 240)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    img = decode(buf.getvalue(), CFG)
    assert img.rgb.mean() < 50 and img.meta["n_frames"] == 2


def test_it_downscales_large_images_once_for_analysis() -> None:
    img = decode(encode(photo((2048, 1024)), "PNG"), CFG)
    assert max(img.analysis_rgb.shape[:2]) == 1024 and img.scale == 0.5
    assert img.rgb.shape[:2] == (1024, 2048)


def test_it_sniffs_audio_and_video_containers() -> None:
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ").kind == "audio"  # type: ignore[union-attr]
    assert sniff(b"\x00\x00\x00\x20ftypisom\x00\x00").format == "mp4"  # type: ignore[union-attr]
    assert sniff(b"fLaC\x00\x00").format == "flac"  # type: ignore[union-attr]
    assert sniff(b"MZ\x90\x00") is None


def test_a_truncated_jpeg_fails_even_after_a_library_allowed_truncated_images() -> None:
    """WeasyPrint (report rendering, same worker process) sets Pillow's global LOAD_TRUNCATED_IMAGES on import."""
    from PIL import ImageFile

    data = encode(photo((640, 480)), "JPEG", quality=90)
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with pytest.raises(DecodeFailed):
            decode(data[: len(data) // 2], CFG)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
