"""PNG plots of a board with matplotlib: its breakdown tables by model, and its columns.

Rendered with the Agg canvas under matplotlib's default style (a user's matplotlibrc changes
nothing), at a fixed dpi and without the Software tag, so the bytes depend only on the data.
"""

from __future__ import annotations

import io
from typing import Any

from harness.leaderboard.boards import breakdown_rows

DPI = 100


def plot_files(board: dict[str, Any]) -> list[str]:
    """The plot paths (relative to the output folder) that `render_plots` makes for this board."""
    names = []
    if any(breakdown_rows(board, b) for b in board["breakdowns"]):
        names.append(f"plots/{board['id']}-{_parts_word(board)}s.png")
    if any(row["metrics"] for row in board["rows"]):
        names.append(f"plots/{board['id']}-scores.png")
    return names


MISSING_LABEL = "n/a"


def _parts_word(board: dict[str, Any]) -> str:
    """What the board's breakdowns break down (``organ``), or ``part`` when its tables differ."""
    words = {b["parts"] for b in board["breakdowns"]}
    word = words.pop() if len(words) == 1 else "part"
    return word if word != "score" else "part"  # "-scores.png" is the columns' plot


def _limits(values: list[float]) -> tuple[float, float] | None:
    """The value axis [0, 1] when every figure is a fraction (scores side by side stay comparable), else None
    (matplotlib's own)."""
    return (0.0, 1.0) if all(0.0 <= v <= 1.0 for v in values) else None


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


def _breakdowns_figure(board: dict[str, Any], title: str, colours: dict[str, str]) -> Any:
    """One panel per breakdown table with figures, parts read top-down as in the tables."""
    import numpy as np
    from matplotlib.figure import Figure

    tables = [b for b in board["breakdowns"] if breakdown_rows(board, b)]
    longest = max(len(b["names"]) for b in tables)
    figure = Figure(figsize=(6.5 * len(tables), 1.6 + 0.42 * longest), layout="constrained")
    same = all(t["names"] == tables[0]["names"] for t in tables)  # one set of parts: one shared axis of names
    axes = figure.subplots(1, len(tables), sharey=same, squeeze=False)[0]
    for ax, table in zip(axes, tables, strict=True):
        rows = breakdown_rows(board, table)
        names = table["names"]
        y = np.arange(len(names))
        height = 0.8 / len(rows)
        shown: list[float] = []
        for i, row in enumerate(rows):
            values = [row["breakdowns"][table["key"]].get(name) for name in names]
            shown += [v for v in values if v is not None]
            positions = list(y + (i - (len(rows) - 1) / 2) * height)
            ax.barh(positions, [np.nan if v is None else v for v in values], height=height, label=_name(row),
                    color=colours[row["model"]])
            _mark_zeros_and_missing(ax, positions, values, colours[row["model"]], horizontal=True)
        ax.set_yticks(y, names)
        ax.set_ylim(len(names) - 0.5, -0.5)
        limits = _limits(shown)
        if limits:
            ax.set_xlim(*limits)
        ax.set_xlabel(table["label"])
        ax.set_title(table["description"] or table["label"], fontsize=10, wrap=True)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    figure.suptitle(f"By {_parts_word(board)} ({MISSING_LABEL}: no figure; dot: a score of 0)\n{title}", fontsize=11)
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
    ax.set_xticks(x, [m["label"] if m["higher_is_better"] else f"{m['label']}\n(lower is better)" for m in metrics])
    limits = _limits([c["value"] for row in rows for c in row["metrics"].values()])
    if limits:
        ax.set_ylim(*limits)
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
            make = _scores_figure if name.endswith("-scores.png") else _breakdowns_figure
            figure = make(board, title, colours)
            out[name] = _png(figure)
    return out
