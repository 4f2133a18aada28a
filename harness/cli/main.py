"""The root `harness` command: global options, error handling, and the subcommands.

Subcommand modules import heavy libraries (torch, transformers) inside their functions only, so
`harness list` starts fast. Every error a user can fix ends as one ``error:`` line and exit status 2:
`HarnessError`, a bad option (click's usage errors), and a file system error (a full disk, a read-only
folder), which names the path.
"""

from __future__ import annotations

import errno
import os
import sys
import warnings

import click

from harness import __version__, plugins, trust
from harness.errors import HarnessError

EPILOG = """\b
Examples:
  harness list models
  harness list tasks
  harness show model MODEL
  harness data demo --out demo_data --cases 12 --seed 5
  harness run --model MODEL --task TASK --data demo --judge lexical
  harness run --model MODEL --task TASK --data DATA --out runs/MODEL
  harness score TASK --predictions preds.csv --ground-truth DATA
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
@click.option("-v", "--verbose", count=True, help="More output: library warnings and info logs. Repeatable.")
@click.option("-q", "--quiet", count=True, help="Less output: no progress bars, errors only.")
@click.option(trust.FLAG, "trust_remote_code", is_flag=True,
              help="Let checkpoints that ship Python code run it (off: such a checkpoint is refused).")
@click.pass_context
def cli(ctx: click.Context, plugin_options: tuple[str, ...], verbose: int, quiet: int, trust_remote_code: bool) -> None:
    """Benchmark and fine-tune 3D medical vision-language models on the installed tasks."""
    ctx.obj = {"verbosity": verbose - quiet}
    configure_output(verbose - quiet, tty=sys.stderr.isatty())
    modules, blocked = _split_plugin_options(plugin_options)
    plugins.configure(modules=modules, blocked=blocked)
    trust.allow_remote_code(trust_remote_code)


KNOWN_WARNINGS = (
    (FutureWarning, r".*is_gradient_checkpointing.*"),
    (FutureWarning, r".*`torch_dtype` is deprecated.*"),
)
"""Deprecation notices from libraries that a user cannot act on; shown again with -v."""


def configure_output(verbosity: int, *, tty: bool) -> None:
    """Library warnings and progress bars for this verbosity: known notices hidden unless -v, progress bars
    only on a terminal and never with -q, and with -q only errors from transformers."""
    if verbosity <= 0:
        for category, message in KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
    if verbosity < 0 or not tty:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")
    if verbosity < 0:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    elif verbosity > 0:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "info")


def os_error_message(exc: OSError) -> str:
    """One line for a file system error: the path, what happened, and what to do."""
    path = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"cannot write {path}: {reason}; what was written before is kept: free space and rerun the same "
                f"command to resume")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"cannot write {path}: {reason}; choose a writable folder (--out, --cache-dir, or HARNESS_CACHE "
                f"for the cache) and rerun")
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return f"cannot create the folder {path}: a file is in the way ({reason}); pass a folder path or move the file"
    return f"{path}: {reason}"


def _add_commands() -> None:
    from harness.cli import bench, data, finetune, inspect, leaderboard, preprocess, push, run, score

    for module in (inspect, run, score, finetune, push, preprocess, data, leaderboard, bench):
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
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "harness"
        click.echo(f"error: {exc.format_message()} (see {command} --help)", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except HarnessError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except OSError as exc:
        click.echo(f"error: {os_error_message(exc)}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted: what was finished is saved; rerun the same command to resume", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
