"""`harness preprocess`: a task's preprocessing of its data (`Task.preprocess`), e.g. images to .npy files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.cli.options import ON_BAD_CASE, verbosity


@click.command("preprocess")
@click.option("--data", default=None, help="A data set (folder, name or Hub id): every record file of --split.")
@click.option("--split", default=None, help="With --data: train, validation, test or all (default: validation).")
@click.option("--json", "json_path", default=None, type=click.Path(),
              help="One records file, for task formats that read one (instead of --data).")
@click.option("--images", default=None, type=click.Path(), help="With --json: the folder its case ids resolve against.")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Output folder.")
@click.option("--task", "task_name", default=None,
              help="The task whose preprocessing to run (default: the one task format installed, or --data's owner).")
@click.option("--size", nargs=3, type=int, default=(128, 256, 256), show_default=True, help="D H W.")
@click.option("--workers", type=int, default=1, show_default=True, help="Parallel worker processes.")
@click.option("--float16", is_flag=True, help="Store float16 (half the disk and load time).")
@click.option("--on-bad-case", type=ON_BAD_CASE, default="error", show_default=True,
              help="Stop at an unreadable image, or skip it and list it.")
def preprocess_command(
    data: str | None, split: str | None, json_path: str | None, images: str | None, out_dir: str,
    task_name: str | None, size: tuple[int, int, int], workers: int, float16: bool, on_bad_case: str,
) -> None:
    """Window, normalise and resize a data set's volumes into ready-to-load files (resumable: rerun to continue).

    \b
    Examples:
      harness preprocess --data DATA --split train --out DATA-processed
      harness preprocess --data ORG/DATASET --split validation --out processed/ --workers 4
      harness preprocess --json val.json --images imagesVal/ --out processed/
    """
    from harness.taskdata import task_for_data

    task = task_for_data(task=task_name, data=data)
    options = dict(size=size, workers=workers, float16=float16, on_bad_case=on_bad_case,
                   progress=verbosity() >= 0 and sys.stderr.isatty())  # progress bars only on a terminal
    given = {"split": split, "json": json_path, "images": images}
    results = task.preprocess(data, out=Path(out_dir), **options, **{k: v for k, v in given.items() if v is not None})
    for processed, errors in results:
        for error in errors:
            click.echo(f"skipped: {error}", err=True)
        click.echo(f"processed records: {processed}")


COMMANDS = [preprocess_command]
