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


def _colours(board: dict[str, Any]) -> dict[str, str]:
    """One colour per model across all of a board's plots."""
    return {row["model"]: f"C{i % 10}" for i, row in enumerate(board["rows"])}


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _organs_figure(board: dict[str, Any], title: str) -> Any:
    import numpy as np
    from matplotlib.figure import Figure

    averagings = [a for a, _ in ORGAN_AVERAGINGS if any(row[a] for row in board["rows"])]
    organs = board["organs"]
    figure = Figure(figsize=(6.5 * len(averagings), 1.6 + 0.42 * len(organs)), layout="constrained")
    axes = figure.subplots(1, len(averagings), sharey=True, squeeze=False)[0]
    y = np.arange(len(organs))
    colours = _colours(board)
    for ax, averaging in zip(axes, averagings, strict=True):
        rows = [row for row in board["rows"] if row[averaging]]
        height = 0.8 / len(rows)
        for i, row in enumerate(rows):
            values = [row[averaging].get(organ, np.nan) for organ in organs]
            ax.barh(y + (i - (len(rows) - 1) / 2) * height, values, height=height, label=row["model"],
                    color=colours[row["model"]])
        ax.set_yticks(y, organs)
        ax.set_xlim(0, 1)
        ax.set_xlabel("GREEN")
        ax.set_title(_SHORT[averaging], fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].invert_yaxis()  # the axes share y: invert once, so organs read top-down as in the tables
    figure.suptitle(f"Per-organ GREEN\n{title}", fontsize=11)
    return figure


def _scores_figure(board: dict[str, Any], title: str) -> Any:
    import numpy as np
    from matplotlib.figure import Figure

    metrics = board["metrics"]
    rows = [row for row in board["rows"] if row["metrics"]]
    figure = Figure(figsize=(max(6.0, 1.2 + 1.6 * len(metrics) * max(1, len(rows)) / 2), 4.2), layout="constrained")
    ax = figure.subplots()
    x = np.arange(len(metrics))
    width = 0.8 / len(rows)
    colours = _colours(board)
    for i, row in enumerate(rows):
        cells = [row["metrics"].get(m["key"]) for m in metrics]
        values = [c["value"] if c else np.nan for c in cells]
        error = None
        if any(c and c["ci"] for c in cells):
            error = [[c["value"] - c["ci"][0] if c and c["ci"] else 0.0 for c in cells],
                     [c["ci"][1] - c["value"] if c and c["ci"] else 0.0 for c in cells]]
        label = f"{row['model']} ({'/'.join(row['sources'])})"
        ax.bar(x + (i - (len(rows) - 1) / 2) * width, values, width=width, yerr=error, capsize=3, label=label,
               color=colours[row["model"]])
    ax.set_xticks(x, [m["label"] for m in metrics])
    ax.set_ylim(0, 1)
    ax.set_ylabel("score (error bars: 95% bootstrap CI)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    figure.suptitle(f"Scores\n{title}", fontsize=11)
    return figure


def render_plots(board: dict[str, Any], title: str) -> dict[str, bytes]:
    """Relative path -> PNG bytes for this board's plots."""
    import matplotlib.style

    out: dict[str, bytes] = {}
    with matplotlib.style.context("default"):
        for name in plot_files(board):
            figure = _organs_figure(board, title) if name.endswith("-organs.png") else _scores_figure(board, title)
            out[name] = _png(figure)
    return out
