"""Detectors by name. Modules are imported on first use so that ``import detection`` stays cheap."""

from __future__ import annotations

import importlib
import threading

from .detectors.base import Detector

#: name -> "module:Class". Order is the order detectors run and are reported in.
DETECTORS: dict[str, str] = {
    "face_manipulation": "detection.detectors.face_manipulation:FaceManipulationDetector",
    "ai_generated": "detection.detectors.ai_generated:AIGeneratedDetector",
    "provenance": "detection.detectors.provenance:ProvenanceDetector",
    "compression": "detection.detectors.compression:CompressionDetector",
    "speech_spoof": "detection.detectors.speech_spoof:SpeechSpoofDetector",
}

_instances: dict[str, Detector] = {}
_lock = threading.Lock()


def get(name: str) -> Detector:
    if name not in DETECTORS:
        raise KeyError(f"unknown detector {name!r}; known: {', '.join(DETECTORS)}")
    with _lock:
        if name not in _instances:
            module_name, cls_name = DETECTORS[name].split(":")
            cls = getattr(importlib.import_module(module_name), cls_name)
            _instances[name] = cls()
        return _instances[name]


def names(media_type: str | None = None) -> list[str]:
    if media_type is None:
        return list(DETECTORS)
    return [n for n in DETECTORS if media_type in get(n).media_types]


def describe_all() -> list[dict[str, object]]:
    return [get(n).describe() for n in DETECTORS]
