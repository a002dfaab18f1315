"""Provenance evidence: what the file says about where it came from (C2PA, XMP/IPTC, PNG text, EXIF, JPEG tables).

Nothing here is learned. Each rule reads metadata that the producing software wrote and turns it into a
:class:`~detection.types.Finding` with a stable ``code``. Metadata is trivially stripped or forged, so only
one rule may decide the verdict: a cryptographically verified C2PA manifest whose own actions say a
generator made the content. Everything else is context for the analyst.

C2PA rule (``c2pa_generator_claim``, decisive). The manifest store is read with c2pa-python (native
c2pa-rs) with remote-manifest and OCSP fetching switched off (no network access driven by untrusted
files). Its active manifest counts as *verified* when all of these hold:

1. the validation state is ``Valid`` or ``Trusted`` (never ``Invalid``);
2. the success list contains ``claimSignature.validated`` (the COSE signature over the claim verifies);
3. every failure code is in :data:`TOLERATED_FAILURES`, i.e. the only complaint is that the signing
   certificate (or the time-stamp authority) is not on a configured trust list.

Rule 3 exists because nobody ships the C2PA trust list to a self-hosted box by default: a genuine
Firefly/OpenAI manifest then reads ``Valid`` + ``signingCredential.untrusted``. A verified signature still
proves the manifest is intact and bound to these exact pixels (``assertion.dataHash.match``); an untrusted
signer only means we cannot say *who* signed. A manifest *claiming* AI generation is an admission, not an
alibi, so an untrusted signer is acceptable for the generator claim; ``data["trusted"]`` tells which case
it was, and trust anchors can be configured with ``config.extra["c2pa_trust_anchors"]`` (PEM) to get
``Trusted``. The flip side: anyone can sign a real photo with a home-made certificate that claims AI
generation (to discredit it); deployments that fear this set ``config.extra["c2pa_require_trusted"] = True``
and only ``Trusted`` claims stay decisive. A verified claim of camera capture is only *real-leaning*
evidence (``c2pa_capture_claim``), never decisive: a capture claim from an untrusted signer costs nothing.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..types import DetectorResult, Finding
from .base import Detector, ImageContext

log = logging.getLogger(__name__)

#: IPTC digital source types that mean "a generative model made (part of) this".
AI_SOURCE_TYPES = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia"})
#: Source types that mean "a sensor captured this".
CAPTURE_SOURCE_TYPES = frozenset(
    {"digitalCapture", "computationalCapture", "compositeCapture", "negativeFilm", "positiveFilm"}
)
TOLERATED_FAILURES = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})
C2PA_TIMEOUT_S = 5.0

# fmt: off
#: (label, pattern) of software that generates images. Matched case-insensitively against Software tags.
GENERATOR_SOFTWARE: tuple[tuple[str, str], ...] = (
    ("Adobe Firefly", r"firefly"), ("DALL-E", r"\bdall[\W_]?e\b"), ("Midjourney", r"midjourney"),
    ("Stable Diffusion", r"stable[\s\-_]?diffusion|\bsdxl\b"), ("AUTOMATIC1111", r"automatic1111|\ba1111\b"),
    ("ComfyUI", r"comfy\s?ui"), ("InvokeAI", r"invoke\s?ai"), ("Fooocus", r"fooocus"), ("NovelAI", r"novel\s?ai"),
    ("Imagen/Gemini", r"\bimagen\b|\bgemini\b"), ("Ideogram", r"ideogram"), ("Leonardo.Ai", r"leonardo\.?ai"),
    ("FLUX", r"flux\.1|black forest labs"), ("DreamStudio", r"dreamstudio"), ("Craiyon", r"craiyon"),
    ("NightCafe", r"nightcafe"), ("Draw Things", r"draw things"), ("DiffusionBee", r"diffusionbee"),
    ("OpenAI", r"\bopenai\b|chatgpt"), ("Kandinsky", r"kandinsky"), ("StyleGAN", r"stylegan|thispersondoesnotexist"),
    ("FaceApp", r"faceapp"),
)
#: Editors: the image was processed, which says nothing about whether it is real.
EDITOR_SOFTWARE: tuple[tuple[str, str], ...] = (
    ("Adobe Photoshop", r"photoshop"), ("Adobe Lightroom", r"lightroom"), ("GIMP", r"\bgimp\b"),
    ("Affinity Photo", r"affinity"), ("Pixelmator", r"pixelmator"), ("Paint.NET", r"paint\.net"),
    ("Snapseed", r"snapseed"), ("Capture One", r"capture one"), ("Luminar", r"luminar"), ("Canva", r"\bcanva\b"),
    ("PicsArt", r"picsart"), ("Facetune", r"facetune"), ("Krita", r"\bkrita\b"), ("darktable", r"darktable"),
    ("RawTherapee", r"rawtherapee"), ("Photopea", r"photopea"), ("Picasa", r"picasa"), ("ImageMagick", r"imagemagick"),
)
# fmt: on

# EXIF tag ids (IFD0 and the Exif sub-IFD) we report. GPS is deliberately never read.
_IFD0_TAGS = {0x010F: "Make", 0x0110: "Model", 0x0131: "Software", 0x0132: "DateTime", 0x010E: "ImageDescription"}
_EXIF_TAGS = {
    0x9003: "DateTimeOriginal",
    0x829A: "ExposureTime",
    0x829D: "FNumber",
    0x8827: "ISOSpeedRatings",
    0x920A: "FocalLength",
    0xA433: "LensMake",
    0xA434: "LensModel",
    0x9286: "UserComment",
}
_CAPTURE_FIELDS = ("DateTimeOriginal", "ExposureTime", "FNumber", "ISOSpeedRatings", "FocalLength", "LensModel")

# IJG (libjpeg) reference tables, natural (row-major) order, as Pillow reports ``quantization``.
IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
IJG_CHROMA = tuple([17, 18, 24, 47] + [99] * 4 + [18, 21, 26, 66] + [99] * 4 + [24, 26, 56] + [99] * 5
                   + [47, 66] + [99] * 6 + [99] * 32)  # fmt: skip


def _match_software(text: str) -> tuple[str, str] | None:
    """Return (kind, label) where kind is "generator" or "editor", for the first known name in ``text``."""
    for kind, table in (("generator", GENERATOR_SOFTWARE), ("editor", EDITOR_SOFTWARE)):
        for label, pattern in table:
            if re.search(pattern, text, re.IGNORECASE):
                return kind, label
    return None


def _clean(value: Any, limit: int = 200) -> Any:
    """EXIF values as plain JSON: rationals to float, bytes to text, strings trimmed of NULs."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.replace("\x00", "").strip()[:limit]
    if isinstance(value, int | bool):
        return value
    if isinstance(value, tuple):
        return [_clean(v, limit) for v in value[:8]]
    try:
        return round(float(value), 6)
    except (TypeError, ValueError, ZeroDivisionError):
        return str(value)[:limit]


