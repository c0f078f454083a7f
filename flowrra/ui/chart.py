"""The overview's chart, drawn on the server as inline SVG (no script, no CDN).

Stacked bars per minute: succeeded below, failed on top, with a y axis of round numbers
and a time label every ten minutes. Colours come from CSS classes, so the page's light
and dark themes both apply.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from ..backends.query import ThroughputPoint

WIDTH, HEIGHT = 960, 220
#: Margins in the viewBox's units, room for the axis labels at the size the stylesheet gives
#: them on a phone (about 28 units there, where the chart is drawn at a third of its width).
_LEFT, _RIGHT, _TOP, _BOTTOM = 68, 8, 10, 34


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _count(value: float) -> str:
    """A y axis label: a whole count, thousands as ``k`` (``2.5k``)."""
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


def throughput_svg(
    points: Sequence[ThroughputPoint], timezone: dt.tzinfo = dt.UTC, title: str = ""
) -> str:
    """An SVG element charting ``points`` (one per minute), times shown in ``timezone``."""
    top = _nice_ceiling(max((p.succeeded + p.failed for p in points), default=0))
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(len(points), 1)
    bar = max(slot - 1.5, 1.0)
    parts = [
        f'<svg class="flowrra-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title or "Tasks finished per minute")}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        if (top * fraction).is_integer():  # no "0.5" tasks
            parts.append(
                f'<text class="axis" x="{_LEFT - 6}" y="{y:.1f}" text-anchor="end" '
                f'dominant-baseline="middle">{_count(top * fraction)}</text>'
            )
    for index, point in enumerate(points):
        x = _LEFT + index * slot
        ok_h = plot_h * point.succeeded / top
        bad_h = plot_h * point.failed / top
        local = point.minute.astimezone(timezone)
        tip = escape(f"{local:%H:%M} — {point.succeeded} succeeded, {point.failed} failed")
        parts.append(f"<g><title>{tip}</title>")
        parts.append(
            f'<rect class="hit" x="{x:.1f}" y="{_TOP}" width="{slot:.1f}" height="{plot_h}"/>'
        )
        if ok_h:
            parts.append(
                f'<rect class="ok" x="{x:.1f}" y="{_TOP + plot_h - ok_h:.1f}" '
                f'width="{bar:.1f}" height="{ok_h:.1f}"/>'
            )
        if bad_h:
            parts.append(
                f'<rect class="bad" x="{x:.1f}" y="{_TOP + plot_h - ok_h - bad_h:.1f}" '
                f'width="{bar:.1f}" height="{bad_h:.1f}"/>'
            )
        parts.append("</g>")
        if local.minute % 10 == 0:
            parts.append(
                f'<text class="axis" x="{x + slot / 2:.1f}" y="{HEIGHT - 6}" '
                f'text-anchor="middle">{local:%H:%M}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
