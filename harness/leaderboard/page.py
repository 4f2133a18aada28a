"""index.html: a static, self-contained page rendered from the leaderboard document.

Tables are rendered here, in HTML; the page's small inline script only sorts them (click a header),
filters the boards by data set and judge, and filters the per-case browser. No external resources are loaded.
"""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any

from harness.leaderboard.boards import breakdown_rows
from harness.leaderboard.browser import browser
from harness.leaderboard.cases import CaseView
from harness.leaderboard.plots import plot_files
from harness.leaderboard.tables import (
    PARTIAL_MARK,
    board_title,
    breakdown_column,
    breakdown_heading,
    cases_text,
    date_text,
    fmt,
)

_LOW = (247, 251, 255)
_HIGH = (8, 81, 156)


def _heat(value: float) -> str:
    """Background and text colour of a heatmap cell for a score in [0, 1] (clipped to it)."""
    value = min(max(value, 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * value) for lo, hi in zip(_LOW, _HIGH, strict=True))
    text = "#fff" if value > 0.55 else "#1b1f24"
    return f"background:#{r:02x}{g:02x}{b:02x};color:{text}"


def _num(value: float | None, extra: str = "", style: str = "") -> str:
    if value is None:
        return '<td class="missing" data-sort="" title="no figure">–</td>'
    style_attr = f' style="{style}"' if style else ""
    return f'<td class="num" data-sort="{value!r}" title="{value!r}"{style_attr}>{fmt(value)}{extra}</td>'


