"""Operations: metrics, health, structured logs, request ids, upload scanning (clamd), data lifecycle, CORS."""
