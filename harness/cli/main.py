"""The root `harness` command: global options, error handling, and the subcommands.

Subcommand modules import heavy libraries (torch, transformers) inside their functions only, so
`harness list` starts fast.
"""

from __future__ import annotations

import sys

import click

from harness import __version__, plugins, trust
from harness.errors import HarnessError

EPILOG = """\b
Examples:
  harness list models
  harness show model med3dvlm
  harness data demo --out demo_data --cases 12 --seed 5
  harness run --model med3dvlm-demo --task flare_vqa --data demo --judge lexical
  harness run --model med3dvlm --task flare_report --data /data/FLARE-Task5 --out runs/med3dvlm
  harness score flare_vqa --predictions preds.csv --ground-truth validation.json
  harness -p my_plugin list encoders
"""


def _split_plugin_options(values: tuple[str, ...]) -> tuple[list[str], list[str]]:
    modules = [v for v in values if not v.startswith("no:")]
    blocked = [v[3:] for v in values if v.startswith("no:")]
    return modules, blocked


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, "--version", "-V", prog_name="harness")
@click.option(
    "-p",
    "plugin_options",
    multiple=True,
    metavar="MODULE",
    help="Load a plugin module by import path; `-p no:NAME` blocks an installed plugin. Repeatable.",
)
@click.option(trust.FLAG, "trust_remote_code", is_flag=True,
              help="Let checkpoints that ship Python code run it (off: such a checkpoint is refused).")
def cli(plugin_options: tuple[str, ...], trust_remote_code: bool) -> None:
    """Benchmark and fine-tune 3D medical vision-language models (FLARE 2025 Task 5)."""
    modules, blocked = _split_plugin_options(plugin_options)
    plugins.configure(modules=modules, blocked=blocked)
    trust.allow_remote_code(trust_remote_code)


def _add_commands() -> None:
    from harness.cli import data, finetune, inspect, leaderboard, preprocess, run, score

    for module in (inspect, run, score, finetune, preprocess, data, leaderboard):
        for command in module.COMMANDS:
            cli.add_command(command)


_add_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: user errors become one `error:` line and exit status 2."""
    try:
        code = cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except HarnessError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted: what was finished is saved; rerun the same command to resume", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
