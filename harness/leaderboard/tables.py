"""The leaderboard document as Markdown (README.md, with tabulate) and as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from tabulate import tabulate

from harness.leaderboard.boards import breakdown_rows
from harness.leaderboard.plots import plot_files

CSV_COLUMNS = ["board", "data", "split", "judge", "model", "title", "source", "task", "metric", "part", "value",
               "ci_low", "ci_high", "n_cases", "date", "partial", "citation"]


def fmt(value: float | None) -> str:
    """A score to 4 significant digits (``0.4184``, ``0.004630``, ``0.000``); the exact figure is in
    leaderboard.csv and leaderboard.json."""
    if value is None:
        return ""
    return f"{value:#.4g}"


def fmt_cell(cell: dict[str, Any] | None) -> str:
    """A metric with its interval: ``0.4184 [0.4012, 0.4350]``."""
    if cell is None:
        return "–"
    text = fmt(cell["value"])
    if cell["ci"] is not None:
        text += f" [{fmt(cell['ci'][0])}, {fmt(cell['ci'][1])}]"
    return text


def _per_task(row: dict[str, Any], key: str) -> str:
    """One value for the row when its tasks agree, else ``task value`` per task; "–" when unknown."""
    values = {task: info.get(key) for task, info in sorted(row["results"].items())}
    known = {v for v in values.values() if v is not None}
    if not known:
        return "–"
    if len(set(values.values())) == 1:
        return str(next(iter(known)))
    return ", ".join(f"{task} {'–' if v is None else v}" for task, v in values.items())


def cases_text(row: dict[str, Any]) -> str:
    """The number of cases behind the row (per task when they differ)."""
    return _per_task(row, "n_cases")


def date_text(row: dict[str, Any]) -> str:
    """The day the row's results were made (per task when they differ)."""
    return _per_task(row, "date")


PARTIAL_MARK = "PARTIAL"


def breakdown_column(row: dict[str, Any], breakdown: dict[str, Any]) -> str:
    """A model's heading in a breakdown table: its name, case count, date, and the partial mark."""
    info = row["results"][breakdown["task"]]
    parts = [f"n={'–' if info['n_cases'] is None else info['n_cases']}", info["date"]]
    if info["partial"]:
        parts.append(PARTIAL_MARK)
    return f"{row['model']} ({', '.join(p for p in parts if p)})"


def board_title(board: dict[str, Any]) -> str:
    judge = board["judge"] or "no judge"
    return f"{board['data']} · {board['split']} · judge {judge}"


def _citation(row: dict[str, Any]) -> str:
    urls = sorted({info["citation"]["url"] for info in row["results"].values() if info.get("citation")})
    return " ".join(urls)


def _overall(board: dict[str, Any]) -> str:
    headers = ["#", "model", "source", "cases (n)", "date", *[m["label"] for m in board["metrics"]]]
    lines = []
    for rank, row in enumerate(board["rows"], start=1):
        source = "/".join(row["sources"])
        cite = _citation(row)
        if cite:
            source += f" ([source]({cite.split()[0]}))"
        name = f"`{row['model']}`" if row["title"] == row["model"] else f"{row['title']} (`{row['model']}`)"
        if row["partial"]:
            name += f" **{PARTIAL_MARK}**"
        lines.append([rank, name, source, cases_text(row), date_text(row),
                      *[fmt_cell(row["metrics"].get(m["key"])) for m in board["metrics"]]])
    return tabulate(lines, headers=headers, tablefmt="github", disable_numparse=True)


def breakdown_heading(breakdown: dict[str, Any]) -> str:
    """A breakdown table's title: its label, and what it averages when the task says."""
    return f"{breakdown['label']}: {breakdown['description']}" if breakdown["description"] else breakdown["label"]


def _breakdown_table(board: dict[str, Any], breakdown: dict[str, Any]) -> str | None:
    rows = breakdown_rows(board, breakdown)
    if not rows:
        return None
    headers = [breakdown["parts"], *[breakdown_column(row, breakdown) for row in rows]]
    lines = [[part, *[fmt(row["breakdowns"][breakdown["key"]].get(part)) or "–" for row in rows]]
             for part in breakdown["names"]]
    return tabulate(lines, headers=headers, tablefmt="github", disable_numparse=True)


