"""`harness preprocess`: the reference preprocessing, faster (see harness_plugins.tasks.flare.preprocess)."""

from __future__ import annotations

import sys

import click

from harness.cli.options import ON_BAD_CASE, verbosity
from harness.errors import HarnessError


@click.command("preprocess")
@click.option("--data", default=None, help="A data set (folder, name or Hub id): every record file of --split.")
@click.option("--split", default=None, help="With --data: train, validation, test or all (default: validation).")
@click.option("--json", "json_path", default=None, type=click.Path(), help="One FLARE JSON records file.")
@click.option("--images", default=None, type=click.Path(), help="With --json: the folder its case ids resolve against.")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Output folder (.npy files + JSON).")
@click.option("--size", nargs=3, type=int, default=(128, 256, 256), show_default=True, help="D H W.")
@click.option("--workers", type=int, default=1, show_default=True, help="Parallel worker processes.")
@click.option("--float16", is_flag=True, help="Store float16 (half the disk and load time).")
@click.option("--on-bad-case", type=ON_BAD_CASE, default="error", show_default=True,
              help="Stop at an unreadable image, or skip it and list it.")
def preprocess_command(
    data: str | None, split: str | None, json_path: str | None, images: str | None, out_dir: str,
    size: tuple[int, int, int], workers: int, float16: bool, on_bad_case: str,
) -> None:
    """Window, normalise and resize FLARE volumes into .npy files (resumable: rerun to continue).

    \b
    Examples:
      harness preprocess --data /data/FLARE --split train --out /data/FLARE-processed
      harness preprocess --data FLARE-MedFM/FLARE26-MLLM-3D --split validation --out processed/ --workers 4
      harness preprocess --json val.json --images imagesVal/ --out processed/
    """
    from harness_plugins.tasks.flare.preprocess import preprocess, preprocess_data

    progress = verbosity() >= 0 and sys.stderr.isatty()  # progress bars only on a terminal
    options = dict(size=size, workers=workers, float16=float16, on_bad_case=on_bad_case, progress=progress)
    if data is not None:
        if json_path is not None or images is not None:
            raise HarnessError("--data and --json/--images: pass one of them (a data set, or one records file)")
        results = preprocess_data(data, out_dir, split=split, **options)
    else:
        if json_path is None or images is None:
            raise HarnessError("pass --data DATA [--split S], or --json FILE with --images DIR")
        if split is not None:
            raise HarnessError("--split goes with --data; with --json the file itself is the split")
        results = [preprocess(json_path, images, out_dir, **options)]
    for processed, errors in results:
        for error in errors:
            click.echo(f"skipped: {error}", err=True)
        click.echo(f"processed records: {processed}")


COMMANDS = [preprocess_command]
