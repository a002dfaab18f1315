"""Deepfake detection engine: plain Python, no Django. ``analyze(path_or_bytes) -> Analysis``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .config import AnalysisConfig
from .errors import DecodeFailed, DetectionError, MediaTooLarge, UnsupportedMedia
from .types import Analysis, DetectorResult, Finding

if TYPE_CHECKING:
    from .decode import Source
    from .engine import Progress


def analyze(
    source: Source, config: AnalysisConfig | dict[str, Any] | None = None, progress: Progress | None = None
) -> Analysis:
    """Analyse one image given as a path or bytes; see ``detection.engine.analyze``."""
    from .engine import analyze as _analyze

    return _analyze(source, config, progress)


__all__ = [
    "Analysis",
    "AnalysisConfig",
    "DecodeFailed",
    "DetectionError",
    "DetectorResult",
    "Finding",
    "MediaTooLarge",
    "UnsupportedMedia",
    "__version__",
    "analyze",
]