def _comparisons(board: dict[str, Any]) -> str | None:
    if not board["comparisons"]:
        return None
    labels = {m["key"]: m["label"] for m in board["metrics"]}
    lines = [[labels[c["metric"]], c["a"], c["b"], c["n_common"], f"{c['diff']:+.4f}",
              f"[{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}]", fmt(c["p_value"]), "yes" if c["significant"] else "no"]
             for c in board["comparisons"]]
    headers = ["metric", "A", "B", "common cases", "A − B", "95% CI", "p", "significant"]
    return tabulate(lines, headers=headers, tablefmt="github", disable_numparse=True)


def _notes(board: dict[str, Any]) -> list[str]:
    notes = [f"- {note}" for note in board["task_notes"]]
    for row in board["rows"]:
        for task, info in sorted(row["results"].items()):
            text = " ".join(filter(None, [(info.get("citation") or {}).get("note"), info.get("notes")]))
            if text:
                notes.append(f"- `{row['model']}` {task}: {text}")
    return notes


def markdown(document: dict[str, Any]) -> str:
    """leaderboard/README.md."""
    boot = document["bootstrap"]
    parts = [
        "# Leaderboard",
        "",
        "Generated by `harness leaderboard build` from the result files in `results/`; do not edit by hand.",
        "Add a result as one JSON file in a pull request (docs/results.md). The web page is `index.html`.",
        "",
        "One board per data set, split and judge: figures from different boards are not comparable.",
        f"Measured rows show a {boot['level']:.0%} bootstrap interval over cases ({boot['resamples']} resamples, "
        f"seed {boot['seed']}); reported rows are copied from their source. Figures to 4 significant digits "
        "(exact ones in leaderboard.csv); n is the number of cases scored; a row marked "
        f"{PARTIAL_MARK} scored only part of its data set.",
    ]
    for board in document["boards"]:
        parts += ["", f"## {board_title(board)}", "", _overall(board)]
        for breakdown in board["breakdowns"]:
            table = _breakdown_table(board, breakdown)
            if table:
                parts += ["", f"### {breakdown_heading(breakdown)}", "", table]
        table = _comparisons(board)
        if table:
            parts += ["", "### Paired bootstrap comparisons (measured rows, common cases)", "", table]
        notes = _notes(board)
        if notes:
            parts += ["", "### Notes", "", *notes]
        plots = plot_files(board)
        if plots:
            parts += ["", *[f"![{name}]({name})" for name in plots]]
    return "\n".join(parts) + "\n"


def _case_columns(info: dict[str, Any]) -> list[Any]:
    return ["" if info["n_cases"] is None else info["n_cases"], info["date"] or "", "yes" if info["partial"] else "no"]


def csv_text(document: dict[str, Any]) -> str:
    """leaderboard.csv: one line per board, model, metric (and part of a breakdown)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for board in document["boards"]:
        head = [board["id"], board["data"], board["split"], board["judge"] or ""]
        for row in board["rows"]:
            model = [row["model"], row["title"]]
            for metric in board["metrics"]:
                cell = row["metrics"].get(metric["key"])
                if cell is None:
                    continue
                ci = cell["ci"] or [None, None]
                info = row["results"][cell["task"]]
                cite = (info.get("citation") or {}).get("url", "")
                writer.writerow([*head, *model, cell["source"], cell["task"], metric["key"], "", cell["value"],
                                 "" if ci[0] is None else ci[0], "" if ci[1] is None else ci[1], *_case_columns(info),
                                 cite])
            for breakdown in board["breakdowns"]:
                values = row["breakdowns"].get(breakdown["key"])
                if not values:
                    continue
                info = row["results"][breakdown["task"]]
                cite = (info.get("citation") or {}).get("url", "")
                for part, value in values.items():
                    writer.writerow([*head, *model, info["source"], breakdown["task"], breakdown["key"], part, value,
                                     "", "", *_case_columns(info), cite])
    return buffer.getvalue()
