"""`harness list`, `harness plugins` and `harness show`: what is installed."""

from __future__ import annotations

import json

import click

from harness import plugins
from harness.registry import KINDS


@click.command("list")
@click.argument("kind", required=False, type=click.Choice(KINDS))
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(kind: str | None, pattern: str | None, as_json: bool) -> None:
    """List installed components, optionally of one KIND and matching a wildcard PATTERN.

    \b
    Examples:
      harness list
      harness list models 'med3dvlm*'
      harness list encoders --json
    """
    kinds = [kind] if kind else list(KINDS)
    table = {k: [e.to_json() for e in plugins.registry(k) if not pattern or e.name in
                 plugins.registry(k).names(pattern)] for k in kinds}
    if as_json:
        click.echo(json.dumps(table if not kind else table[kind], indent=2, sort_keys=True))
        return
    for k in kinds:
        click.secho(f"{k} ({len(table[k])})", bold=True)
        width = max((len(e["name"]) for e in table[k]), default=0)
        for e in table[k]:
            origin = e["distribution"] or e["plugin"]
            click.echo(f"  {e['name']:<{width}}  {e['description']}  [{origin}]")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """List plugins: distribution, version, hooks implemented and load errors."""
    infos = plugins.plugin_infos()
    if as_json:
        click.echo(json.dumps([i.to_json() for i in infos], indent=2, sort_keys=True))
        return
    for info in infos:
        status = "blocked" if info.blocked else ("FAILED" if info.error else "ok")
        dist = f"{info.distribution} {info.version}" if info.distribution else info.source
        click.echo(f"{info.name:<20} {status:<8} {dist:<28} {info.module}")
        if info.hooks:
            click.echo(f"{'':<20} hooks: {', '.join(info.hooks)}")
        if info.error:
            click.echo(f"{'':<20} error: {info.error}")


@click.command("show")
@click.argument("kind", type=click.Choice(["model", "encoder", "projector", "llm", "task", "judge"]))
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show_command(kind: str, name: str, as_json: bool) -> None:
    """Show one component; for a model, its card (parts, input size, weights, licence, paper).

    \b
    Example:
      harness show model med3dvlm
    """
    entry = plugins.registry(kind + "s").get(name)
    info = entry.to_json()
    if kind == "model":
        info["card"] = entry.create().card()
    if as_json:
        click.echo(json.dumps(info, indent=2, sort_keys=True, default=str))
        return
    click.secho(f"{kind} {name}", bold=True)
    for key, value in info.get("card", {}).items():
        click.echo(f"  {key:<13} {value}")
    for key in ("description", "plugin", "distribution", "version", "factory"):
        if kind != "model" or key != "description":
            click.echo(f"  {key:<13} {info[key]}")


COMMANDS = [list_command, plugins_command, show_command]
