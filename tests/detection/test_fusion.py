"""The verdict rules on top of the fitted combiner."""

from __future__ import annotations

from detection.fusion import FusionParams, combine
from detection.types import DetectorResult, Finding

PARAMS = FusionParams(
    features=("face_manipulation", "ai_generated"),
    coef={"face_manipulation": 1.0, "ai_generated": 1.0},
    intercept=0.0,
    temperature=1.0,
    abstain_low=0.4,
    abstain_high=0.6,
)


def result(name: str, logit: float | None, findings: tuple[Finding, ...] = ()) -> DetectorResult:
    return DetectorResult(
        name=name,
        version="1",
        weights_sha256=None,
        score=None,
        logit=logit,
        applicable=logit is not None,
        findings=findings,
    )


def test_strong_model_evidence_gives_a_deepfake_verdict() -> None:
    v = combine(
        {"face_manipulation": result("face_manipulation", 3.0), "ai_generated": result("ai_generated", 0.5)}, PARAMS
    )
    assert v.prediction == "deepfake" and v.confidence > 0.9 and v.reason is None


def test_weak_evidence_abstains_with_a_reason() -> None:
    v = combine({"ai_generated": result("ai_generated", 0.1)}, PARAMS)
    assert v.prediction == "unknown" and v.reason == "weak_evidence"


def test_a_missing_face_does_not_count_as_evidence() -> None:
    v = combine(
        {"face_manipulation": result("face_manipulation", None), "ai_generated": result("ai_generated", -3.0)}, PARAMS
    )
    assert v.prediction == "authentic"


def test_a_decisive_c2pa_generator_claim_decides() -> None:
    claim = Finding("provenance", "c2pa_generator_claim", "C2PA says a generator made it", "fake", decisive=True)
    v = combine(
        {"ai_generated": result("ai_generated", -4.0), "provenance": result("provenance", None, (claim,))}, PARAMS
    )
    assert v.prediction == "deepfake" and v.reason == "c2pa_generator_claim"


def test_unverified_generator_metadata_blocks_an_authentic_verdict() -> None:
    hint = Finding("provenance", "generator_parameters", "PNG carries Stable Diffusion parameters", "fake")
    v = combine(
        {"ai_generated": result("ai_generated", -4.0), "provenance": result("provenance", None, (hint,))}, PARAMS
    )
    assert v.prediction == "unknown" and v.reason == "metadata_contradicts_models"


def test_nothing_applicable_is_unknown() -> None:
    v = combine({"provenance": result("provenance", None)}, PARAMS)
    assert v.prediction == "unknown" and v.reason == "no_applicable_detector"
