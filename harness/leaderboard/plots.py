"""PNG plots of a board with matplotlib: per-organ GREEN by model, and the headline scores.

Rendered with the Agg canvas under matplotlib's default style (a user's matplotlibrc changes
nothing), at a fixed dpi and without the Software tag, so the bytes depend only on the data.
"""

from __future__ import annotations

import io
from typing import Any

from harness.leaderboard.metrics import ORGAN_AVERAGINGS

DPI = 100
_SHORT = {"organs": "official averaging (cases with the organ)", "organs_all_cases": "all-cases averaging"}


def plot_files(board: dict[str, Any]) -> list[str]:
    """The plot paths (relative to the output folder) that `render_plots` makes for this board."""
    names = []
    if any(row[a] for row in board["rows"] for a, _ in ORGAN_AVERAGINGS):
        names.append(f"plots/{board['id']}-organs.png")
    if any(row["metrics"] for row in board["rows"]):
        names.append(f"plots/{board['id']}-scores.png")
    return names


MISSING_LABEL = "n/a"


def _name(row: dict[str, Any]) -> str:
    return f"{row['model']} PARTIAL" if row["partial"] else row["model"]


def _mark_zeros_and_missing(ax: Any, positions: list[float], values: list[float | None], colour: str, *,
                            horizontal: bool) -> None:
    """A bar of height 0 is invisible and a missing one too: draw a dot on the axis for a score of 0, and a
    grey "n/a" where the model has no figure, so the two never look alike."""
    for position, value in zip(positions, values, strict=True):
        at = (0.0, position) if horizontal else (position, 0.0)
        if value is None:
            ax.text(*((0.01, position) if horizontal else (position, 0.01)), MISSING_LABEL, color="0.4",
                    fontsize=8, va="center" if horizontal else "bottom", ha="left" if horizontal else "center")
        elif value == 0:
            ax.plot(*at, marker="o", markersize=4.5, color=colour, markeredgecolor="black", markeredgewidth=0.6,
                    clip_on=False, zorder=3)


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _organs_figure(board: dict[str, Any], title: str, colours: dict[str, str]) -> Any:
    import numpy as np
    from matplotlib.figure import Figure

    averagings = [a for a, _ in ORGAN_AVERAGINGS if any(row[a] for row in board["rows"])]
    organs = board["organs"]
    figure = Figure(figsize=(6.5 * len(averagings), 1.6 + 0.42 * len(organs)), layout="constrained")
    axes = figure.subplots(1, len(averagings), sharey=True, squeeze=False)[0]
    y = np.arange(len(organs))
    for ax, averaging in zip(axes, averagings, strict=True):
        rows = [row for row in board["rows"] if row[averaging]]
        height = 0.8 / len(rows)
        for i, row in enumerate(rows):
            values = [row[averaging].get(organ) for organ in organs]
            positions = list(y + (i - (len(rows) - 1) / 2) * height)
            ax.barh(positions, [np.nan if v is None else v for v in values], height=height, label=_name(row),
                    color=colours[row["model"]])
            _mark_zeros_and_missing(ax, positions, values, colours[row["model"]], horizontal=True)
        ax.set_yticks(y, organs)
        ax.set_xlim(0, 1)
        ax.set_xlabel("GREEN")
        ax.set_title(_SHORT[averaging], fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].invert_yaxis()  # the axes share y: invert once, so organs read top-down as in the tables
    figure.suptitle(f"Per-organ GREEN ({MISSING_LABEL}: no figure; dot: a score of 0)\n{title}", fontsize=11)
    return figure


def _scores_figure(board: dict[str, Any], title: str, colours: dict[str, str]) -> Any:
    import numpy as np
    from matplotlib.figure import Figure

    metrics = board["metrics"]
    rows = [row for row in board["rows"] if row["metrics"]]
    figure = Figure(figsize=(max(6.0, 1.2 + 1.6 * len(metrics) * max(1, len(rows)) / 2), 4.2), layout="constrained")
    ax = figure.subplots()
    x = np.arange(len(metrics))
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        cells = [row["metrics"].get(m["key"]) for m in metrics]
        values = [c["value"] if c else np.nan for c in cells]
        positions = list(x + (i - (len(rows) - 1) / 2) * width)
        error = None
        if any(c and c["ci"] for c in cells):
            error = [[c["value"] - c["ci"][0] if c and c["ci"] else 0.0 for c in cells],
                     [c["ci"][1] - c["value"] if c and c["ci"] else 0.0 for c in cells]]
        label = f"{_name(row)} ({'/'.join(row['sources'])})"
        ax.bar(positions, values, width=width, yerr=error, capsize=3, label=label, color=colours[row["model"]])
        _mark_zeros_and_missing(ax, positions, [c["value"] if c else None for c in cells], colours[row["model"]],
                                horizontal=False)
    ax.set_xticks(x, [m["label"] for m in metrics])
    ax.set_ylim(0, 1)
    ax.set_ylabel("score (error bars: 95% bootstrap CI)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    figure.suptitle(f"Scores ({MISSING_LABEL}: no figure; dot: a score of 0)\n{title}", fontsize=11)
    return figure


def render_plots(board: dict[str, Any], title: str, colours: dict[str, str]) -> dict[str, bytes]:
    """Relative path -> PNG bytes for this board's plots; `colours`: model -> colour (the document's)."""
    import matplotlib.style

    out: dict[str, bytes] = {}
    with matplotlib.style.context("default"):
        for name in plot_files(board):
            make = _organs_figure if name.endswith("-organs.png") else _scores_figure
            figure = make(board, title, colours)
            out[name] = _png(figure)
    return out
