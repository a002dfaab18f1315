"""The documented AnalysisOptions and how they map onto the engine's AnalysisConfig.

The contract names models ``cnn_v2``, ``temporal_v1``, ``audio_v3`` and ``ensemble``; the engine's detectors
have their own names (detection.registry). Both are accepted: ``ensemble`` runs every detector, ``cnn_v2``
the two learned image detectors, and ``temporal_v1`` / ``audio_v3`` select the video and audio detectors,
which this engine version does not have yet (an image analysed with only those gets ``unknown``).
"""

from __future__ import annotations

from typing import Any

from detection.registry import DETECTORS

MODEL_ALIASES: dict[str, tuple[str, ...] | None] = {
    "ensemble": None,
    "cnn_v2": ("face_manipulation", "ai_generated"),
    "temporal_v1": (),
    "audio_v3": (),
}
MODEL_CHOICES: tuple[str, ...] = (*MODEL_ALIASES, *DETECTORS)
FACE_DETECTORS = ("face_manipulation",)


def detectors_for(models: list[str] | None, face_detection: bool = True) -> list[str] | None:
    """Engine detector names for the requested models; ``None`` means every registered detector."""
    selected: list[str] | None
    if not models:
        selected = None
    else:
        names: list[str] = []
        for model in models:
            expanded = MODEL_ALIASES.get(model, (model,))
            if expanded is None:
                names = list(DETECTORS)
                break
            names.extend(n for n in expanded if n not in names)
        selected = names
    if not face_detection:
        selected = [n for n in (selected if selected is not None else list(DETECTORS)) if n not in FACE_DETECTORS]
    return selected


def engine_config(options: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``detection.AnalysisConfig`` from a job's stored options."""
    return {
        "detailed": bool(options.get("detailed_analysis", False)),
        "detectors": detectors_for(options.get("models"), bool(options.get("face_detection", True))),
    }
