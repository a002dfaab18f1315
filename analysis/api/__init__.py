"""The REST API under /api/v2 (OpenAPI via drf-spectacular)."""
