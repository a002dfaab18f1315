"""Audio decoding with hard limits: any container PyAV (bundled FFmpeg) reads, to mono float32 at 16 kHz.

Used for audio files (WAV, FLAC, MP3, OGG/Opus, M4A/AAC, WebM audio) and for the audio track of a video.
The duration cap is checked against the header before decoding and again while samples arrive (a header may
lie); a stream that ends well before its declared length is truncated and fails with ``decode_failed``.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import AnalysisConfig
from ..errors import DecodeFailed, MediaTooLong
from ..types import MediaInfo

logger = logging.getLogger(__name__)

RATE = 16_000


@dataclass(frozen=True)
class DecodedAudio:
    info: MediaInfo
    #: mono float32 in [-1, 1] at ``RATE`` Hz, as decoded (the front end trims and normalises it).
    samples: np.ndarray
    rate: int
    source_rate: int
    source_channels: int
    codec: str


def _declared_seconds(container: object, stream: object) -> float | None:
    dur = getattr(stream, "duration", None)
    tb = getattr(stream, "time_base", None)
    if dur is not None and tb is not None and dur > 0:
        return float(dur * tb)
    cdur = getattr(container, "duration", None)  # microseconds
    if cdur is not None and cdur > 0:
        return float(cdur) / 1_000_000
    return None


def decode_audio(
    data: bytes,
    fmt: str,
    mime: str,
    sha256: str,
    config: AnalysisConfig,
    *,
    media_type: str = "audio",
    required: bool = True,
) -> DecodedAudio | None:
    """Decode the first audio stream of ``data``. Returns ``None`` when there is none and ``required`` is false."""
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise DecodeFailed(f"Cannot open the {fmt.upper()} container: {exc}") from exc
    with container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            if required:
                raise DecodeFailed(f"The {fmt.upper()} file has no audio stream.")
            return None
        stream = streams[0]
        ctx: Any = stream.codec_context
        source_rate = int(ctx.sample_rate or 0)
        channels = int(getattr(ctx, "channels", 0) or 0)
        codec = str(ctx.name or "unknown")
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > config.max_duration:
            raise MediaTooLong(f"The audio lasts {declared:.0f} s; the limit is {config.max_duration:.0f} s.")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        chunks: list[np.ndarray] = []
        total = 0
        cap = int((config.max_duration + 1.0) * RATE)
        try:
            frame: Any
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += arr.size
                if total > cap:
                    raise MediaTooLong(f"The audio is longer than the {config.max_duration:.0f} s limit.")
            for out in resampler.resample(None):
                arr = out.to_ndarray().reshape(-1)
                chunks.append(arr)
                total += arr.size
        except av.FFmpegError as exc:
            if total < RATE // 2:
                raise DecodeFailed(f"The {fmt.upper()} audio stream is corrupt: {exc}") from exc
            raise DecodeFailed(f"The {fmt.upper()} audio stream is corrupt after {total / RATE:.1f} s: {exc}") from exc
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    samples = np.nan_to_num(np.clip(samples, -1.0, 1.0), nan=0.0)
    seconds = samples.size / RATE
    if samples.size == 0:
        raise DecodeFailed(f"The {fmt.upper()} file contains no decodable audio samples.")
    if declared is not None and declared - seconds > 0.5 and seconds < 0.9 * declared:
        raise DecodeFailed(
            f"The audio is truncated: the header declares {declared:.2f} s but only {seconds:.2f} s can be decoded."
        )
    info = MediaInfo(
        media_type=media_type,  # type: ignore[arg-type]
        format=fmt,
        mime=mime,
        size_bytes=len(data),
        sha256=sha256,
        duration=round(seconds, 3),
    )
    return DecodedAudio(
        info=info, samples=samples, rate=RATE, source_rate=source_rate, source_channels=channels, codec=codec
    )


def stream_types(data: bytes) -> set[str] | None:
    """The stream types in a container ({"video", "audio", ...}), or ``None`` when it cannot be opened."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            return {s.type for s in container.streams}
    except (av.FFmpegError, ValueError, OSError):
        return None
