"""`harness preprocess`: the reference preprocessing, faster (issue 4)."""

from __future__ import annotations

import click

from harness.errors import HarnessError


@click.command("preprocess")
@click.option("--json", "json_path", required=True, type=click.Path())
@click.option("--images", required=True, type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path())
@click.option("--size", nargs=3, type=int, default=(128, 256, 256), show_default=True)
@click.option("--workers", type=int, default=1, show_default=True)
def preprocess_command(**options: object) -> None:
    """Window, normalise and resize FLARE volumes into .npy files."""
    raise HarnessError("`harness preprocess` is not implemented yet")


COMMANDS = [preprocess_command]
