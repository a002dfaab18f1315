"""Audio: decoding every accepted container, limits, reason codes, bad files, and the committed speech model.

Media are made here: ``tests/fixtures/speech_en.flac`` is 8 s of espeak-ng speech (generated, not recorded),
re-encoded by PyAV into every container; tones, noise and silence are synthesised.
"""

from __future__ import annotations

import base64
import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from detection import AnalysisConfig, analyze
from detection.audio.frontend import TARGET_DBFS, canonical
from detection.errors import DetectionError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "speech_en.flac"
RATE = 16_000


def speech() -> np.ndarray:
    x, sr = sf.read(FIXTURE, dtype="float32")
    assert sr == RATE
    return x


def wav_bytes(x: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def encode(x: np.ndarray, fmt: str, codec: str, rate: int = RATE) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        st = out.add_stream(codec, rate=rate)
        st.layout = "mono"
        frame = av.AudioFrame.from_ndarray((x * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        rs = av.AudioResampler(format=st.format.name, layout="mono", rate=rate)
        for f in rs.resample(frame):
            for p in st.encode(f):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    return buf.getvalue()


def code_of(data: bytes, cfg: AnalysisConfig | None = None) -> str:
    with pytest.raises(DetectionError) as exc:
        analyze(data, cfg)
    return exc.value.code


@pytest.mark.parametrize(
    ("fmt", "codec", "rate", "expect"),
    [
        ("wav", "pcm_s16le", 16000, "wav"),
        ("flac", "flac", 16000, "flac"),
        ("mp3", "libmp3lame", 16000, "mp3"),
        ("ogg", "libopus", 48000, "ogg"),
        ("ipod", "aac", 16000, "m4a"),
        ("webm", "libopus", 48000, "webm"),
    ],
)
def test_every_container_is_analysed_with_a_timeline(fmt: str, codec: str, rate: int, expect: str) -> None:
    data = encode(speech(), fmt, codec, rate)
    a = analyze(data)
    assert a.media.media_type == "audio"
    assert a.media.format == expect
    assert a.models_used == ("speech_spoof",)
    assert a.prediction in ("authentic", "deepfake", "unknown")
    assert 0.0 <= a.fake_probability <= 1.0
    tl = a.evidence["timeline"]
    assert len(tl) >= 2 and all(0.0 <= w["score"] <= 1.0 and w["end"] > w["start"] for w in tl)
    assert abs(a.media.duration - 8.0) < 0.3
    assert a.provenance["detectors"][0]["weights_sha256"]


def test_no_speech_in_tone_noise_or_silence() -> None:
    t = np.arange(5 * RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = (0.1 * np.random.default_rng(0).standard_normal(5 * RATE)).astype(np.float32)
    silence = np.zeros(5 * RATE, np.float32)
    for x in (tone, noise, silence):
        a = analyze(wav_bytes(x))
        assert (a.prediction, a.reason) == ("unknown", "no_speech")
        assert a.models_used == ()
        assert a.scores == {"speech_spoof": None}


def test_under_one_second_of_speech_is_too_short() -> None:
    x = speech()
    lead = x[int(0.2 * RATE) : int(1.0 * RATE)]
    a = analyze(wav_bytes(np.concatenate([lead, np.zeros(2 * RATE, np.float32)])))
    assert (a.prediction, a.reason) == ("unknown", "too_short")


def test_duration_cap() -> None:
    assert code_of(wav_bytes(speech()), AnalysisConfig(max_duration=3.0)) == "too_long"


def test_truncated_flac_fails_cleanly() -> None:
    buf = io.BytesIO()
    sf.write(buf, speech(), RATE, format="FLAC")
    data = buf.getvalue()
    assert code_of(data[: len(data) // 3]) == "decode_failed"


def test_wav_with_a_lying_header() -> None:
    data = bytearray(wav_bytes(speech()))
    # The data chunk claims ten times the samples that follow.
    pos = data.find(b"data")
    (n,) = struct.unpack("<I", data[pos + 4 : pos + 8])
    data[pos + 4 : pos + 8] = struct.pack("<I", n * 10)
    # Recorders that crash or stream write such headers; the samples that are there are analysed, and the
    # duration reported is the real one, not the header's.
    a = analyze(bytes(data))
    assert abs(a.media.duration - 8.0) < 0.3
    assert a.models_used == ("speech_spoof",)
    # A header whose format chunk is cut off is not audio we can read.
    assert code_of(bytes(data[:40])) == "decode_failed"


def test_mp3_with_garbage_frames_does_not_crash() -> None:
    data = encode(speech(), "mp3", "libmp3lame")
    rng = np.random.default_rng(1)
    mid = len(data) // 2
    bad = data[:mid] + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes() + data[mid:]
    try:
        a = analyze(bad)
    except DetectionError as exc:
        assert exc.code == "decode_failed"
    else:
        assert a.media.media_type == "audio" and a.prediction in ("authentic", "deepfake", "unknown")


def test_zero_length_audio() -> None:
    assert code_of(wav_bytes(np.zeros(0, np.float32))) == "decode_failed"


def test_eight_channel_192khz_is_downmixed() -> None:
    from scipy.signal import resample_poly

    x = resample_poly(speech(), 12, 1).astype(np.float32)
    multi = np.stack([x * (0.5 + 0.05 * c) for c in range(8)], axis=1)
    a = analyze(wav_bytes(multi, 192_000, "PCM_24"))
    assert a.evidence["audio"]["source_rate"] == 192_000
    assert a.evidence["audio"]["source_channels"] == 8
    assert abs(a.media.duration - 8.0) < 0.3
    assert a.models_used == ("speech_spoof",)


def test_renamed_executable_is_unsupported(tmp_path: Path) -> None:
    p = tmp_path / "voice.wav"
    p.write_bytes(b"#!/bin/sh\necho pwned\n" * 10)
    assert code_of(p.read_bytes()) == "unsupported_media"


def test_committed_model_is_deterministic_and_loudness_invariant() -> None:
    x = speech()
    a1 = analyze(wav_bytes(x))
    a2 = analyze(wav_bytes(x))
    quiet = analyze(wav_bytes(x * 0.1))
    assert a1.fake_probability == a2.fake_probability
    assert a1.evidence["timeline"] == a2.evidence["timeline"]
    # The front end normalises loudness: a 20 dB quieter copy scores (nearly) the same.
    assert abs(a1.fake_probability - quiet.fake_probability) < 0.05


def test_front_end_trims_and_normalises() -> None:
    x = np.concatenate([np.zeros(RATE, np.float32), speech() * 0.05, np.zeros(RATE, np.float32)])
    c = canonical(x)
    assert 0.9 < c.offset < 1.1
    assert abs(c.samples.size / RATE - 8.0) < 0.6
    rms_db = 20 * np.log10(np.sqrt(np.mean(c.samples**2)))
    assert abs(rms_db - TARGET_DBFS) < 0.5


def test_detailed_gives_a_spectrogram_png() -> None:
    a = analyze(wav_bytes(speech()), {"detailed": True})
    maps = a.evidence["feature_maps"]
    assert [m["layer"] for m in maps] == ["spectrogram"]
    png = base64.b64decode(maps[0]["activation_map"])
    assert png.startswith(b"\x89PNG")
