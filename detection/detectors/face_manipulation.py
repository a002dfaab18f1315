"""Face manipulation (swap / blend / reenactment) on face crops: EfficientNet-Lite0 trained by us.

Why per face and max: a manipulated image usually has one manipulated face among several real ones, so the
image is as suspicious as its most suspicious face. Each face is cropped exactly as at training time
(BlazeFace box, eye-levelled, margin 1.0, model input size), all faces go through the network in one batch,
and the raw logit of the worst face is what fusion consumes; ``score`` is that logit divided by the
temperature fitted on the validation split, through a sigmoid.

The weights come from ``python -m detection.training face_manipulation`` (see ``weights/face_manipulation.md``:
DFDC face crops + Self-Blended Images). With ``config.detailed`` a Grad-CAM heatmap per face shows which
regions drove the score; it reuses the scoring forward pass, so it costs one small backward pass (~5 ms).
"""

from __future__ import annotations

import math
import threading
from typing import Any, ClassVar

import numpy as np
import torch

from ..types import DetectorResult, FeatureMap, Finding
from ._effnet import IMAGENET_MEAN, IMAGENET_STD, build_efficientnet_lite0, forward_with_gradcam, heatmap_png, to_tensor
from .base import Detector, ImageContext

#: A face at or above this calibrated P(fake) gets a "fake" finding.
HIGH = 0.7
#: All faces at or below this get one informational finding (neutral: GAN faces score low too).
LOW = 0.2
HEATMAP_SIZE = 160


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


class FaceManipulationDetector(Detector):
    name: ClassVar[str] = "face_manipulation"
    version: ClassVar[str] = "1.0"
    weights_file: ClassVar[str | None] = "face_manipulation.pt"
    fused: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self._model: torch.nn.Module | None = None
        self._meta: dict[str, Any] = {}
        self._temperature = 1.0
        self._size = 224
        self._mean: tuple[float, ...] = IMAGENET_MEAN
        self._std: tuple[float, ...] = IMAGENET_STD
        # Grad-CAM hooks live on the shared model; serialising forwards keeps one call's activations out of
        # another's heatmap. On a CPU-bound model this costs nothing in throughput.
        self._forward_lock = threading.Lock()

    def load(self) -> None:
        """Build the network without the ImageNet weights (the checkpoint replaces them all) and load it."""
        ckpt = self.load_checkpoint()
        meta = dict(ckpt["meta"])
        size = int(meta.get("input_size", 224))
        model = build_efficientnet_lite0(int(meta.get("num_classes", 1)), pretrained=False, image_size=size)
        model.load_state_dict(ckpt["state_dict"])
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        self._meta = meta
        self._size = size
        self._temperature = float(meta.get("temperature", 1.0))
        self._mean = tuple(float(v) for v in meta.get("mean", IMAGENET_MEAN))
        self._std = tuple(float(v) for v in meta.get("std", IMAGENET_STD))
        self._model = model

    @property
    def input_size(self) -> int:
        return self._size

    def _forward(self, crops: list[np.ndarray], with_cam: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits (N,) and, when asked, Grad-CAM maps (N, h, w) from ONE forward pass."""
        assert self._model is not None
        x = to_tensor(np.stack(crops), self._mean, self._std)
        with self._forward_lock:
            if with_cam:
                out, cams = forward_with_gradcam(self._model, x)
                return out.view(-1).numpy().astype(np.float64), cams
            with torch.inference_mode():
                return self._model(x).view(-1).numpy().astype(np.float64), None

    def score_crops(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(raw logits, calibrated P(fake)) for face crops already made at ``input_size``."""
        self.ensure_loaded()
        logits, _ = self._forward(crops, with_cam=False)
        return logits, np.array([_sigmoid(z / self._temperature) for z in logits])

    @property
    def temperature(self) -> float:
        return self._temperature

    def explain_crops(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(raw logits, Grad-CAM maps (N, h, w) in [0, 1]) for face crops at ``input_size``, one forward pass."""
        self.ensure_loaded()
        logits, cams = self._forward(crops, with_cam=True)
        assert cams is not None
        return logits, cams

    def analyze(self, ctx: ImageContext) -> DetectorResult:
        self.ensure_loaded()
        n = min(len(ctx.faces), ctx.config.max_faces)
        if n == 0:
            return self.result(score=None, logit=None, applicable=False, reason="no_face_found")
        crops = [ctx.face_crop(i, size=self._size, margin=1.0) for i in range(n)]
        detailed = bool(ctx.config.detailed)
        logits, cams = self._forward(crops, with_cam=detailed)
        scores = [_sigmoid(float(z) / self._temperature) for z in logits]
        worst = int(np.argmax(logits))
        logit = float(logits[worst])
        score = scores[worst]

        faces = [
            {
                "index": i,
                "box": list(ctx.faces[i].box),
                "score": round(scores[i], 4),
                "logit": round(float(logits[i]), 4),
            }
            for i in range(n)
        ]
        findings: list[Finding] = []
        for i in range(n):
            if scores[i] >= HIGH:
                where = f"Face {i + 1} of {n}" if n > 1 else "The face"
                findings.append(
                    Finding(
                        detector=self.name,
                        code="face_manipulation_suspected",
                        message=(
                            f"{where} shows traces typical of face swapping or blending "
                            f"(P(manipulated) {scores[i]:.0%}): e.g. a blending boundary or a colour/sharpness "
                            "mismatch between the inner face and its surroundings."
                        ),
                        direction="fake",
                        data={"face": i, "score": round(scores[i], 4), "box": list(ctx.faces[i].box)},
                    )
                )
        if max(scores) <= LOW:
            findings.append(
                Finding(
                    detector=self.name,
                    code="faces_consistent",
                    message=(
                        f"No sign of face swapping or blending on {'the face' if n == 1 else f'any of the {n} faces'} "
                        f"(highest P(manipulated) {max(scores):.0%}). This does not rule out a fully generated face: "
                        "such faces have no blending boundary, and this model scores them low."
                    ),
                    # neutral, not "real": a fully synthetic (GAN/diffusion) face also scores low here
                    direction="neutral",
                    data={"max_score": round(max(scores), 4)},
                )
            )

        maps: list[FeatureMap] = []
        if cams is not None:
            for i in range(n):
                maps.append(
                    FeatureMap(
                        layer="face_manipulation.gradcam",
                        activation_map=heatmap_png(crops[i], cams[i], size=HEATMAP_SIZE),
                        target=f"face:{i}",
                        box=tuple(int(v) for v in ctx.faces[i].box),  # type: ignore[arg-type]
                    )
                )
        details = {
            "faces": faces,
            "facial_inconsistencies": round(score, 4),
            "worst_face": worst,
            "faces_analysed": n,
            "faces_skipped": max(0, len(ctx.faces) - n),
            "temperature": round(self._temperature, 4),
            "input_size": self._size,
        }
        return self.result(
            score=score,
            logit=logit,
            applicable=True,
            findings=tuple(findings),
            feature_maps=tuple(maps),
            details=details,
        )