def _metric_td(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return _num(None)
    extra = ""
    if cell["ci"] is not None:
        extra = f'<br><small title="95% bootstrap CI over cases">[{fmt(cell["ci"][0])}, {fmt(cell["ci"][1])}]</small>'
    return _num(cell["value"], extra)


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{colour}" aria-hidden="true"></span>'


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
    if row["partial"]:
        badges.append(f'<span class="badge partial" title="scored only part of its data set">{PARTIAL_MARK}</span>')
    return " ".join(badges)


def _short(digest: str | None) -> str:
    if not digest:
        return "–"
    return f'<code title="{escape(digest)}">{escape(digest[:12])}…</code>'


def _plain(value: Any) -> str:
    """A settings object as words: ``mode greedy · max_new_tokens 512``; per-scope objects as ``scope: (...)``."""
    if isinstance(value, dict):
        return " · ".join(f"{k}: ({_plain(v)})" if isinstance(v, dict) else f"{k} {_plain(v)}"
                          for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return "–" if value is None else str(value)


def _link(href: str, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def _provenance_fields(provenance: dict[str, Any]) -> list[tuple[str, str]]:
    fields = []
    for key, value in provenance.items():
        if key == "git" and isinstance(value, dict):
            state = "dirty" if value.get("dirty") else "clean"
            text = f"{_short(value.get('commit'))} ({state})"
        elif key == "plugins" and isinstance(value, dict):
            text = escape(", ".join(f"{name} {version}" for name, version in sorted(value.items())))
        elif key == "wall_time_s" and isinstance(value, (int, float)):
            text = escape(f"{value:,.1f} s")
        else:
            text = escape(_plain(value))
        fields.append((key.replace("_", " "), text))
    return fields


def _result_fields(info: dict[str, Any], links: str) -> list[tuple[str, str]]:
    weights = info["weights"]
    weight_text = escape(_plain(weights.get("weights")))
    if weights.get("revision"):
        weight_text += f" @ {escape(str(weights['revision']))}"
    if weights.get("sha256"):
        weight_text += f" · sha256 {_short(weights['sha256'])}"
    predictions = info.get("predictions")
    fields = [
        ("result file", _link(f"{links}/{info['file']}", f"results/{info['file']}")),
        ("predictions", _link(f"{links}/{predictions}", f"results/{predictions}") if predictions else "not committed"),
        ("cases (n)", escape(_plain(info["n_cases"]))
         + (f" · <strong>{PARTIAL_MARK}</strong>" if info["partial"] else "")),
        ("date", escape(info["date"] or "–")),
        ("task version", escape(str(info["task_version"]))),
        ("weights", weight_text),
        ("data sha256", _short(info["data_sha256"])),
    ]
    if info.get("case_ids_sha256"):
        fields.append(("case ids sha256", _short(info["case_ids_sha256"])))
    fields.append(("decoding", escape(_plain(info["decoding"]))))
    citation = info.get("citation")
    if citation:
        title = escape(citation.get("title") or citation["url"])
        text = f'<a href="{escape(citation["url"])}" rel="noopener">{title}</a>'
        fields.append(("citation", text))
    return fields + _provenance_fields(info.get("provenance") or {})


def _details(row: dict[str, Any], links: str, colour: str) -> str:
    parts = [f"<dl><dt>encoder</dt><dd>{escape(_plain(row['encoder']))}</dd><dt>projector</dt>"
             f"<dd>{escape(_plain(row['projector']))}</dd><dt>llm</dt><dd>{escape(_plain(row['llm']))}</dd></dl>"]
    for task, info in sorted(row["results"].items()):
        body = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in _result_fields(info, links))
        parts.append(f'<h4>{escape(task)}</h4><dl class="result" data-task="{escape(task)}">{body}</dl>')
    title = f'{escape(row["title"])} ' if row["title"] != row["model"] else ""
    summary = f'{_swatch(colour)}{title}<code>{escape(row["model"])}</code>'
    return f'<details><summary>{summary}</summary>{"".join(parts)}</details>'


def _overall(board: dict[str, Any], colours: dict[str, str], links: str) -> str:
    head = ['<th data-type="num">#</th>', '<th data-type="text">model</th>', '<th data-type="text">source</th>',
            '<th data-type="num" title="number of cases scored">cases (n)</th>', '<th data-type="text">date</th>']
    lower = ' data-better="lower" title="lower is better"'
    head += [f'<th data-type="num" data-metric="{escape(m["key"])}"{"" if m["higher_is_better"] else lower}>'
             f'{escape(m["label"])}</th>' for m in board["metrics"]]
    body = []
    for rank, row in enumerate(board["rows"], start=1):
        cases = cases_text(row)
        cells = [f'<td class="num" data-sort="{rank}">{rank}</td>',
                 f'<td data-sort="{escape(row["model"])}">{_details(row, links, colours[row["model"]])}</td>',
                 f'<td data-sort="{escape("/".join(row["sources"]))}">{_badges(row)}</td>',
                 f'<td class="num cases" data-sort="{escape(cases if cases.isdigit() else "")}">{escape(cases)}</td>',
                 f'<td class="date">{escape(date_text(row))}</td>']
        cells += [_metric_td(row["metrics"].get(m["key"])) for m in board["metrics"]]
        partial = ' class="partial"' if row["partial"] else ""
        body.append(f'<tr data-model="{escape(row["model"])}"{partial}>{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="sortable overall" id="overall-{board["id"]}">'
            f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _heatmap(board: dict[str, Any], breakdown: dict[str, Any], colours: dict[str, str]) -> str:
    rows = breakdown_rows(board, breakdown)
    if not rows:
        return ""
    key = breakdown["key"]
    head = f'<th data-type="text">{escape(breakdown["parts"])}</th>' + "".join(
        f'<th data-type="num" title="{escape(r["title"])}">{_swatch(colours[r["model"]])}'
        f'{escape(breakdown_column(r, breakdown))}</th>' for r in rows)
    # A heatmap shades fractions; a breakdown with figures outside [0, 1] is shown unshaded.
    shade = all(0.0 <= v <= 1.0 for row in rows for v in row["breakdowns"][key].values() if v is not None)
    body = []
    for part in breakdown["names"]:
        cells = [f'<td data-sort="{escape(part)}">{escape(part)}</td>']
        for row in rows:
            value = row["breakdowns"][key].get(part)
            cells.append(_num(value, style=_heat(value) if value is not None and shade else ""))
        body.append(f'<tr data-part="{escape(part)}">{"".join(cells)}</tr>')
    return (f"<h3>{escape(breakdown_heading(breakdown))}</h3>"
            f'<div class="scroll"><table class="sortable heatmap {escape(key)}" id="{escape(key)}-{board["id"]}">'
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
    notes = [f"<li>{escape(note)}</li>" for note in board["task_notes"]]
    for row in board["rows"]:
        for task, info in sorted(row["results"].items()):
            text = " ".join(filter(None, [(info.get("citation") or {}).get("note"), info.get("notes")]))
            if text:
                notes.append(f"<li><code>{escape(row['model'])}</code> {escape(task)}: {escape(text)}</li>")
    return f'<ul class="notes">{"".join(notes)}</ul>' if notes else ""


def _board(board: dict[str, Any], colours: dict[str, str], views: dict[str, list[CaseView]], links: str) -> str:
    parts = [f'<section class="board" id="{board["id"]}" data-data="{escape(board["data"] + " · " + board["split"])}" '
             f'data-judge="{escape(board["judge"] or "")}">',
             f"<h2>{escape(board_title(board))}</h2>", _overall(board, colours, links)]
    parts += [_heatmap(board, breakdown, colours) for breakdown in board["breakdowns"]]
    parts += [_comparisons(board), _notes(board)]
    parts += [f'<img class="plot" src="{name}" alt="{escape(name)}">' for name in plot_files(board)]
    parts.append(browser(board, colours, views))
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def html(document: dict[str, Any], views: dict[str, list[CaseView]] | None = None, *, links: str = "results") -> str:
    """index.html. `views`: result file -> its per-case views (the browser); `links`: the results folder,
    relative to the page."""
    boot = document["bootstrap"]
    datasets = sorted({f"{b['data']} · {b['split']}" for b in document["boards"]})
    judges = sorted({b["judge"] for b in document["boards"] if b["judge"]})
    lead = (f"One board per data set, split and judge. Measured rows show a {boot['level']:.0%} bootstrap "
            f"interval over cases ({boot['resamples']} resamples, seed {boot['seed']}); reported rows are copied "
            "from the linked source. Figures to 4 significant digits (hover for the exact one); n is the number of "
            f"cases scored; {PARTIAL_MARK} marks a run on part of its data set; – is no figure. Click a column "
            "header to sort; click a model for its provenance.")
    template = resources.files("harness.leaderboard").joinpath("page.html").read_text(encoding="utf-8")
    colours = document["colours"]
    return (template.replace("__LEAD__", escape(lead))
            .replace("__DATA_OPTIONS__", "".join(f'<option value="{escape(d)}">{escape(d)}</option>' for d in datasets))
            .replace("__JUDGE_OPTIONS__", "".join(f'<option value="{escape(j)}">{escape(j)}</option>' for j in judges))
            .replace("__BOARDS__", "\n".join(_board(b, colours, views or {}, links) for b in document["boards"])))
