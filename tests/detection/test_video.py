"""Video analysis on clips the tests encode themselves with PyAV (no shared data needed, except where marked)."""

from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from detection import AnalysisConfig, DetectionError, analyze  # noqa: E402
from detection.decode.video import decode_video  # noqa: E402
from detection.video.aggregate import load_video_params, track_features, track_logit  # noqa: E402
from detection.video.pipeline import Part, fuse  # noqa: E402
from detection.video.tracking import iou, landmark_jitter, major_tracks, track_faces  # noqa: E402

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _astronaut() -> np.ndarray:
    from skimage import data

    return np.asarray(data.astronaut())


def face_frames(n: int, size: tuple[int, int] = (480, 360)) -> list[np.ndarray]:
    """The astronaut photo (a real face) drifting a few pixels per frame on a grey background."""
    import cv2

    w, h = size
    face = cv2.resize(_astronaut(), (300, 300), interpolation=cv2.INTER_AREA)
    out = []
    for i in range(n):
        canvas = np.full((h, w, 3), 120, np.uint8)
        x = 60 + int(6 * math.sin(i / 4)) + i
        y = 20 + int(4 * math.cos(i / 5))
        canvas[y : y + 300, x : x + 300] = face
        out.append(canvas)
    return out


def noise_frames(n: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    big = np.kron(base, np.ones((8, 8, 1), np.uint8))
    return [np.roll(big, i * 2, axis=1) for i in range(n)]


def encode(
    frames: list[np.ndarray],
    *,
    fps: int = 10,
    fmt: str = "mp4",
    codec: str = "libx264",
    audio_seconds: float = 0.0,
    rotation: int | None = None,
) -> bytes:
    buf = io.BytesIO()
    c = av.open(buf, "w", format=fmt)
    h, w = frames[0].shape[:2] if frames else (64, 64)
    s = c.add_stream(codec, rate=fps, options={"preset": "ultrafast"} if codec == "libx264" else {})
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    if rotation is not None:
        s.set_display_rotation(rotation)
    a = None
    if audio_seconds:
        a = c.add_stream("aac" if fmt == "mp4" else "libopus", rate=48000)
    for f in frames:
        for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    if a is not None:
        rate = 48000
        t = np.arange(int(audio_seconds * rate)) / rate
        tone = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        for start in range(0, tone.size, 1024):
            fr = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="flt", layout="mono")
            fr.sample_rate = rate
            fr.pts = start
            fr.time_base = Fraction(1, rate)
            for p in a.encode(fr):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    c.close()
    return buf.getvalue()


@pytest.fixture(scope="module")
def face_clip() -> bytes:
    return encode(face_frames(20), fps=10)


def test_it_tracks_one_face_and_reports_a_timeline(face_clip: bytes) -> None:
    stages: list[str] = []
    a = analyze(face_clip, progress=lambda s, d, t: stages.append(s))
    assert a.media.media_type == "video"
    assert (a.media.width, a.media.height) == (480, 360)
    assert a.media.duration is not None and 1.8 <= a.media.duration <= 2.2
    ev = a.evidence
    assert len(ev["timeline"]) >= 10
    assert all({"t", "score", "faces"} <= set(x) for x in ev["timeline"])
    assert [x["t"] for x in ev["timeline"]] == sorted(x["t"] for x in ev["timeline"])
    majors = [t for t in ev["tracks"] if t["major"]]
    assert len(majors) == 1 and majors[0]["frames"] >= 8
    assert 0.0 <= ev["temporal_artifacts"] <= 1.0
    assert ev["suspicious_frames"] and ev["suspicious_frames"][0]["image"]
    assert ev["audio"] is None  # no audio stream
    assert "face_manipulation" in a.models_used
    assert a.scores["face_manipulation"] is not None
    for k in ("decode", "faces", "models", "audio", "total"):
        assert k in a.provenance["timings"]
    assert {"decode", "frames", "faces", "detector:face_manipulation", "fusion"} <= set(stages)
    assert a.prediction in ("authentic", "deepfake", "unknown")
    assert a.to_dict()["media"]["duration"] == a.media.duration


