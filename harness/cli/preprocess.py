"""`harness preprocess`: the reference preprocessing, faster (see harness.data.preprocess)."""

from __future__ import annotations

import click


@click.command("preprocess")
@click.option("--json", "json_path", required=True, type=click.Path(), help="FLARE JSON records file.")
@click.option("--images", required=True, type=click.Path(), help="Folder the case ids resolve against.")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Output folder (.npy files + JSON).")
@click.option("--size", nargs=3, type=int, default=(128, 256, 256), show_default=True, help="D H W.")
@click.option("--workers", type=int, default=1, show_default=True, help="Parallel worker processes.")
@click.option("--float16", is_flag=True, help="Store float16 (half the disk and load time).")
@click.option(
    "--on-bad-case",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="Stop at an unreadable image, or skip it and list it.",
)
def preprocess_command(
    json_path: str, images: str, out_dir: str, size: tuple[int, int, int], workers: int, float16: bool, on_bad_case: str
) -> None:
    """Window, normalise and resize FLARE volumes into .npy files (resumable: rerun to continue)."""
    from harness.data.preprocess import preprocess

    processed, errors = preprocess(
        json_path, images, out_dir, size=size, workers=workers, float16=float16, on_bad_case=on_bad_case
    )
    for error in errors:
        click.echo(f"skipped: {error}", err=True)
    click.echo(f"processed records: {processed}")


COMMANDS = [preprocess_command]
