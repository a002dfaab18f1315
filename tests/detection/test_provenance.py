"""Provenance rules on media made inside the tests, including a real C2PA manifest signed with a test CA."""

from __future__ import annotations

import datetime
import io
import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from detection.config import AnalysisConfig
from detection.decode import decode
from detection.detectors.base import ImageContext
from detection.detectors.provenance import ProvenanceDetector, estimate_jpeg_quality, read_c2pa
from detection.types import DetectorResult, Finding

from .media import encode, photo

A1111 = (
    "a photo of an astronaut riding a horse\nNegative prompt: blurry\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: 6ce0161689, "
    "Model: v1-5-pruned-emaonly"
)
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def analyze(data: bytes, **config: object) -> DetectorResult:
    cfg = AnalysisConfig(detailed=True, **config)  # type: ignore[arg-type]
    return ProvenanceDetector().analyze(ImageContext(image=decode(data, cfg), faces=[], config=cfg))


def by_code(result: DetectorResult) -> dict[str, Finding]:
    return {f.code: f for f in result.findings}


def xmp_packet(source_type: str, creator_tool: str = "Test Tool") -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="{creator_tool}">'
        f"<Iptc4xmpExt:DigitalSourceType>{IPTC}{source_type}</Iptc4xmpExt:DigitalSourceType>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def test_it_flags_a_png_with_stable_diffusion_parameters() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111)
    result = analyze(encode(photo(), "PNG", pnginfo=info))
    finding = by_code(result)["generator_parameters"]
    assert finding.direction == "fake" and not finding.decisive
    hit = result.details["generator_parameters"][0]
    assert "A1111" in hit["tool"] and hit["fields"]["Steps"] == "30" and hit["fields"]["Sampler"] == "DPM++ 2M Karras"
    assert result.score is None and result.logit is None and result.applicable


def test_it_flags_comfyui_workflow_json_in_a_png() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", json.dumps({"3": {"class_type": "KSampler", "inputs": {"steps": 20}}}))
    assert (
        by_code(analyze(encode(photo(), "PNG", pnginfo=info)))["generator_parameters"].data["generators"][0]["tool"]
        == "ComfyUI"
    )


def test_it_flags_a1111_parameters_stored_in_jpeg_exif_user_comment() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + A1111.encode("utf-16-be")
    assert "generator_parameters" in by_code(analyze(encode(photo(), "JPEG", exif=exif)))


def test_plain_png_text_is_not_mistaken_for_generator_parameters() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "Holiday photo")
    info.add_text("parameters", "brightness=3, contrast=2")
    assert "generator_parameters" not in by_code(analyze(encode(photo(), "PNG", pnginfo=info)))


def test_it_flags_xmp_digital_source_type_trained_algorithmic_media_as_non_decisive() -> None:
    result = analyze(encode(photo(), "JPEG", xmp=xmp_packet("trainedAlgorithmicMedia", "Adobe Firefly")))
    findings = by_code(result)
    assert findings["xmp_ai_source_type"].direction == "fake"
    assert not findings["xmp_ai_source_type"].decisive
    assert result.details["xmp_source_types"] == ["trainedAlgorithmicMedia"]
    assert findings["xmp_creator_tool"].data["match"] == "Adobe Firefly"


def test_xmp_digital_capture_leans_real() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet("digitalCapture").decode())
    finding = by_code(analyze(encode(photo(), "PNG", pnginfo=info)))["xmp_capture_source_type"]
    assert finding.direction == "real" and not finding.decisive


def test_it_reports_camera_exif_make_and_model() -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 5D Mark IV"
    sub = exif.get_ifd(0x8769)
    sub[0x9003], sub[0x8827] = "2021:05:01 12:00:00", 200
    result = analyze(encode(photo(), "JPEG", exif=exif))
    finding = by_code(result)["camera_exif"]
    assert finding.direction == "real" and not finding.decisive
    assert "Canon EOS 5D Mark IV" in finding.message and "DateTimeOriginal" in finding.data["capture_fields"]
    assert result.details["exif"]["Make"] == "Canon" and result.details["exif"]["ISOSpeedRatings"] == 200
    assert "no_camera_metadata" not in by_code(result)


@pytest.mark.parametrize(
    "software,direction", [("Adobe Firefly Image 3", "fake"), ("DALL·E 3", "fake"), ("GIMP 2.10.34", "neutral")]
)
def test_exif_software_names_generators_as_fake_and_editors_as_neutral(software: str, direction: str) -> None:
    exif = Image.Exif()
    exif[0x0131] = software
    result = analyze(encode(photo(), "JPEG", exif=exif))
    assert by_code(result)["exif_software"].direction == direction
    assert result.details["software"][0]["value"][:4] == software[:4]  # Pillow writes non-ASCII EXIF as "?"


def test_missing_exif_is_neutral_and_explains_social_media_stripping() -> None:
    finding = by_code(analyze(encode(photo(), "JPEG")))["no_camera_metadata"]
    assert finding.direction == "neutral" and "social" in finding.message


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_it_estimates_the_quality_of_a_standard_jpeg(quality: int) -> None:
    result = analyze(encode(photo(), "JPEG", quality=quality))
    assert abs(result.details["jpeg_quality"]["quality"] - quality) <= 5
    assert result.details["jpeg_quality"]["standard"] is True
    assert "jpeg_tables_standard" in by_code(result)


def test_it_recognises_custom_quantisation_tables() -> None:
    luma = [max(1, round(v * 0.4 + 1)) for v in range(64)]  # a camera-like ramp, not an IJG scaling
    result = analyze(encode(photo(), "JPEG", qtables=[luma, [8] * 64]))
    assert result.details["jpeg_quality"]["standard"] is False
    assert "jpeg_tables_custom" in by_code(result)


