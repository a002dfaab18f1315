"""Canonical speech front end and voice-activity detection.

Every clip is brought to the same form before any model sees it (ML.md section 3: these remove the data's
shortcuts): mono 16 kHz (the decoder), 16-bit quantisation, leading/trailing audio more than 40 dB below the
loudest 20 ms frame trimmed, RMS normalised to ``TARGET_DBFS``. Training applies exactly this function.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

RATE = 16_000
FRAME = 320  # 20 ms
TRIM_DB = 40.0
TARGET_DBFS = -23.0
#: A fixed noise floor this far below the normalised speech level is added to every clip. Digital-zero silence
#: and unusually low noise floors identify some synthesis tools and some recording set-ups (ML.md section 3);
#: below this floor every clip looks the same, so the model cannot learn them.
NOISE_FLOOR_DB = -50.0


@dataclass(frozen=True)
class Canonical:
    samples: np.ndarray  # float32 mono 16 kHz, trimmed, RMS-normalised
    offset: float  # seconds trimmed from the start (to map windows back to the original timeline)
    rms_dbfs: float  # loudness before normalisation


def _frame_db(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME
    if n == 0:
        return np.array([20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-9)]) if len(x) else np.zeros(0)
    frames = x[: n * FRAME].reshape(n, FRAME)
    out: np.ndarray = 20 * np.log10(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-9)
    return out


def canonical(samples: np.ndarray) -> Canonical:
    """Quantise to 16 bit, trim quiet edges, normalise loudness. Never raises; silence stays (near) silence."""
    x = np.round(np.clip(samples.astype(np.float32), -1, 1) * 32767) / 32767
    db = _frame_db(x)
    offset = 0
    if db.size and db.max() > -90:
        loud = np.flatnonzero(db >= db.max() - TRIM_DB)
        start, end = int(loud[0]) * FRAME, min(len(x), (int(loud[-1]) + 1) * FRAME)
        x, offset = x[start:end], start
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0
    rms_db = 20 * np.log10(rms + 1e-9)
    if rms > 1e-5:
        x = x * (10 ** (TARGET_DBFS / 20) / rms)
        x = np.clip(x + noise_floor(x.size), -1, 1)
    return Canonical(samples=x.astype(np.float32), offset=offset / RATE, rms_dbfs=round(rms_db, 2))


def noise_floor(n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """White noise at ``NOISE_FLOOR_DB`` below ``TARGET_DBFS`` (seeded, so analysis stays deterministic)."""
    gen = rng if rng is not None else np.random.default_rng(0)
    level = 10 ** ((TARGET_DBFS + NOISE_FLOOR_DB) / 20)
    out: np.ndarray = (gen.standard_normal(n) * level).astype(np.float32)
    return out


_vad_lock = threading.Lock()
_vad_model: Any = None


def _vad() -> Any:
    global _vad_model
    with _vad_lock:
        if _vad_model is None:
            import warnings

            from silero_vad import load_silero_vad

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _vad_model = load_silero_vad()  # TorchScript weights inside the wheel: nothing is downloaded
        return _vad_model


def speech_seconds(samples: np.ndarray, *, enough: float = 2.0, threshold: float = 0.5) -> float:
    """Seconds of speech Silero VAD finds, scanning from the start and stopping once ``enough`` is found.

    Stopping early keeps the VAD cost to a few seconds of audio for normal speech (a full scan costs about
    12 ms per second of audio on one core); music, noise and silence are scanned to the end.
    """
    import torch

    model = _vad()
    chunk = 512
    found = 0
    with _vad_lock, torch.inference_mode():
        model.reset_states()
        for i in range(0, len(samples) - chunk + 1, chunk):
            prob = float(model(torch.from_numpy(np.ascontiguousarray(samples[i : i + chunk])), RATE))
            if prob >= threshold:
                found += chunk
                if found / RATE >= enough:
                    break
        model.reset_states()
    return found / RATE
