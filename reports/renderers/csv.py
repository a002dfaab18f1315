"""CSV: one row per job, one column per model score; UTF-8 (with BOM, so spreadsheets detect it) and safe
against formula injection: a cell starting with = + - @ tab or carriage return gets a leading single quote."""

from __future__ import annotations

import csv
import io
from typing import Any

from . import Rendered

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = [
    "job_id", "file_name", "file_type", "file_format", "file_size", "sha256", "status", "owner", "source", "tags",
    "created_at", "completed_at", "prediction", "confidence", "is_authentic", "fake_probability", "reason",
    "processing_time", "models_used", "facial_inconsistencies", "temporal_artifacts", "compression_anomalies",
    "timeline_max_score", "engine_version", "error_code", "error_message",
]


def safe_cell(value: Any) -> str:
    """The cell as text a spreadsheet will not evaluate. Numbers are written by us, not users: only text that
    starts with a formula character is quoted (a negative number we produce is written as-is)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(round(value, 6)) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows(data: Any) -> tuple[list[str], list[dict[str, Any]]]:
    model_names: list[str] = []
    for job in data["jobs"]:
        for m in job.get("models") or []:
            if m["name"] not in model_names:
                model_names.append(m["name"])
    columns = BASE_COLUMNS + [f"score_{n}" for n in model_names]
    out = []
    for job in data["jobs"]:
        verdict = job.get("verdict") or {}
        ev = job.get("evidence_scores") or {}
        error = job.get("error") or {}
        timeline = job.get("timeline") or {}
        row = {
            "job_id": job["job_id"], "file_name": job["file_name"], "file_type": job["file_type"],
            "file_format": job["file_format"], "file_size": job["file_size"], "sha256": job["sha256"],
            "status": job["status"], "owner": job["owner"], "source": job["source"], "tags": ";".join(job["tags"]),
            "created_at": job["created_at"], "completed_at": job["completed_at"],
            "prediction": verdict.get("prediction"), "confidence": verdict.get("confidence"),
            "is_authentic": verdict.get("is_authentic"), "fake_probability": verdict.get("fake_probability"),
            "reason": verdict.get("reason"), "processing_time": verdict.get("processing_time"),
            "models_used": ";".join(verdict.get("models_used") or []),
            "facial_inconsistencies": ev.get("facial_inconsistencies"),
            "temporal_artifacts": ev.get("temporal_artifacts"),
            "compression_anomalies": ev.get("compression_anomalies"),
            "timeline_max_score": timeline.get("max_score"),
            "engine_version": (job.get("provenance") or {}).get("engine_version"),
            "error_code": error.get("code"), "error_message": error.get("message"),
        }
        for m in job.get("models") or []:
            row[f"score_{m['name']}"] = m["score"]
        out.append(row)
    return columns, out


def render(data: Any) -> Rendered:
    columns, table = rows(data)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in columns])
    for row in table:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return Rendered(("\ufeff" + buf.getvalue()).encode("utf-8"), "text/csv; charset=utf-8", "csv")