def _user_comment(raw: Any) -> str:
    """Decode an EXIF UserComment (8-byte charset prefix); A1111 stores its parameters here in JPEG/WebP."""
    if isinstance(raw, str):
        return raw.replace("\x00", "").strip()
    if not isinstance(raw, bytes):
        return ""
    head, body = raw[:8], raw[8:]
    if head.startswith(b"UNICODE"):
        candidates = [body.decode(enc, "replace") for enc in ("utf-16-be", "utf-16-le")]
        return max(candidates, key=lambda s: sum(c.isascii() and c.isprintable() for c in s)).strip("\x00 ")
    return (body if head.rstrip(b"\x00") in (b"ASCII", b"") else raw).decode("utf-8", "replace").strip("\x00 ")


def _source_type_terms(values: list[str]) -> list[str]:
    """IPTC DigitalSourceType values (full URLs or bare terms) reduced to their vocabulary terms."""
    return sorted({v.rstrip("/").rsplit("/", 1)[-1] for v in values if v})


# --------------------------------------------------------------------------------------------- C2PA
def _c2pa_context(anchors: str | None) -> Any:
    import c2pa

    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if anchors:
        settings["trust"] = {"trust_anchors": anchors}
        settings["verify"]["verify_trust"] = True
    return c2pa.Context(settings=c2pa.Settings.from_dict(settings))


