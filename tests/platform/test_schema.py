"""The OpenAPI schema is valid, serves Swagger UI, and covers the contract in ARCHITECTURE.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "ARCHITECTURE.md"
#: The seed's servers are https://.../v2; ours serve the same paths under /api/v2.
OUR_BASE = "/api/v2"
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: Any) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return dict(yaml.safe_load(out.read_text()))


def seed_spec() -> dict[str, Any]:
    if not SEED.exists():
        pytest.skip(f"the seed contract is not beside the repository ({SEED})")
    text = SEED.read_text()
    block = re.search(r"```yaml\n(openapi: 3[^\n]*\n.*?)```", text, re.DOTALL)
    assert block, "no OpenAPI block found in ARCHITECTURE.md"
    return dict(yaml.safe_load(block.group(1)))


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_schema_validates_without_warnings(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["version"] == "2.0.0"


def test_both_security_schemes_are_declared(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def test_every_path_method_and_response_code_of_the_contract_exists(schema: dict[str, Any]) -> None:
    ours = {_normalise(p): ops for p, ops in schema["paths"].items()}
    missing = []
    for path, ops in seed_spec()["paths"].items():
        mine = ours.get(_normalise(OUR_BASE + path))
        for method, op in ops.items():
            if method not in METHODS:
                continue
            if mine is None or method not in mine:
                missing.append(f"{method.upper()} {path}")
                continue
            for code in op.get("responses", {}):
                if str(code) not in {str(c) for c in mine[method]["responses"]}:
                    missing.append(f"{method.upper()} {path} -> {code}")
    assert missing == []


def test_the_contracts_parameters_exist_with_their_names(schema: dict[str, Any]) -> None:
    ours = {_normalise(p): ops for p, ops in schema["paths"].items()}
    missing = []
    for path, ops in seed_spec()["paths"].items():
        for method, op in ops.items():
            if method not in METHODS:
                continue
            names = {p["name"] for p in ours[_normalise(OUR_BASE + path)][method].get("parameters", [])}
            missing += [f"{method} {path} {p['name']}" for p in op.get("parameters", []) if p["name"] not in names]
    assert missing == []


def test_the_documented_job_and_result_fields_are_all_there(schema: dict[str, Any]) -> None:
    seed = seed_spec()["components"]["schemas"]
    ours = schema["components"]["schemas"]
    for name in ("AnalysisJob", "AnalysisResult", "AnalysisOptions"):
        mine = ours.get(name) or ours[f"{name}Request"]  # request-only components carry the Request suffix
        assert set(seed[name]["properties"]) <= set(mine["properties"]), name
    assert set(seed["JobStatus"]["enum"]) == set(ours["JobStatus"]["enum"])


def test_the_diagrams_other_endpoints_exist(schema: dict[str, Any]) -> None:
    paths = {_normalise(p) for p in schema["paths"]}
    for path in ("/auth/login", "/auth/refresh", "/auth/logout", "/users/profile", "/users/settings",
                 "/files/upload", "/files/{}/status", "/files/{}/download", "/models", "/models/{}/status",
                 "/models/{}/metrics", "/analysis/{}/cancel"):
        assert OUR_BASE + path in paths


@pytest.mark.django_db
def test_swagger_ui_and_the_schema_are_served(client: Any) -> None:
    assert client.get("/api/schema").status_code == 200
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"swagger" in page.content.lower()
