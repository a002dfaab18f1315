"""Report renderers by name: each turns ``reports.context.ReportData`` into bytes. Heavy imports (WeasyPrint)
happen on first use, so a worker that never renders a PDF never loads pango."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rendered:
    content: bytes
    content_type: str
    extension: str


_RENDERERS = {"json": "reports.renderers.json", "csv": "reports.renderers.csv", "pdf": "reports.renderers.pdf"}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)


def render(fmt: str, data: Any) -> Rendered:
    if fmt not in _RENDERERS:
        raise KeyError(fmt)
    module = importlib.import_module(_RENDERERS[fmt])
    return module.render(data)  # type: ignore[no-any-return]
