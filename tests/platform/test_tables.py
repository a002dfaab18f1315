"""The documented tables and indexes (ARCHITECTURE.md, Database Schema) exist in the migrated database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

#: Each documented index, as (table, columns); names differ where Django caps them at 30 characters.
DOCUMENTED_INDEXES = [
    ("analysis_jobs", ["user_id"]),
    ("analysis_jobs", ["status"]),
    ("analysis_jobs", ["created_at"]),
    ("analysis_results", ["job_id"]),
    ("analysis_results", ["prediction"]),
    ("system_logs", ["created_at"]),
    ("system_logs", ["level"]),
    ("analysis_jobs", ["user_id", "status"]),
    ("analysis_results", ["prediction", "confidence"]),
]


def _indexed_columns(table: str) -> list[list[str]]:
    with connection.cursor() as cursor:
        constraints: dict[str, Any] = connection.introspection.get_constraints(cursor, table)
    return [c["columns"] for c in constraints.values() if c["index"] or c["unique"] or c["primary_key"]]


def test_the_documented_tables_exist() -> None:
    tables = set(connection.introspection.table_names())
    assert {"users", "analysis_jobs", "analysis_results", "model_performance", "system_logs"} <= tables


@pytest.mark.parametrize(("table", "columns"), DOCUMENTED_INDEXES)
def test_every_documented_index_exists(table: str, columns: list[str]) -> None:
    assert columns in _indexed_columns(table)


def test_the_documented_columns_exist() -> None:
    def columns(table: str) -> set[str]:
        with connection.cursor() as cursor:
            return {c.name for c in connection.introspection.get_table_description(cursor, table)}

    assert {"id", "user_id", "file_name", "file_path", "file_type", "file_size", "status", "created_at",
            "started_at", "completed_at", "error_message"} <= columns("analysis_jobs")
    assert {"id", "job_id", "prediction", "confidence", "is_authentic", "models_used", "processing_time",
            "features_detected", "evidence_data", "created_at"} <= columns("analysis_results")
    assert {"id", "model_name", "version", "accuracy", "precision_score", "recall", "f1_score", "test_date",
            "dataset_name"} <= columns("model_performance")
    assert {"id", "level", "message", "module", "function_name", "user_id", "ip_address", "created_at",
            "metadata"} <= columns("system_logs")
    assert {"id", "username", "email", "password", "created_at", "updated_at", "is_active", "role"} <= columns("users")


def test_migrations_are_in_step_with_the_models() -> None:
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