def test_detailed_adds_heatmaps_to_the_suspicious_frames(face_clip: bytes) -> None:
    a = analyze(face_clip, AnalysisConfig(detailed=True))
    assert a.evidence["feature_maps"]
    assert a.evidence["suspicious_frames"][0]["heatmap"] is True


def test_a_video_without_a_face_is_unknown_no_face_found() -> None:
    a = analyze(encode(noise_frames(10), fps=10))
    assert a.prediction == "unknown"
    assert a.reason == "no_face_found"
    assert a.evidence["parts"]["face"]["reason"] == "no_face_found"
    assert a.evidence["tracks"] == []
    assert a.evidence["temporal_artifacts"] is None


def test_the_audio_track_is_analysed_when_present() -> None:
    a = analyze(encode(noise_frames(15), fps=10, audio_seconds=1.5))
    audio = a.evidence["audio"]
    assert audio["present"] is True and audio["analysed"] is True and audio["detector"] == "speech_spoof"
    # a pure tone is no speech, and noise frames have no face: neither part can answer
    assert a.evidence["parts"]["speech"]["reason"] == "no_speech"
    assert a.evidence["parts"]["face"]["reason"] == "no_face_found"
    assert (a.prediction, a.reason) == ("unknown", "no_face_found")


def test_webm_decodes_too() -> None:
    clip = encode(noise_frames(6), fps=5, fmt="webm", codec="libvpx")
    v = decode_video(clip, "webm", "video/webm", "x", AnalysisConfig())
    assert v.frames and v.width == 320


