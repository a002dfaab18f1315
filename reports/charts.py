"""Server-side charts for reports: the score timeline as an SVG (no JavaScript, nothing fetched)."""

from __future__ import annotations

import base64
from typing import Any
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 640, 180
PAD_L, PAD_R, PAD_T, PAD_B = 40, 12, 12, 28


def timeline_svg(timeline: dict[str, Any] | None, threshold: float = 0.5) -> str | None:
    """Score (0-1) against time; points without a score (no face on that frame) break the line."""
    if not timeline or not timeline.get("points"):
        return None
    points = timeline["points"]
    t_max = max(float(p["t"]) for p in points) or 1.0
    w, h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(t: float) -> float:
        return PAD_L + w * (float(t) / t_max)

    def y(s: float) -> float:
        return PAD_T + h * (1.0 - max(0.0, min(1.0, float(s))))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="10">',
             f'<rect x="{PAD_L}" y="{PAD_T}" width="{w}" height="{h}" fill="#fafafa" stroke="#999"/>']
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{PAD_L}" x2="{PAD_L + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{PAD_L - 4}" y="{y(v) + 3:.1f}" text-anchor="end">{v:.2f}</text>')
    parts.append(f'<line x1="{PAD_L}" x2="{PAD_L + w}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
                 'stroke="#c62828" stroke-dasharray="4 3"/>')
    for i in range(5):
        t = t_max * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}">{t:.1f} s</text>')
    if timeline.get("kind") == "audio":  # windows as bars
        for p in points:
            if p["score"] is None:
                continue
            x0, x1 = x(float(p.get("start") or p["t"])), x(float(p.get("end") or p["t"]))
            colour = "#c62828" if p["score"] >= threshold else "#1565c0"
            parts.append(f'<rect x="{x0:.1f}" y="{y(p["score"]):.1f}" width="{max(1.0, x1 - x0 - 0.5):.1f}" '
                         f'height="{PAD_T + h - y(p["score"]):.1f}" fill="{colour}" fill-opacity="0.55"/>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for p in points:
        if p["score"] is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(p['t']):.1f},{y(p['score']):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="#1565c0"/>')
        else:
            parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#1565c0" stroke-width="1.6"/>')
    label = escape("score per speech window" if timeline.get("kind") == "audio" else "worst face score per frame")
    parts.append(f'<text x="{PAD_L + 4}" y="{PAD_T + 11}" fill="#555">{label}; dashed: {threshold:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
