"""What every detector is: a name, a version, optional weights verified by sha256, and ``analyze``."""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..config import AnalysisConfig
from ..decode import DecodedImage
from ..faces import aligned_crop
from ..types import DetectorResult, Face

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass
class ImageContext:
    """Everything detectors share for one image; face crops are computed once and cached here."""

    image: DecodedImage
    faces: list[Face]
    config: AnalysisConfig
    _crops: dict[tuple[int, int, float], np.ndarray] = field(default_factory=dict)

    def face_crop(self, index: int, size: int = 224, margin: float = 1.0) -> np.ndarray:
        key = (index, size, margin)
        if key not in self._crops:
            self._crops[key] = aligned_crop(self.image.analysis_rgb, self.faces[index], size, margin)
        return self._crops[key]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Detector(ABC):
    name: ClassVar[str]
    version: ClassVar[str]
    media_types: ClassVar[frozenset[str]] = frozenset({"image"})
    #: File name under ``detection/weights``; ``None`` for rule-based detectors.
    weights_file: ClassVar[str | None] = None
    #: Does the fusion combiner consume this detector's logit?
    fused: ClassVar[bool] = False

    def __init__(self) -> None:
        self._loaded = False
        self._load_lock = threading.Lock()
        self._sha: str | None = None

    @property
    def weights_path(self) -> Path | None:
        return WEIGHTS_DIR / self.weights_file if self.weights_file else None

    def weights_sha256(self) -> str | None:
        if self._sha is None and self.weights_path is not None and self.weights_path.exists():
            self._sha = sha256_file(self.weights_path)
        return self._sha

    def ensure_loaded(self) -> None:
        with self._load_lock:
            if not self._loaded:
                self.load()
                self._loaded = True

    def load(self) -> None:  # noqa: B027 - rule-based detectors have nothing to load
        """Load weights once per process. Override in learned detectors."""

    def load_checkpoint(self) -> dict[str, Any]:
        """Read this detector's checkpoint, refusing one whose sha256 differs from its model card."""
        import torch

        path = self.weights_path
        if path is None or not path.exists():
            raise FileNotFoundError(f"{self.name}: weights file {self.weights_file} is missing")
        ckpt: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        return ckpt

    def result(self, **kwargs: Any) -> DetectorResult:
        return DetectorResult(name=self.name, version=self.version, weights_sha256=self.weights_sha256(), **kwargs)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "media_types": sorted(self.media_types),
            "weights_file": self.weights_file,
            "weights_sha256": self.weights_sha256(),
            "fused": self.fused,
        }

    @abstractmethod
    def analyze(self, ctx: ImageContext) -> DetectorResult:
        """Score one image. Must not raise for odd-but-valid media: return ``applicable=False`` instead."""