def test_it_rejects_a_truncated_video(face_clip: bytes) -> None:
    with pytest.raises(DetectionError) as exc:
        analyze(face_clip[: len(face_clip) // 3])
    assert exc.value.code == "decode_failed"


def test_it_rejects_a_video_claiming_10000x10000_frames() -> None:
    buf = io.BytesIO()
    c = av.open(buf, "w", format="mp4")
    s = c.add_stream("libx264", rate=1, options={"preset": "ultrafast"})
    s.width, s.height, s.pix_fmt = 10000, 10000, "yuv420p"
    for p in s.encode(av.VideoFrame(10000, 10000, "yuv420p")):
        c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    with pytest.raises(DetectionError) as exc:
        analyze(buf.getvalue())
    assert exc.value.code == "too_large"


def test_it_rejects_a_zero_frame_mp4() -> None:
    buf = io.BytesIO()
    c = av.open(buf, "w", format="mp4")
    s = c.add_stream("libx264", rate=10)
    s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
    c.start_encoding()  # header and trailer, no frames
    for p in s.encode():
        c.mux(p)
    c.close()
    assert buf.getvalue()[4:8] == b"ftyp"
    with pytest.raises(DetectionError) as exc:
        analyze(buf.getvalue())
    assert exc.value.code == "decode_failed"


def test_it_rejects_a_shell_script_named_mp4(tmp_path: Path) -> None:
    p = tmp_path / "clip.mp4"
    p.write_bytes(b"#!/bin/sh\nrm -rf /\n")
    with pytest.raises(DetectionError) as exc:
        analyze(p)
    assert exc.value.code == "unsupported_media"


def test_it_rejects_a_video_over_max_duration() -> None:
    clip = encode(noise_frames(30, (64, 64)), fps=10)  # 3 s
    with pytest.raises(DetectionError) as exc:
        analyze(clip, AnalysisConfig(max_duration=2.0))
    assert exc.value.code == "too_long"


def test_it_honours_rotation_metadata() -> None:
    frames = [np.zeros((60, 100, 3), np.uint8) for _ in range(3)]
    for f in frames:
        f[:, :50] = 255  # left half white
    v = decode_video(encode(frames, fps=5, rotation=90), "mp4", "video/mp4", "x", AnalysisConfig())
    assert v.rotation in (90, 270)
    assert (v.width, v.height) == (60, 100)
    assert v.frames[0].rgb.shape[:2] == (100, 60)


def test_sampling_is_by_time_and_capped_for_long_clips() -> None:
    clip = encode(noise_frames(400, (64, 48)), fps=20)  # 20 s: sparse grid
    v = decode_video(clip, "mp4", "video/mp4", "x", AnalysisConfig())
    assert v.frames_decoded == 400
    assert 20 <= len(v.frames) <= 64
    ts = [f.t for f in v.frames if not f.scene_change]
    assert ts[0] == 0.0 and ts[-1] > 15.0
    assert max(np.diff(ts)) < 1.0


def test_tracking_keeps_one_track_per_person() -> None:
    from detection.types import Face

    def face(x: int, y: int) -> Face:
        return Face(box=(x, y, x + 100, y + 100), score=0.9, landmarks=((x + 30, y + 40), (x + 70, y + 40)))

    frames = [[face(10 + 5 * i, 10), face(400 - 3 * i, 50)] for i in range(6)] + [[face(45, 12)]]
    tracks = track_faces(frames, [i * 0.5 for i in range(7)])
    assert len(tracks) == 2
    assert [len(t.dets) for t in tracks] == [7, 6]
    assert major_tracks(tracks) == tracks
    assert landmark_jitter(tracks[0]) == pytest.approx(0.0, abs=1e-9)
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


def test_aggregation_is_monotonic_in_the_top_logits() -> None:
    params = load_video_params()
    assert track_features([3.0, 1.0, -1.0, -3.0], 0.5)[0] == pytest.approx(2.0)
    assert track_logit([2.0, 2.0, 2.0], params) > track_logit([-2.0, -2.0, -2.0], params)


def test_fusion_rules_keep_each_part_and_need_all_parts_for_authentic() -> None:
    face_real = Part("face", "authentic", 0.1, None)
    assert fuse(face_real, None) == ("authentic", 0.1, None)
    assert fuse(face_real, Part("speech", "deepfake", 0.9, None)) == ("deepfake", 0.9, "speech_deepfake")
    assert fuse(face_real, Part("speech", "unknown", 0.5, "weak_evidence"))[0] == "unknown"
    assert fuse(Part("face", "unknown", None, "no_face_found"), None) == ("unknown", 0.5, "no_face_found")
    assert fuse(Part("face", "unknown", None, "no_face_found"), Part("speech", "deepfake", 0.95, None))[0] == "deepfake"


@pytest.mark.skipif(not (DATA / "video").is_dir(), reason="needs ../shared/data/video")
def test_a_dfdc_video_gets_a_face_score() -> None:
    clip = next(iter(sorted((DATA / "video").rglob("*.mp4"))))
    a = analyze(clip)
    assert a.media.width and a.media.duration
    assert a.evidence["tracks"]


def test_the_cli_prints_duration_tracks_and_timeline(
    face_clip: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from detection.__main__ import main

    p = tmp_path / "clip.mp4"
    p.write_bytes(face_clip)
    assert main(["analyze", str(p)]) == 0
    out = capsys.readouterr().out
    assert "video mp4 480x360, 2.00 s" in out
    assert "track 0:" in out and "timeline: " in out and "face part:" in out


def test_a_scene_cut_in_a_long_clip_gets_its_own_sample() -> None:
    dark = [np.full((48, 64, 3), 20, np.uint8)] * 170
    light = [np.full((48, 64, 3), 230, np.uint8)] * 170
    v = decode_video(encode(dark + light, fps=10), "mp4", "video/mp4", "x", AnalysisConfig())  # 34 s
    cuts = [f for f in v.frames if f.scene_change]
    assert len(cuts) == 1 and 17.0 <= cuts[0].t <= 17.6


def test_variable_frame_rate_is_sampled_by_presentation_time() -> None:
    buf = io.BytesIO()
    c = av.open(buf, "w", format="mp4")
    s = c.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    s.time_base = Fraction(1, 1000)
    s.codec_context.time_base = Fraction(1, 1000)
    # 2 s of frames every 20 ms, then 2 s of frames every 200 ms
    stamps = [i * 20 for i in range(100)] + [2000 + i * 200 for i in range(10)]
    for i, ms in enumerate(stamps):
        f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 255, np.uint8), format="rgb24")
        f.pts, f.time_base = ms, Fraction(1, 1000)
        for p in s.encode(f):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    v = decode_video(buf.getvalue(), "mp4", "video/mp4", "x", AnalysisConfig())
    ts = [f.t for f in v.frames]
    assert v.frames_decoded == 110
    assert ts[-1] >= 3.5  # the sparse second half is sampled by time, not squeezed out by frame count
    assert max(np.diff(ts)) <= 0.25


@pytest.mark.parametrize(
    ("fmt", "codec", "kind"),
    [
        ("mov", "libx264", "mov"),
        ("matroska", "libx264", "mkv"),
        ("avi", "mpeg4", "avi"),
        ("webm", "libvpx-vp9", "webm"),
    ],
)
def test_common_containers_are_sniffed_and_decoded(fmt: str, codec: str, kind: str) -> None:
    from detection.decode.sniff import sniff

    clip = encode(noise_frames(5, (64, 48)), fps=5, fmt=fmt, codec=codec)
    sniffed = sniff(clip[:64])
    assert sniffed is not None and sniffed.kind == "video" and sniffed.format == kind
    v = decode_video(clip, sniffed.format, sniffed.mime, "x", AnalysisConfig())
    assert len(v.frames) == 5 and (v.width, v.height) == (64, 48)


def test_a_broken_audio_track_leaves_the_face_analysis_standing(monkeypatch: pytest.MonkeyPatch) -> None:
    import detection.audio.pipeline as audio_pipeline
    from detection.errors import DecodeFailed

    def broken(*_a: object, **_k: object) -> None:
        raise DecodeFailed("bad audio")

    monkeypatch.setattr(audio_pipeline, "analyze_track", broken)
    a = analyze(encode(noise_frames(10), fps=10, audio_seconds=1.0))
    assert a.evidence["audio"] == {"present": True, "analysed": False, "reason": "audio_decode_failed"}
    assert a.evidence["parts"]["speech"]["reason"] == "audio_decode_failed"
    assert a.reason == "no_face_found"


def test_a_video_with_a_face_and_speech_answers_both_questions() -> None:
    """The speech fixture as the sound track of a face clip: both parts are scored and stay visible."""
    import soundfile as sf

    speech, rate = sf.read(Path(__file__).resolve().parents[1] / "fixtures" / "speech_en.flac", dtype="float32")
    frames = face_frames(30)
    buf = io.BytesIO()
    c = av.open(buf, "w", format="mp4")
    v = c.add_stream("libx264", rate=10, options={"preset": "ultrafast"})
    v.width, v.height, v.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
    a = c.add_stream("aac", rate=rate)
    for f in frames:
        for p in v.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
            c.mux(p)
    for p in v.encode():
        c.mux(p)
    for start in range(0, speech.size, 1024):
        fr = av.AudioFrame.from_ndarray(speech[None, start : start + 1024], format="flt", layout="mono")
        fr.sample_rate, fr.pts, fr.time_base = rate, start, Fraction(1, rate)
        for p in a.encode(fr):
            c.mux(p)
    for p in a.encode():
        c.mux(p)
    c.close()
    result = analyze(buf.getvalue())
    assert set(result.models_used) == {"face_manipulation", "speech_spoof"}
    parts = result.evidence["parts"]
    assert parts["face"]["fake_probability"] is not None and parts["speech"]["fake_probability"] is not None
    assert result.evidence["audio"]["timeline"], "the speech timeline of the sound track"
    assert result.fake_probability >= max(parts["face"]["fake_probability"], parts["speech"]["fake_probability"]) - 1e-6
