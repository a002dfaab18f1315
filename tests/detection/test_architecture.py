"""The engine is plain Python: the CLI, worker, benchmarks and evaluation all share it without Django."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "detection"


def test_no_engine_module_imports_django() -> None:
    offenders = []
    for path in ENGINE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "django" or n.startswith("django.") for n in names):
                offenders.append(str(path.relative_to(ENGINE.parent)))
    assert offenders == []


def test_importing_and_running_the_engine_loads_no_django() -> None:
    code = (
        "import sys, detection, detection.engine, detection.evaluate, detection.registry;"
        "[detection.registry.get(n) for n in detection.registry.names()];"
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