def test_quality_estimate_needs_a_luminance_table() -> None:
    assert estimate_jpeg_quality({}) is None


# ------------------------------------------------------------------------------------------- C2PA
def _test_signer() -> tuple[bytes, bytes, bytes]:
    """A throw-away CA and an ES256 signing certificate (C2PA requires a CA-issued, non-self-signed leaf)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> object:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Org")]
        return x509.Name(attrs)

    now = datetime.datetime.now(datetime.UTC)
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)  # fmt: skip
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, **usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder().subject_name(name("Test Signer")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, private, ca.public_bytes(pem)


def signed_jpeg(source_type: str) -> tuple[bytes, bytes]:
    """A JPEG with a C2PA manifest whose c2pa.created action carries ``source_type``; returns (file, CA PEM)."""
    import c2pa

    chain, private, ca_pem = _test_signer()
    action = {
        "action": "c2pa.created",
        "digitalSourceType": IPTC + source_type,
        "softwareAgent": {"name": "TestGenerator"},
    }
    manifest = {
        "claim_generator_info": [{"name": "TestGenerator", "version": "1.0"}],
        "title": "test.jpg",
        "format": "image/jpeg",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
    out = io.BytesIO()
    c2pa.Builder(manifest).sign(signer, "image/jpeg", io.BytesIO(encode(photo(), "JPEG", quality=90)), out)
    return out.getvalue(), ca_pem


@pytest.fixture(scope="module")
def generated_c2pa() -> tuple[bytes, bytes]:
    return signed_jpeg("trainedAlgorithmicMedia")


def test_a_valid_c2pa_generator_claim_is_decisive(generated_c2pa: tuple[bytes, bytes]) -> None:
    result = analyze(generated_c2pa[0])
    finding = by_code(result)["c2pa_generator_claim"]
    assert finding.direction == "fake" and finding.decisive
    assert "TestGenerator" in finding.message and finding.data["trusted"] is False
    summary = result.details["c2pa"]
    assert summary["validation_state"] == "Valid" and summary["signature_verified"] is True
    assert summary["failures"] == ["signingCredential.untrusted"]
    assert summary["digital_source_types"] == ["trainedAlgorithmicMedia"]


def test_a_configured_trust_anchor_makes_the_c2pa_claim_trusted(generated_c2pa: tuple[bytes, bytes]) -> None:
    result = analyze(generated_c2pa[0], extra={"c2pa_trust_anchors": generated_c2pa[1].decode()})
    assert result.details["c2pa"]["validation_state"] == "Trusted"
    assert by_code(result)["c2pa_generator_claim"].data["trusted"] is True


def test_requiring_trusted_signers_makes_an_untrusted_generator_claim_non_decisive(
    generated_c2pa: tuple[bytes, bytes],
) -> None:
    finding = by_code(analyze(generated_c2pa[0], extra={"c2pa_require_trusted": True}))["c2pa_generator_claim"]
    assert finding.direction == "fake" and not finding.decisive


def test_c2pa_summary_survives_malformed_manifest_json() -> None:
    from detection.detectors.provenance import c2pa_findings

    assertions = [{"label": "c2pa.actions", "data": 5}, {"label": "c2pa.actions.v2", "data": {"actions": ["x", None]}}]
    store = {"active_manifest": "m", "manifests": {"m": {"assertions": assertions}}, "validation_state": "Invalid"}
    findings, summary = c2pa_findings(store, "provenance")
    assert [f.code for f in findings] == ["c2pa_invalid"] and summary["actions"] == []


def test_a_tampered_c2pa_image_is_reported_invalid_and_not_decisive(generated_c2pa: tuple[bytes, bytes]) -> None:
    data = bytearray(generated_c2pa[0])
    data[-200] ^= 0xFF  # inside the entropy-coded pixels, after the manifest
    findings = by_code(analyze(bytes(data)))
    assert "c2pa_generator_claim" not in findings
    invalid = findings["c2pa_invalid"]
    assert invalid.direction == "neutral" and not invalid.decisive
    assert "assertion.dataHash.mismatch" in invalid.message


def test_a_valid_c2pa_camera_capture_claim_leans_real_but_is_not_decisive() -> None:
    finding = by_code(analyze(signed_jpeg("digitalCapture")[0]))["c2pa_capture_claim"]
    assert finding.direction == "real" and not finding.decisive


@pytest.mark.parametrize(
    "data,mime",
    [
        (b"garbage" * 50, "image/jpeg"),
        (b"\xff\xd8\xff\xe0" + b"c2pa jumb \x00\xff" * 200, "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"caBX c2pa" * 100, "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPC2PA" + bytes(300), "image/webp"),
        (b"c2pa" * 10, "application/x-unknown"),
    ],
)
def test_garbage_fed_to_the_c2pa_reader_does_not_raise(data: bytes, mime: str) -> None:
    out = read_c2pa(data, mime)
    assert out["store"] is None


def test_no_manifest_gives_no_c2pa_finding() -> None:
    result = analyze(encode(photo(), "PNG"))
    assert result.details["c2pa"] is None
    assert not any(f.code.startswith("c2pa") for f in result.findings)
    assert result.details["errors"] == []


def test_random_bytes_in_metadata_never_break_the_detector() -> None:
    rng = np.random.default_rng(0)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", rng.bytes(300).decode("latin-1"))
    info.add_text("Comment", "{not json")
    result = analyze(encode(photo(), "PNG", pnginfo=info))
    assert result.applicable and result.details["errors"] == []
