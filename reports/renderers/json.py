"""JSON: the shaped report data as it is (images stay base64)."""

from __future__ import annotations

import json
from typing import Any

from . import Rendered


def render(data: Any) -> Rendered:
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    return Rendered(body, "application/json", "json")
