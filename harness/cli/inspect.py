"""`harness list`, `harness plugins` and `harness show`: what is installed.

Listing reads registry metadata only: no factory is called and no heavy module is imported, except for
``datasets``, which asks each task for its named data sets (`harness.taskdata.dataset_rows`).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import click

from harness import plugins
from harness.errors import HarnessError
from harness.registry import KINDS

SHOW_KINDS = tuple(kind[:-1] for kind in KINDS)
DATASETS = "datasets"
"""Listed after the component kinds: the named data sets ``--data`` accepts (each task's `Task.datasets`)."""
LIST_KINDS = (*KINDS, DATASETS)


def resolve_kind(value: str, kinds: tuple[str, ...] = KINDS) -> str:
    """A kind as the user typed it (``model`` or ``models``) -> its canonical spelling in ``kinds``."""
    lowered = value.lower()
    for kind in kinds:
        if lowered in (kind, kind + "s", kind.rstrip("s")):
            return kind
    close = difflib.get_close_matches(lowered, kinds, n=1, cutoff=0.6)
    hint = f" did you mean '{close[0]}'?" if close else ""
    raise HarnessError(f"unknown component kind '{value}':{hint} kinds are: {', '.join(kinds)}")


def _rows(kind: str, pattern: str | None) -> list[dict[str, Any]]:
    if kind == DATASETS:
        import fnmatch

        from harness.taskdata import dataset_rows

        return [row for row in dataset_rows() if pattern is None or fnmatch.fnmatch(row["name"], pattern)]
    registry = plugins.registry(kind)
    wanted = set(registry.names(pattern))
    return [entry.to_json() for entry in registry if entry.name in wanted]


@click.command("list")
@click.argument("kind", required=False, metavar="[KIND]")
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(kind: str | None, pattern: str | None, as_json: bool) -> None:
    """List installed components, optionally of one KIND and matching a wildcard PATTERN.

    KIND is one of encoders, projectors, llms, tasks, models, judges, datasets. Nothing is built
    or downloaded: this reads what plugins registered and the named data sets' cards.

    \b
    Examples:
      harness list
      harness list models 'NAME*'
      harness list encoders --json
      harness list datasets
      harness -p my_plugin list judges
    """
    kinds = [resolve_kind(kind, LIST_KINDS)] if kind else list(LIST_KINDS)
    table = {k: _rows(k, pattern) for k in kinds}
    if as_json:
        click.echo(json.dumps(table[kinds[0]] if kind else table, indent=2, default=str))
        return
    for k in kinds:
        click.secho(f"{k} ({len(table[k])})", bold=True)
        if k == DATASETS:
            _echo_datasets(table[k])
            continue
        width = max((len(e["name"]) for e in table[k]), default=0)
        for e in table[k]:
            origin = e["distribution"] or e["plugin"]
            description = f"  {e['description']}" if e["description"] else ""
            click.echo(f"  {e['name']:<{width}}{description}  [{origin}]")
    failed = [info.name for info in plugins.plugin_infos() if info.error]
    if failed:
        click.echo(f"\n{len(failed)} plugin(s) failed to load: {', '.join(failed)} (see `harness plugins`)", err=True)


def _echo_datasets(rows: list[dict[str, Any]]) -> None:
    width = max((len(row["name"]) for row in rows), default=0)
    for row in rows:
        counts = ", ".join(f"{split} {row['cases'].get(split) if row['cases'].get(split) is not None else '?'}"
                           for split in row["splits"])
        click.echo(f"  {row['name']:<{width}}  {row['title']}")
        pad = " " * (width + 4)
        hub = row["hub_id"] or "(generated locally)"
        click.echo(f"{pad}hub: {hub}; splits: {counts} cases; licence: {row['licence']}")
        click.echo(f"{pad}{row['url']}" + (f"  ({row['notes']})" if row["notes"] else ""))
        click.echo(f"{pad}tasks: {', '.join(row['tasks'])}")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """List plugins: distribution, version, hooks implemented, what each registered, load errors.

    \b
    Examples:
      harness plugins
      harness plugins --json
      HARNESS_STRICT_PLUGINS=1 harness plugins     # fail on the first broken plugin
    """
    infos = plugins.plugin_infos()
    if as_json:
        click.echo(json.dumps([i.to_json() for i in infos], indent=2, sort_keys=True))
        return
    width = max((len(i.name) for i in infos), default=0)
    for info in infos:
        status = "blocked" if info.blocked else ("FAILED" if info.error else "ok")
        origin = f"{info.distribution} {info.version}" if info.distribution else f"({info.source})"
        click.echo(f"{info.name:<{width}}  {status:<7}  {origin:<28}  {info.module}")
        pad = " " * (width + 2)
        if info.hooks:
            click.echo(f"{pad}hooks: {', '.join(info.hooks)}")
        for kind, names in info.components.items():
            click.echo(f"{pad}{kind}: {', '.join(names)}")
        if info.error:
            click.echo(f"{pad}error: {info.error}")


@click.command("show")
@click.argument("kind", metavar="KIND")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show_command(kind: str, name: str, as_json: bool) -> None:
    """Show one component; for a model, its card (parts, input size, weights, licence, paper); for a task, its
    contract (data format, default data, metrics, decoding per scope, prompt styles, judge).

    KIND is one of encoder, projector, llm, task, model, judge.

    \b
    Examples:
      harness show model MODEL
      harness show encoder dcformer --json
    """
    kind = resolve_kind(kind, SHOW_KINDS)
    entry = plugins.registry(kind + "s").get(name)
    info = entry.to_json()
    if kind == "model":
        info["card"] = entry.create().card()
    if kind == "task":
        info["card"] = {"description": entry.description, **task_card(entry.create())}
    if as_json:
        click.echo(json.dumps(info, indent=2, sort_keys=True, default=str))
        return
    click.secho(f"{kind} {name}", bold=True)
    for key, value in info.get("card", {}).items():
        click.echo(f"  {key:<13} {value}")
    for key in ("description", "plugin", "distribution", "version", "factory"):
        if kind not in ("model", "task") or key != "description":
            click.echo(f"  {key:<13} {info[key]}")
    for key, value in info["metadata"].items():
        click.echo(f"  {key:<13} {value}")


def task_card(task: Any) -> dict[str, Any]:
    """What a task states through its contract (`harness.task.Task`), as `harness show task NAME` prints it."""
    def metric(spec: Any) -> str:
        direction = "higher is better" if spec.higher_is_better else "lower is better"
        kind = "breakdown" if spec.aggregate == "breakdown" else ("primary" if spec.primary else "mean")
        return f"{spec.key} ({spec.label}; {kind}, {direction})"

    return {
        "task version": task.version,
        "data format": task.data_format,
        "default data": task.default_data or "(none: pass --data)",
        "metrics": ", ".join(metric(spec) for spec in task.metrics),
        "decoding": "; ".join(f"{scope}: {_brief(options)}" for scope, options in task.decoding.items()),
        "reference": "; ".join(f"{scope}: {_brief(options)}" for scope, options in task.reference_decoding.items())
        or "-",
        "prompt styles": ", ".join(task.prompt_styles),
        "judge": task.default_judge if task.needs_judge else "(none)",
    }


def _brief(options: Any) -> str:
    return " ".join(f"{key}={value}" for key, value in options.items())


COMMANDS = [list_command, plugins_command, show_command]
