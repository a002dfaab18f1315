"""Audio degradations for robustness reports and training augmentation (PyAV re-encoding, noise)."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

RATE = 16_000


def codec_roundtrip(x: np.ndarray, codec: str, bitrate: int) -> np.ndarray:
    """Encode 16 kHz mono ``x`` as MP3 or Opus at ``bitrate`` and decode it back (same length)."""
    import av

    buf = io.BytesIO()
    fmt, name, rate = ("mp3", "libmp3lame", 16000) if codec == "mp3" else ("ogg", "libopus", 48000)
    with av.open(buf, "w", format=fmt) as out:
        st: Any = out.add_stream(name, rate=rate)
        st.bit_rate = bitrate
        st.layout = "mono"
        pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        rs = av.AudioResampler(format=st.format.name, layout="mono", rate=rate)
        for f in rs.resample(frame):
            for p in st.encode(f):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    buf.seek(0)
    res = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    parts: list[np.ndarray] = []
    inp: Any
    with av.open(buf) as inp:
        for f in inp.decode(audio=0):
            parts.extend(o.to_ndarray().reshape(-1) for o in res.resample(f))
    y = np.concatenate(parts) if parts else x
    return y[: x.size].astype(np.float32) if y.size >= x.size else np.pad(y, (0, x.size - y.size)).astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White (or, half the time, low-frequency coloured) noise at ``snr_db`` below the signal power."""
    p = float(np.mean(x**2)) + 1e-9
    noise = rng.standard_normal(x.size).astype(np.float32)
    if rng.random() < 0.5:
        noise = np.cumsum(noise) * 0.02
        noise -= np.convolve(noise, np.ones(401) / 401, mode="same")
    noise *= math.sqrt(p / (10 ** (snr_db / 10)) / (float(np.mean(noise**2)) + 1e-12))
    return (x + noise).astype(np.float32)


def wav_bytes(x: np.ndarray, rate: int = RATE) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def decode_any(data: bytes) -> np.ndarray:
    from ..config import AnalysisConfig
    from ..decode.audio import decode_audio

    d = decode_audio(data, "audio", "audio/*", "", AnalysisConfig())
    assert d is not None
    return d.samples


def mp3_64k_file(data: bytes) -> bytes:
    """Robustness transform for an audio file: MP3 at 64 kbps (returned as WAV of the decoded result)."""
    return wav_bytes(codec_roundtrip(decode_any(data), "mp3", 64_000))


def noise_20db_file(data: bytes) -> bytes:
    """Robustness transform for an audio file: noise at 20 dB SNR (seeded)."""
    return wav_bytes(np.clip(add_noise(decode_any(data), 20.0, np.random.default_rng(7)), -1, 1))
