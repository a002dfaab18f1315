"""Streaming video decoding with PyAV: sampled, downscaled, upright RGB frames and nothing else in memory.

Why streaming: a 10-minute 1080p clip is ~18 000 frames (110 GB as RGB). The decoder walks the packets once,
keeps only the frames the sampler asks for (each converted straight to the analysis size by swscale, which is
far cheaper than converting at full size and resizing), and checks every limit as it goes, because a header
may lie about the frame size, the duration or the frame count.

Sampling adapts to length and uses presentation times (PTS), so variable-frame-rate clips (phones) are
sampled evenly in TIME, not in frame numbers:

- short clips (<= ``DENSE_SECONDS``) get up to ``DENSE_FPS`` frames per second;
- longer clips get an even grid of ``max_samples - scene_budget`` frames plus up to ``scene_budget`` frames
  right after scene changes (a cut is where a spliced face or a second person usually appears);
- when the duration is unknown (some WebM/MKV headers), the grid starts dense and is thinned 2:1 whenever it
  overflows, which keeps it even without knowing the length in advance.

Frames between samples are decoded (H.264/VP9 need their references) but never converted to RGB; on long
H.264/HEVC clips the decoder skips non-reference frames altogether (``skip_frame="NONREF"``, about half the
frames and half the decoding time). Long clips also pay a tiny grey thumbnail per ``SCENE_STEP`` seconds for the
scene-change test.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import AnalysisConfig
from ..errors import DecodeFailed, MediaTooLarge, MediaTooLong

logger = logging.getLogger(__name__)

#: Clips up to this long are sampled densely (``DENSE_FPS``); longer ones on a sparse grid plus scene changes.
DENSE_SECONDS = 15.0
DENSE_FPS = 5.0
#: Total sampled frames (grid + scene changes); the models' cost is linear in it.
MAX_SAMPLES = 64
SCENE_BUDGET = 12
#: Mean absolute difference of 32x18 grey thumbnails (0-255) above which two moments are a different scene.
SCENE_THRESHOLD = 28.0
SCENE_STEP = 0.25
#: Codecs whose non-reference frames can be skipped safely on long clips (they are B-frames nothing refers to).
SKIP_NONREF_CODECS = frozenset({"h264", "hevc", "mpeg4", "mpeg2video"})
#: Long side of the copy face crops are taken from (1080p stays full size; 4K is halved).
CROP_SIDE = 1920

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class VideoFrame:
    """One sampled frame: RGB uint8 at most ``analysis_side`` on its long side, upright."""

    index: int  # decode order among all decoded frames
    t: float  # seconds from the start of the video stream (PTS based)
    rgb: np.ndarray
    scene_change: bool = False
    #: The same frame at up to ``CROP_SIDE`` (``None`` when ``rgb`` already is full size): face crops come from
    #: it, because the face model reads a small face upscaled from 1024 px as "blurry, so fake".
    hires: np.ndarray | None = None

    @property
    def crop_source(self) -> tuple[np.ndarray, float]:
        """(image to crop faces from, its pixels per ``rgb`` pixel)."""
        if self.hires is None:
            return self.rgb, 1.0
        return self.hires, self.hires.shape[1] / self.rgb.shape[1]


@dataclass(frozen=True)
class DecodedVideo:
    format: str
    mime: str
    sha256: str
    size_bytes: int
    width: int  # upright (after rotation), original resolution
    height: int
    duration: float
    frames_decoded: int
    frames: tuple[VideoFrame, ...]
    rotation: int = 0
    codec: str = ""
    average_fps: float | None = None
    has_audio: bool = False
    #: Seconds spent merely decoding and converting (the floor the analysis cannot beat).
    decode_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Sampler:
    """Decides, frame by frame from PTS times, which frames to keep."""

    duration: float | None
    max_samples: int = MAX_SAMPLES
    scene_budget: int = SCENE_BUDGET
    step: float = 0.0
    next_t: float = 0.0
    scene_taken: int = 0

    def __post_init__(self) -> None:
        grid = self.max_samples - self.scene_budget
        if self.duration is not None and self.duration > 0:
            dense = self.duration <= DENSE_SECONDS
            self.step = max(1.0 / DENSE_FPS, self.duration / (self.max_samples if dense else grid))
            if dense:
                self.scene_budget = 0
        else:
            self.step = 1.0 / DENSE_FPS

    @property
    def long(self) -> bool:
        return self.duration is None or self.duration > DENSE_SECONDS


def _rotation_of(stream: Any, frame: Any | None) -> int:
    """Clockwise rotation in degrees (0/90/180/270) to display the frame upright.

    FFmpeg's display matrix (``frame.rotation``, from side data) is counter-clockwise; the legacy ``rotate``
    tag (old Android/iOS files) is clockwise.
    """
    rot: float | None = None
    if frame is not None:
        try:
            r = frame.rotation
            if r:
                rot = -float(r)
        except (AttributeError, ValueError):
            rot = None
    if rot is None:
        tag = (stream.metadata or {}).get("rotate")
        if tag:
            try:
                rot = float(tag)
            except ValueError:
                rot = None
    if not rot:
        return 0
    return int(round(rot / 90.0)) % 4 * 90


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 90:
        return np.ascontiguousarray(np.rot90(rgb, k=-1))
    if rotation == 180:
        return np.ascontiguousarray(rgb[::-1, ::-1])
    if rotation == 270:
        return np.ascontiguousarray(np.rot90(rgb, k=1))
    return rgb


def _fit(w: int, h: int, side: int) -> tuple[int, int]:
    s = min(1.0, side / max(w, h))
    # even sizes keep swscale's chroma handling exact
    return max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)


def probe_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        d = float(stream.duration * stream.time_base)
        if d > 0:
            return d
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000.0
    return None


def decode_video(
    data: bytes,
    fmt: str,
    mime: str,
    sha: str,
    cfg: AnalysisConfig,
    report: Progress | None = None,
    *,
    max_samples: int = MAX_SAMPLES,
    inspect: Callable[[VideoFrame], VideoFrame] | None = None,
) -> DecodedVideo:
    """Decode the sampled frames of the first video stream. Raises ``DetectionError`` subclasses on bad input.

    ``inspect`` sees each sampled frame as soon as it is decoded and returns what to keep: the video pipeline
    finds faces and cuts their crops from the high-resolution copy there, then drops that copy, so memory holds
    one full-size frame at a time instead of all of them.
    """
    import time

    import av
    import cv2

    t0 = time.perf_counter()
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise DecodeFailed(f"The {fmt.upper()} container could not be opened: {exc}") from exc
    try:
        if not container.streams.video:
            raise DecodeFailed(f"The {fmt.upper()} file has no video stream.")
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        cc = stream.codec_context
        w0, h0 = int(cc.width or 0), int(cc.height or 0)
        if w0 * h0 > cfg.max_video_pixels or max(w0, h0) > cfg.max_side:
            raise MediaTooLarge(
                f"The video's frame size {w0}x{h0} exceeds the limit of {cfg.max_video_pixels} pixels per frame."
            )
        duration = probe_duration(container, stream)
        if duration is not None and duration > cfg.max_duration:
            raise MediaTooLong(
                f"The video lasts {duration:.0f} s; the limit is {cfg.max_duration:.0f} s (config.max_duration)."
            )
        n_header = int(stream.frames or 0)
        if n_header > cfg.max_frames:
            raise MediaTooLarge(f"The video has {n_header} frames; the limit is {cfg.max_frames}.")
        stream.thread_type = "AUTO"  # frame + slice threads: decoding is the floor, use both cores for it
        if duration is not None and duration > DENSE_SECONDS and str(cc.name) in SKIP_NONREF_CODECS:
            # sparse sampling needs no disposable (non-reference) frames: skipping them halves the decoding
            stream.codec_context.skip_frame = "NONREF"
        fps = float(stream.average_rate) if stream.average_rate else None
        sampler = _Sampler(duration, max_samples=max_samples)
        expected = n_header or (int(duration * fps) if duration and fps else 0)
        rot_default = _rotation_of(stream, None)
        kept: list[VideoFrame] = []
        decoded = 0
        start: float | None = None
        last_thumb: np.ndarray | None = None
        next_thumb_t = 0.0
        rotation = rot_default
        last_t = 0.0
        try:
            for frame in container.decode(stream):
                decoded += 1
                if decoded > cfg.max_frames:
                    raise MediaTooLarge(f"The video has more than {cfg.max_frames} frames (config.max_frames).")
                fw, fh = int(frame.width), int(frame.height)
                if fw * fh > cfg.max_video_pixels or max(fw, fh) > cfg.max_side:
                    raise MediaTooLarge(f"A decoded frame is {fw}x{fh}, over the limit of {cfg.max_video_pixels} px.")
                # no PTS at all: fall back to the nominal rate
                t_abs = float(frame.time) if frame.time is not None else (decoded - 1) / (fps or 25.0)
                if start is None:
                    start = t_abs
                    rotation = _rotation_of(stream, frame) or rot_default
                t = max(0.0, t_abs - start)
                last_t = max(last_t, t)
                if t > cfg.max_duration:
                    raise MediaTooLong(f"The video runs past {cfg.max_duration:.0f} s (config.max_duration).")
                take = t + 1e-6 >= sampler.next_t
                scene = False
                if not take and sampler.long and t >= next_thumb_t and sampler.scene_taken < sampler.scene_budget:
                    next_thumb_t = t + SCENE_STEP
                    thumb = frame.reformat(width=32, height=18, format="gray").to_ndarray().astype(np.float32)
                    if last_thumb is not None and float(np.abs(thumb - last_thumb).mean()) > SCENE_THRESHOLD:
                        take = scene = True
                        sampler.scene_taken += 1
                    last_thumb = thumb
                if not take:
                    continue
                if not scene:
                    sampler.next_t += sampler.step * max(1, math.floor((t - sampler.next_t) / sampler.step) + 1)
                tw, th = _fit(fw, fh, cfg.analysis_side)
                # the high-resolution copy only exists for an inspector to cut face crops from and drop
                cw, ch = _fit(fw, fh, max(cfg.analysis_side, CROP_SIDE)) if inspect is not None else (tw, th)
                if (cw, ch) == (tw, th):
                    rgb = frame.reformat(width=tw, height=th, format="rgb24").to_ndarray()
                    vf = VideoFrame(decoded - 1, t, _upright(rgb, rotation), scene)
                else:
                    big = _upright(frame.reformat(width=cw, height=ch, format="rgb24").to_ndarray(), rotation)
                    small = cv2.resize(
                        big, (big.shape[1] * tw // cw, big.shape[0] * tw // cw), interpolation=cv2.INTER_AREA
                    )
                    vf = VideoFrame(decoded - 1, t, small, scene, hires=big)
                kept.append(inspect(vf) if inspect is not None else vf)
                if sampler.long and sampler.duration is None and len(kept) > max_samples - sampler.scene_budget:
                    grid = [f for f in kept if not f.scene_change]
                    drop = {id(f) for f in grid[1::2]}
                    kept = [f for f in kept if id(f) not in drop]
                    sampler.step *= 2
                if report is not None and len(kept) % 4 == 0:
                    report("frames", min(len(kept), max_samples), max_samples)
        except av.FFmpegError as exc:
            if not kept:
                raise DecodeFailed(f"The video stream could not be decoded: {exc}") from exc
            # a damaged tail after usable frames: analyse what decoded, and say so
            logger.info("video decode stopped after %d frames: %s", decoded, exc)
        if not kept:
            raise DecodeFailed("The video contains no decodable frames.")
    finally:
        container.close()
    if rotation in (90, 270):
        w0, h0 = h0, w0
    dur = duration if duration is not None else last_t
    return DecodedVideo(
        format=fmt,
        mime=mime,
        sha256=sha,
        size_bytes=len(data),
        width=w0,
        height=h0,
        duration=round(float(dur), 3),
        frames_decoded=decoded,
        frames=tuple(kept),
        rotation=rotation,
        codec=str(cc.name or ""),
        average_fps=round(fps, 3) if fps else None,
        has_audio=has_audio,
        decode_seconds=time.perf_counter() - t0,
        details={
            "expected_frames": expected,
            "sample_step": round(sampler.step, 4),
            "scene_frames": sampler.scene_taken,
        },
    )
