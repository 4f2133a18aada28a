"""index.html: a static, self-contained page rendered from the leaderboard document.

Tables are rendered here, in HTML; the page's small inline script only sorts them (click a header)
and filters the boards by data set and judge. No external resources are loaded.
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any

from harness.leaderboard.metrics import ORGAN_AVERAGINGS
from harness.leaderboard.plots import plot_files
from harness.leaderboard.tables import board_title, fmt

_LOW = (247, 251, 255)
_HIGH = (8, 81, 156)


def _heat(value: float) -> str:
    """Background and text colour of a heatmap cell for a score in [0, 1]."""
    r, g, b = (round(lo + (hi - lo) * value) for lo, hi in zip(_LOW, _HIGH, strict=True))
    text = "#fff" if value > 0.55 else "#1b1f24"
    return f"background:#{r:02x}{g:02x}{b:02x};color:{text}"


def _num(value: float | None, extra: str = "", style: str = "") -> str:
    if value is None:
        return '<td class="missing" data-sort="">–</td>'
    style_attr = f' style="{style}"' if style else ""
    return f'<td class="num" data-sort="{value!r}"{style_attr}>{fmt(value)}{extra}</td>'


def _metric_td(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return _num(None)
    extra = ""
    if cell["ci"] is not None:
        extra = f'<br><small title="95% bootstrap CI over cases">[{fmt(cell["ci"][0])}, {fmt(cell["ci"][1])}]</small>'
    return _num(cell["value"], extra)


def _badges(row: dict[str, Any]) -> str:
    badges = []
    for source in row["sources"]:
        urls = sorted({info["citation"]["url"] for info in row["results"].values()
                       if info["source"] == source and info.get("citation")})
        if urls:
            links = " ".join(f'<a href="{escape(u)}" rel="noopener">source</a>' for u in urls)
            badges.append(f'<span class="badge {source}" title="figures copied from the source">{source} · {links}'
                          "</span>")
        else:
            badges.append(f'<span class="badge {source}" title="run with this harness">{source}</span>')
    return " ".join(badges)


def _value_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "–" if value is None else str(value)


def _details(row: dict[str, Any]) -> str:
    items = [("encoder", row["encoder"]), ("projector", row["projector"]), ("llm", row["llm"])]
    for task, info in sorted(row["results"].items()):
        items += [(f"{task}: file", f"results/{info['file']}"), (f"{task}: task version", info["task_version"]),
                  (f"{task}: weights", info["weights"]), (f"{task}: data sha256", info["data_sha256"]),
                  (f"{task}: cases", info["n_cases"]), (f"{task}: decoding", info["decoding"])]
        if info.get("citation"):
            items.append((f"{task}: citation", info["citation"]))
        for key, value in (info.get("provenance") or {}).items():
            items.append((f"{task}: {key}", value))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(_value_text(v))}</dd>" for k, v in items)
    title = f'{escape(row["title"])} ' if row["title"] != row["model"] else ""
    return f'<details><summary>{title}<code>{escape(row["model"])}</code></summary><dl>{body}</dl></details>'


def _overall(board: dict[str, Any]) -> str:
    head = ['<th data-type="num">#</th>', '<th data-type="text">model</th>', '<th data-type="text">source</th>']
    head += [f'<th data-type="num" data-metric="{escape(m["key"])}">{escape(m["label"])}</th>'
             for m in board["metrics"]]
    body = []
    for rank, row in enumerate(board["rows"], start=1):
        cells = [f'<td class="num" data-sort="{rank}">{rank}</td>',
                 f'<td data-sort="{escape(row["model"])}">{_details(row)}</td>',
                 f'<td data-sort="{escape("/".join(row["sources"]))}">{_badges(row)}</td>']
        cells += [_metric_td(row["metrics"].get(m["key"])) for m in board["metrics"]]
        body.append(f'<tr data-model="{escape(row["model"])}">{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="sortable overall" id="overall-{board["id"]}">'
            f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _heatmap(board: dict[str, Any], averaging: str, description: str) -> str:
    rows = [row for row in board["rows"] if row[averaging]]
    if not rows:
        return ""
    head = '<th data-type="text">organ</th>' + "".join(
        f'<th data-type="num" title="{escape(r["title"])}">{escape(r["model"])}</th>' for r in rows)
    body = []
    for organ in board["organs"]:
        cells = [f'<td data-sort="{escape(organ)}">{escape(organ)}</td>']
        for row in rows:
            value = row[averaging].get(organ)
            cells.append(_num(value, style=_heat(value) if value is not None else ""))
        body.append(f'<tr data-organ="{escape(organ)}">{"".join(cells)}</tr>')
    return (f"<h3>Per-organ GREEN, {escape(description)}</h3>"
            f'<div class="scroll"><table class="sortable heatmap {averaging}" id="{averaging}-{board["id"]}">'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _comparisons(board: dict[str, Any]) -> str:
    if not board["comparisons"]:
        return ""
    labels = {m["key"]: m["label"] for m in board["metrics"]}
    head = "".join(f'<th data-type="{t}">{escape(h)}</th>' for h, t in [
        ("metric", "text"), ("A", "text"), ("B", "text"), ("common cases", "num"), ("A − B", "num"),
        ("95% CI", "num"), ("p", "num"), ("significant", "text")])
    body = []
    for c in board["comparisons"]:
        mark = '<span class="yes">yes</span>' if c["significant"] else '<span class="no">no</span>'
        body.append(
            f'<tr><td>{escape(labels[c["metric"]])}</td><td>{escape(c["a"])}</td><td>{escape(c["b"])}</td>'
            f'<td class="num" data-sort="{c["n_common"]}">{c["n_common"]}</td>'
            f'<td class="num" data-sort="{c["diff"]!r}">{c["diff"]:+.4f}</td>'
            f'<td class="num" data-sort="{c["ci"][0]!r}">[{c["ci"][0]:+.4f}, {c["ci"][1]:+.4f}]</td>'
            f"{_num(c['p_value'])}<td>{mark}</td></tr>")
    return ("<h3>Do two models differ? Paired bootstrap over common cases</h3>"
            f'<div class="scroll"><table class="sortable comparisons"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _notes(board: dict[str, Any]) -> str:
    notes = []
    for row in board["rows"]:
        for task, info in sorted(row["results"].items()):
            text = " ".join(filter(None, [(info.get("citation") or {}).get("note"), info.get("notes")]))
            if text:
                notes.append(f"<li><code>{escape(row['model'])}</code> {escape(task)}: {escape(text)}</li>")
    return f'<ul class="notes">{"".join(notes)}</ul>' if notes else ""


def _board(board: dict[str, Any]) -> str:
    parts = [f'<section class="board" id="{board["id"]}" data-data="{escape(board["data"] + " · " + board["split"])}" '
             f'data-judge="{escape(board["judge"] or "")}">',
             f"<h2>{escape(board_title(board))}</h2>", _overall(board)]
    parts += [_heatmap(board, averaging, description) for averaging, description in ORGAN_AVERAGINGS]
    parts += [_comparisons(board), _notes(board)]
    parts += [f'<img class="plot" src="{name}" alt="{escape(name)}">' for name in plot_files(board)]
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def html(document: dict[str, Any]) -> str:
    """index.html."""
    boot = document["bootstrap"]
    datasets = sorted({f"{b['data']} · {b['split']}" for b in document["boards"]})
    judges = sorted({b["judge"] for b in document["boards"] if b["judge"]})
    lead = (f"One board per data set, split and GREEN judge. Measured rows show a {boot['level']:.0%} bootstrap "
            f"interval over cases ({boot['resamples']} resamples, seed {boot['seed']}); reported rows are copied "
            "from the linked source. Click a column header to sort; click a model for its provenance.")
    template = resources.files("harness.leaderboard").joinpath("page.html").read_text(encoding="utf-8")
    return (template.replace("__LEAD__", escape(lead))
            .replace("__DATA_OPTIONS__", "".join(f'<option value="{escape(d)}">{escape(d)}</option>' for d in datasets))
            .replace("__JUDGE_OPTIONS__", "".join(f'<option value="{escape(j)}">{escape(j)}</option>' for j in judges))
            .replace("__BOARDS__", "\n".join(_board(b) for b in document["boards"])))
