"""PNG pictures of the heat map and unit trends (matplotlib, Agg canvas: no display, no pyplot state)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)  # no bbox_inches: the PNG is exactly width x height
    return buf.getvalue()


def _axes(width: int, height: int) -> tuple[Figure, Any]:
    """A figure of ``width`` x ``height`` pixels and its one plot."""
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def heatmap_png(
    units: Sequence[str],
    kpis: Sequence[str],
    values: Mapping[tuple[str, str], float],
    changes: Mapping[tuple[str, str], float | None],
    *,
    title: str,
    width: int = 800,
    height: int = 500,
) -> bytes:
    """Units as rows, KPIs as columns, coloured 0-100; each cell labelled with its value and change."""
    fig, ax = _axes(width, height)
    grid = np.full((len(units), len(kpis)), np.nan)
    for i, u in enumerate(units):
        for j, k in enumerate(kpis):
            if (u, k) in values:
                grid[i, j] = values[(u, k)]
    image = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(kpis)), labels=list(kpis), rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(units)), labels=list(units), fontsize=8)
    if len(units) * len(kpis) <= 200:
        for (i, j), v in np.ndenumerate(grid):
            if np.isnan(v):
                continue
            change = changes.get((units[i], kpis[j]))
            text = f"{v:.0f}" + ("" if change is None else f"\n{change:+.1f}")
            ax.text(j, i, text, ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    return _png(fig)


def trends_png(
    series: Mapping[str, Sequence[tuple[str, float]]],
    *,
    title: str,
    width: int = 800,
    height: int = 500,
) -> bytes:
    """One line per unit: its mean score per period."""
    fig, ax = _axes(width, height)
    periods = sorted({p for points in series.values() for p, _ in points})
    at = {p: i for i, p in enumerate(periods)}
    for unit, points in sorted(series.items()):
        ax.plot([at[p] for p, _ in points], [v for _, v in points], marker="o", label=unit)
    ax.set_xticks(range(len(periods)), labels=periods, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("mean score")
    ax.set_title(title, fontsize=10)
    if series and len(series) <= 12:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)