def read_c2pa(data: bytes, mime: str, anchors: str | None = None, timeout: float = C2PA_TIMEOUT_S) -> dict[str, Any]:
    """Read the C2PA manifest store; never raises.

    Returns ``{"store": dict | None, "error": str | None}``. The native reader runs on a daemon thread
    and is abandoned after ``timeout`` seconds (ctypes releases the GIL, so a stuck parse cannot hang the
    caller; the thread itself cannot be killed, which is the price of time-boxing native code).
    """
    if not any(tag in data for tag in (b"c2pa", b"C2PA", b"jumb")):
        return {"store": None, "error": None}  # no JUMBF at all: skip the native parser entirely
    out: dict[str, Any] = {"store": None, "error": None}

    def run() -> None:
        try:
            import c2pa

            reader = c2pa.Reader.try_create(mime, io.BytesIO(data), context=_c2pa_context(anchors))
            if reader is not None:
                with reader:
                    out["store"] = json.loads(reader.json())
        except Exception as exc:  # noqa: BLE001 - any parser failure on untrusted bytes means "unreadable"
            out["error"] = f"{type(exc).__name__}: {exc}"[:300]

    worker = threading.Thread(target=run, name="c2pa-reader", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return {"store": None, "error": f"timeout: the C2PA reader took longer than {timeout:.0f} s"}
    return out


def _collect_source_types(node: Any, found: list[str]) -> None:
    """Every digitalSourceType value anywhere in a manifest's assertions (actions, IPTC assertions)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower().endswith("digitalsourcetype") and isinstance(value, str):
                found.append(value)
            else:
                _collect_source_types(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_source_types(item, found)


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    if isinstance(manifest.get("claim_generator"), str):
        return str(manifest["claim_generator"])
    infos = manifest.get("claim_generator_info") or []
    names = [f"{i.get('name', '')} {i.get('version', '')}".strip() for i in infos if isinstance(i, dict)]
    return "; ".join(n for n in names if n) or None


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The action list of a manifest (``c2pa.actions`` and ``c2pa.actions.v2``), reduced to the readable parts."""
    out: list[dict[str, Any]] = []
    for assertion in manifest.get("assertions") or []:
        if isinstance(assertion, dict) and str(assertion.get("label", "")).startswith("c2pa.actions"):
            data = assertion.get("data")
            for act in [
                a for a in (data.get("actions") if isinstance(data, dict) else None) or [] if isinstance(a, dict)
            ]:
                agent = act.get("softwareAgent")
                agent = agent.get("name") if isinstance(agent, dict) else agent
                out.append({"action": act.get("action"), "digitalSourceType": act.get("digitalSourceType"),
                            "softwareAgent": agent})  # fmt: skip
    return out[:20]


def c2pa_findings(
    store: dict[str, Any], detector: str, require_trusted: bool = False
) -> tuple[list[Finding], dict[str, Any]]:
    """Turn a manifest store (``Reader.json()``) into findings and a summary, applying the module-level rule."""
    label = str(store.get("active_manifest") or "")
    raw = store.get("manifests")
    manifests: dict[str, Any] = raw if isinstance(raw, dict) else {}
    active: dict[str, Any] = manifests[label] if isinstance(manifests.get(label), dict) else {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    success = {str(s.get("code")) for s in results.get("success") or [] if isinstance(s, dict)}
    failures = {str(s.get("code")) for s in results.get("failure") or [] if isinstance(s, dict)}
    if not results:  # stores without validation_results only have the flat status list, which holds failures
        failures = {str(s.get("code")) for s in store.get("validation_status") or [] if isinstance(s, dict)}
    bad = sorted(failures - TOLERATED_FAILURES)
    state = store.get("validation_state") or ("Invalid" if bad else None)
    signature_ok = "claimSignature.validated" in success
    verified = bool(active) and state in ("Valid", "Trusted") and signature_ok and not bad
    trusted = verified and state == "Trusted"

    types: list[str] = []
    ingredient_types: list[str] = []
    _collect_source_types(active.get("assertions") or [], types)
    for other_label, other in manifests.items():
        if other_label != label and isinstance(other, dict):
            _collect_source_types(other.get("assertions") or [], ingredient_types)
    terms, ingredient_terms = _source_type_terms(types), _source_type_terms(ingredient_types)
    sig = active.get("signature_info") or {}
    generator = _claim_generator(active)
    summary = {
        "active_manifest": label, "manifests": len(manifests), "validation_state": state,
        "signature_verified": signature_ok, "verified": verified, "trusted": trusted, "failures": sorted(failures),
        "claim_generator": generator, "title": active.get("title"),
        "signer": {k: sig.get(k) for k in ("issuer", "common_name", "alg")},
        "digital_source_types": terms, "ingredient_source_types": ingredient_terms, "actions": _actions(active),
    }  # fmt: skip
    signer = sig.get("issuer") or sig.get("common_name") or "an unnamed signer"
    who = f"signed by {signer}" + ("" if trusted else " with a certificate that is not on a configured trust list")
    data = {"claim_generator": generator, "digital_source_types": terms, "trusted": trusted, "state": state}
    if not verified:
        why = f"failed checks: {', '.join(bad)}" if bad else f"signature verified: {signature_ok}, state: {state}"
        msg = (f"A C2PA manifest is present but does not validate ({why}): the file was altered after signing or "
               "the manifest is damaged, so its claims cannot be relied on.")  # fmt: skip
        return [Finding(detector, "c2pa_invalid", msg, "neutral", False, {**data, "failures": bad})], summary
    ai = sorted(set(terms) & AI_SOURCE_TYPES)
    ai_ingredients = sorted(set(ingredient_terms) & AI_SOURCE_TYPES)
    capture = sorted(set(terms) & CAPTURE_SOURCE_TYPES)
    if ai:
        msg = (f"A valid C2PA manifest {who} states the content was made by a generative model "
               f"({', '.join(ai)}; claim generator: {generator or 'unnamed'}).")  # fmt: skip
        decisive = trusted or not require_trusted
        return [Finding(detector, "c2pa_generator_claim", msg, "fake", decisive, data)], summary
    if ai_ingredients:
        msg = f"A valid C2PA manifest lists an ingredient made by a generative model ({', '.join(ai_ingredients)})."
        return [Finding(detector, "c2pa_generator_ingredient", msg, "fake", False, data)], summary
    if capture:
        msg = f"A valid C2PA manifest {who} states the image was captured by a camera ({', '.join(capture)})."
        return [Finding(detector, "c2pa_capture_claim", msg, "real", False, data)], summary
    msg = (f"A valid C2PA manifest {who} is present; it does not state how the content was made "
           f"(source types: {', '.join(terms) or 'none'}).")  # fmt: skip
    return [Finding(detector, "c2pa_present", msg, "neutral", False, data)], summary


# ------------------------------------------------------------------------------- JPEG segments / XMP
def jpeg_app_segments(data: bytes, limit: int = 64) -> list[tuple[int, bytes]]:
    """APPn/COM segments before the first scan, as (marker, payload). Stops at anything malformed."""
    out: list[tuple[int, bytes]] = []
    pos = 2
    while pos + 4 <= len(data) and len(out) < limit and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            break
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            out.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return out


def _xmp_texts(ctx: ImageContext) -> list[str]:
    """Main XMP from the decoder plus extended XMP and IPTC (APP13) text from the JPEG header."""
    texts = [ctx.image.meta["xmp"]] if ctx.image.meta.get("xmp") else []
    if ctx.image.info.format == "jpeg":
        for marker, payload in jpeg_app_segments(ctx.image.data):
            if (marker == 0xE1 and payload.startswith(b"http://ns.adobe.com/xmp/extension/")) or (
                marker == 0xED and payload.startswith(b"Photoshop 3.0")
            ):
                texts.append(payload.decode("utf-8", "replace"))
    return texts


_DST_RE = re.compile(r"digitalsourcetype/([A-Za-z]+)", re.IGNORECASE)
_CREATOR_RE = re.compile(r"CreatorTool(?:=\"|>)([^\"<]{1,200})")


def _canonical_term(term: str) -> str:
    known = {t.lower(): t for t in AI_SOURCE_TYPES | CAPTURE_SOURCE_TYPES}
    return known.get(term.lower(), term)


# ---------------------------------------------------------------------------------- PNG parameters
def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None


def _a1111_fields(text: str) -> dict[str, str]:
    """Key: value pairs from the last line of an A1111 ``parameters`` block (Steps, Sampler, Model, ...)."""
    last = text.strip().splitlines()[-1] if text.strip() else ""
    pairs = re.findall(r"(Steps|Sampler|CFG scale|Seed|Size|Model hash|Model|Version): ([^,]+)", last)
    return {k: v.strip()[:100] for k, v in pairs}


def generator_parameters(texts: dict[str, str]) -> list[dict[str, Any]]:
    """Recognise text chunks written by image generators. Returns [{"tool", "key", "fields"}]."""
    hits: list[dict[str, Any]] = []
    lowered = {k.lower(): (k, v) for k, v in texts.items()}
    params = lowered.get("parameters", ("", ""))[1]
    if params:
        obj = _json(params)
        if isinstance(obj, dict) and "sui_image_params" in obj:
            hits.append({"tool": "SwarmUI", "key": "parameters", "fields": {}})
        elif isinstance(obj, dict) and ("fooocus" in params.lower() or "Fooocus" in str(obj.get("version", ""))):
            hits.append({"tool": "Fooocus", "key": "parameters", "fields": {}})
        elif "Steps:" in params and ("Sampler:" in params or "CFG scale:" in params or "Seed:" in params):
            hits.append(
                {"tool": "Stable Diffusion WebUI (A1111/Forge)", "key": "parameters", "fields": _a1111_fields(params)}
            )
    for key in ("prompt", "workflow"):
        obj = _json(lowered.get(key, ("", ""))[1])
        if (isinstance(obj, dict) and any(isinstance(n, dict) and "class_type" in n for n in obj.values())) or (
            isinstance(obj, dict) and isinstance(obj.get("nodes"), list)
        ):
            hits.append({"tool": "ComfyUI", "key": key, "fields": {}})
            break
    software = lowered.get("software", ("", ""))[1]
    comment = _json(lowered.get("comment", ("", ""))[1])
    if "novelai" in software.lower() or (isinstance(comment, dict) and {"steps", "sampler"} <= set(comment)):
        fields = {
            k: str(comment[k])[:100]
            for k in ("steps", "sampler", "seed", "scale")
            if isinstance(comment, dict) and k in comment
        }
        hits.append({"tool": "NovelAI", "key": "Software/Comment", "fields": fields})
    for key, tool in (
        ("invokeai_metadata", "InvokeAI"),
        ("invokeai_graph", "InvokeAI"),
        ("sd-metadata", "InvokeAI"),
        ("dream", "InvokeAI (legacy)"),
        ("fooocus_scheme", "Fooocus"),
        ("stable diffusion model", "Easy Diffusion"),
        ("generation_data", "generator metadata"),
    ):
        if key in lowered:
            hits.append({"tool": tool, "key": lowered[key][0], "fields": {}})
    for key, value in texts.items():
        if "Job ID:" in value and re.search(r"Job ID: [0-9a-f]{8}-", value):
            hits.append({"tool": "Midjourney", "key": key, "fields": {}})
        elif not hits and key.lower() != "parameters" and re.search(r"\bdall[\W_]?e\b|midjourney", value, re.I):
            match = _match_software(value)
            hits.append({"tool": match[1] if match else "generator", "key": key, "fields": {}})
    if not hits:  # generic Stable Diffusion parameter text under an unusual key
        for key, value in texts.items():
            if "Steps:" in value and ("Sampler:" in value or "CFG scale:" in value):
                hits.append({"tool": "Stable Diffusion", "key": key, "fields": _a1111_fields(value)})
                break
    return hits


# ------------------------------------------------------------------------------------ JPEG tables
def ijg_table(base: tuple[int, ...], quality: int, baseline: bool = True) -> list[int]:
    """libjpeg's ``jpeg_set_quality`` scaling of a reference table."""
    q = min(max(quality, 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    top = 255 if baseline else 32767
    return [min(max((b * scale + 50) // 100, 1), top) for b in base]


def _ijg_bank() -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Every IJG quality's tables at once: (luma[q, baseline, 64], chroma[q, baseline, 64], log luma[q, 64])."""
    global _BANK
    if _BANK is None:
        luma = np.array([[ijg_table(IJG_LUMA, q, b) for b in (True, False)] for q in range(1, 101)])
        chroma = np.array([[ijg_table(IJG_CHROMA, q, b) for b in (True, False)] for q in range(1, 101)])
        _BANK = (luma, chroma, np.log(luma[:, 1].astype(np.float64)))
    return _BANK


_BANK: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None = None


def estimate_jpeg_quality(tables: dict[int, list[int]]) -> dict[str, Any] | None:
    """Estimate the IJG quality (1-100) from quantisation tables and say whether they ARE the IJG tables.

    Standard tables (exact match of luminance and, when present, chrominance at one quality) come from
    libjpeg-style encoders: Pillow, OpenCV, most web tools and generators. Cameras and Photoshop write
    their own tables; for those the quality is the nearest IJG quality in mean absolute log-ratio.
    """
    luma = tables.get(0)
    if not luma or len(luma) != 64:
        return None
    chroma = tables.get(1) if tables.get(1) and len(tables[1]) == 64 else None
    bank_l, bank_c, log_l = _ijg_bank()
    ok = (bank_l == np.asarray(luma)).all(axis=2)
    if chroma is not None:
        ok &= (bank_c == np.asarray(chroma)).all(axis=2)
    hits = np.flatnonzero(ok.any(axis=1))
    if hits.size:
        return {"quality": int(hits[-1]) + 1, "standard": True, "tables": len(tables), "log_error": 0.0}
    err = np.abs(np.log(np.maximum(np.asarray(luma, dtype=np.float64), 1.0)) - log_l).mean(axis=1)
    best = int(np.argmin(err))
    return {"quality": best + 1, "standard": False, "tables": len(tables), "log_error": round(float(err[best]), 4)}


# --------------------------------------------------------------------------------------- detector
class ProvenanceDetector(Detector):
    """Metadata evidence. Not fused: its only verdict-setting output is the decisive C2PA finding."""

    name: ClassVar[str] = "provenance"
    version: ClassVar[str] = "1.0"
    weights_file: ClassVar[str | None] = None
    fused: ClassVar[bool] = False

    def analyze(self, ctx: ImageContext) -> DetectorResult:
        findings: list[Finding] = []
        details: dict[str, Any] = {"c2pa": None, "exif": {}, "software": [], "jpeg_quality": None,
                                   "generator_parameters": [], "xmp_source_types": [], "errors": []}  # fmt: skip
        for step in (self._c2pa, self._xmp, self._png, self._exif, self._jpeg):
            try:
                step(ctx, findings, details)
            except Exception as exc:  # noqa: BLE001 - one malformed block must not hide the other evidence
                log.warning("provenance step %s failed: %s", step.__name__, exc)
                details["errors"].append(f"{step.__name__.strip('_')}: {type(exc).__name__}: {exc}"[:300])
        return self.result(score=None, logit=None, applicable=True, findings=tuple(findings), details=details)

    def _add(self, findings: list[Finding], code: str, direction: str, msg: str, data: dict[str, Any]) -> None:
        findings.append(Finding(self.name, code, msg, direction, False, data))  # type: ignore[arg-type]

    def _c2pa(self, ctx: ImageContext, findings: list[Finding], details: dict[str, Any]) -> None:
        anchors = ctx.config.extra.get("c2pa_trust_anchors")
        read = read_c2pa(ctx.image.data, ctx.image.info.mime, anchors if isinstance(anchors, str) else None)
        if read["store"] is None:
            details["c2pa_absent"] = read["error"] or "no C2PA manifest in the file"
            if read["error"] and read["error"].startswith("timeout"):
                self._add(findings, "c2pa_timeout", "neutral", "The C2PA manifest could not be read in time.", {})
            return
        require = bool(ctx.config.extra.get("c2pa_require_trusted", False))
        new, details["c2pa"] = c2pa_findings(read["store"], self.name, require_trusted=require)
        findings.extend(new)

    def _xmp(self, ctx: ImageContext, findings: list[Finding], details: dict[str, Any]) -> None:
        texts = _xmp_texts(ctx)
        terms = sorted({_canonical_term(m) for t in texts for m in _DST_RE.findall(t)})
        details["xmp_source_types"] = terms
        if ai := [t for t in terms if t in AI_SOURCE_TYPES]:
            msg = (f"The XMP/IPTC metadata declares the digital source type {', '.join(ai)} (made by a generative "
                   "model). Anyone can write this field, so it is evidence, not proof.")  # fmt: skip
            self._add(findings, "xmp_ai_source_type", "fake", msg, {"source_types": terms})
        elif capture := [t for t in terms if t in CAPTURE_SOURCE_TYPES]:
            msg = (
                f"The XMP/IPTC metadata declares a capture ({', '.join(capture)}); unsigned metadata is easily forged."
            )
            self._add(findings, "xmp_capture_source_type", "real", msg, {"source_types": terms})
        for text in texts:
            for tool in _CREATOR_RE.findall(text):
                self._software(tool.strip(), "XMP CreatorTool", "xmp_creator_tool", findings, details)

    def _png(self, ctx: ImageContext, findings: list[Finding], details: dict[str, Any]) -> None:
        """Generator text: PNG chunks, plus EXIF UserComment/ImageDescription where A1111 & co. write JPEG/WebP."""
        texts = dict(ctx.image.meta.get("png_text") or {})
        if comment := _user_comment((ctx.image.meta.get("exif_ifd") or {}).get(0x9286)):
            texts["parameters" if "parameters" not in texts else "exif_user_comment"] = comment
        description = (ctx.image.meta.get("exif") or {}).get(0x010E)
        if isinstance(description, str) and description.strip():
            texts.setdefault("ImageDescription", description)
        hits = details["generator_parameters"] = generator_parameters(texts)
        if hits:
            tools = ", ".join(sorted({h["tool"] for h in hits}))
            msg = (f"The file carries generation settings written by {tools} (prompt/sampler/steps text). Such text "
                   "can be added to any image, but cameras never write it.")  # fmt: skip
            self._add(findings, "generator_parameters", "fake", msg, {"generators": hits})
        if (software := texts.get("Software")) and not any(h["tool"] == "NovelAI" for h in hits):
            self._software(software, "PNG Software", "exif_software", findings, details)

    def _software(self, text: str, source: str, code: str, findings: list[Finding], details: dict[str, Any]) -> None:
        details["software"].append({"source": source, "value": text[:200]})
        if (match := _match_software(text)) is None:
            return
        kind, label = match
        data = {"software": text[:200], "source": source, "match": label, "kind": kind}
        if kind == "generator":
            self._add(
                findings, code, "fake", f'The {source} tag names an image generator ({label}: "{text[:80]}").', data
            )
        else:
            msg = (f"The {source} tag names an image editor ({label}): the image was edited or re-saved after "
                   "capture, which alone does not make it fake.")  # fmt: skip
            self._add(findings, code, "neutral", msg, data)

    def _exif(self, ctx: ImageContext, findings: list[Finding], details: dict[str, Any]) -> None:
        ifd0 = ctx.image.meta.get("exif") or {}
        sub = ctx.image.meta.get("exif_ifd") or {}
        fields = {name: _clean(ifd0[tag]) for tag, name in _IFD0_TAGS.items() if tag in ifd0}
        fields |= {name: _clean(sub[tag]) for tag, name in _EXIF_TAGS.items() if tag in sub and tag != 0x9286}
        details["exif"] = fields
        if isinstance(fields.get("Software"), str) and fields["Software"]:
            self._software(fields["Software"], "EXIF Software", "exif_software", findings, details)
        camera = {k: fields[k] for k in ("Make", "Model") if fields.get(k)}
        capture = [k for k in _CAPTURE_FIELDS if fields.get(k) not in (None, "", 0)]
        if camera:
            msg = (f"EXIF names a camera ({' '.join(str(v) for v in camera.values())}) with {len(capture)} capture "
                   f"field(s) ({', '.join(capture) or 'none'}). Weak evidence: EXIF is easily copied.")  # fmt: skip
            self._add(findings, "camera_exif", "real", msg, {**camera, "capture_fields": capture, "strength": "weak"})
        elif not ifd0 and not sub:
            msg = (f"The {ctx.image.info.format.upper()} has no EXIF metadata. This is common and not suspicious by "
                   "itself: social networks and messengers strip it on upload; screenshots never had it.")  # fmt: skip
            self._add(findings, "no_camera_metadata", "neutral", msg, {"format": ctx.image.info.format})

    def _jpeg(self, ctx: ImageContext, findings: list[Finding], details: dict[str, Any]) -> None:
        tables = ctx.image.meta.get("quantization") or {}
        if ctx.image.info.format != "jpeg" or not tables or (est := estimate_jpeg_quality(tables)) is None:
            return
        details["jpeg_quality"] = est
        kind = "standard libjpeg (IJG)" if est["standard"] else "non-standard (camera or editor specific)"
        self._add(findings, "jpeg_quality", "neutral", f"JPEG quality is about {est['quality']} ({kind} tables).", est)
        if est["standard"]:
            msg = ("The JPEG uses the standard libjpeg quantisation tables, as written by common libraries (Pillow, "
                   "OpenCV, browsers), web services and generator pipelines; most cameras use their own.")  # fmt: skip
            self._add(findings, "jpeg_tables_standard", "neutral", msg, est)
        else:
            msg = ("The JPEG uses custom quantisation tables, as written by cameras and editors such as Photoshop, "
                   "not the standard libjpeg scaling.")  # fmt: skip
            self._add(findings, "jpeg_tables_custom", "neutral", msg, est)
