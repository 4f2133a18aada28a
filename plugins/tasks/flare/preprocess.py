"""`harness preprocess`: the reference preprocessing (Med3DVLM's flare_preprocess.py), faster.

Steps per case, as the reference: read (SimpleITK's array; .nii.gz decoded with ISA-L), keep the
first volume of a 4-D image, clip to [-160, 240] HU if the path contains "amos" else [-1350, 150]
(`windows.reference_window`), min-max to [0, 1], resize to 128x256x256 with anti-aliasing (our separable
resize, equal to scikit-image's to ~1e-7; clip, min-max and resize fused in `window_resize`), float32 with
a leading channel axis, saved as .npy; the JSON's case_id becomes the .npy name (`output_name`). A volume
that is not a finite, real 3-D volume is a bad case (`harness.data.images.check_volume`), never an all-zero
output.

Two forms: one record file (`preprocess`: ``<out>/<stem>_processed.json`` and the .npy files), or
every record file of a data set's split (`preprocess_data`: a processed copy in the same layout, so
``--data OUT`` loads it like the original).

Resumable: a case whose .npy exists with the expected shape and dtype is not redone. Atomic: each
file is written under a temporary name and renamed, so an interruption or a full disk loses no
finished case. Exclusive: a lock in the output folder refuses a second preprocess into it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from harness.atomic import write_text_atomic
from harness.data.images import BadCase, check_on_bad_case, check_volume, read_volume
from harness.errors import HarnessError
from harness_plugins.tasks.flare.layout import find_image_root
from harness_plugins.tasks.flare.loading import read_records, resolve_data
from harness_plugins.tasks.flare.records import relative_case_id
from harness_plugins.tasks.flare.validate import check_case_id, check_inside
from harness_plugins.tasks.flare.windows import reference_window

REFERENCE_SIZE = (128, 256, 256)
LOCK_NAME = ".harness-preprocess.lock"


def output_name(case_id: str) -> str:
    """``amos_0008.nii.gz`` -> ``amos_0008.npy``: the case id without its extension (`records.relative_case_id`,
    sub-folders kept), as .npy."""
    return relative_case_id(case_id) + ".npy"


def process_volume(path: str | Path, size: Sequence[int] = REFERENCE_SIZE) -> np.ndarray:
    """One volume through the reference steps: float32 (1, D, H, W) in [0, 1]."""
    from harness.data.resize import window_resize

    volume = read_volume(path)
    check_volume(volume, path)  # a raw volume, whatever its suffix
    return window_resize(volume, reference_window(path), size).unsqueeze(0).numpy()


def is_done(path: Path, size: Sequence[int], dtype: np.dtype) -> bool:
    """A finished output: a readable .npy of the expected shape and dtype."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return False
    return array.shape == (1, *size) and array.dtype == dtype


def write_error(path: Path, exc: OSError) -> HarnessError:
    """One line for an output that cannot be written (full disk, read-only folder, ...)."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return HarnessError(
        f"cannot write {path} ({reason}); free space or make the folder writable (or pass another --out), "
        "then rerun the same command to resume: finished files are kept"
    )


def save_atomic(array: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.save(handle, array)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _work(image: str, target: str, size: tuple[int, ...], float16: bool) -> tuple[str, str] | None:
    """Worker: process one case. None on success, else ("bad", error) or ("write", error)."""
    try:
        array = process_volume(image, size)
    except BadCase as exc:
        return "bad", str(exc)
    try:
        save_atomic(array.astype(np.float16) if float16 else array, Path(target))
    except OSError as exc:
        return "write", str(write_error(Path(target), exc))
    return None


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


@dataclass(frozen=True)
class Options:
    size: tuple[int, ...]
    workers: int
    float16: bool
    on_bad_case: str
    progress: bool


def _options(size: Sequence[int], workers: int, float16: bool, on_bad_case: str, progress: bool) -> Options:
    size = tuple(int(s) for s in size)
    if len(size) != 3 or any(s <= 0 for s in size):
        raise HarnessError(f"--size {' '.join(map(str, size))}: give D H W, each a positive number of voxels")
    if workers < 1:
        raise HarnessError(f"--workers {workers}: give a positive number of worker processes")
    check_on_bad_case(on_bad_case)
    return Options(size, workers, float16, on_bad_case, progress)


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Create ``out_dir`` and hold its exclusive preprocessing lock; a second holder is refused."""
    from filelock import FileLock, Timeout

    if out_dir.exists() and not out_dir.is_dir():
        raise HarnessError(f"--out {out_dir}: is a file; pass a folder (new or one to resume)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(out_dir, exc) from None
    lock = FileLock(out_dir / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise HarnessError(
            f"--out {out_dir}: another harness preprocess is writing into it; wait for it to finish, "
            "or pass another --out"
        ) from None
    except OSError as exc:
        raise write_error(out_dir / LOCK_NAME, exc) from None
    try:
        yield
    finally:
        lock.release()


def preprocess(
    json_path: str | Path,
    images: str | Path,
    out_dir: str | Path,
    *,
    size: Sequence[int] = REFERENCE_SIZE,
    workers: int = 1,
    float16: bool = False,
    on_bad_case: str = "error",
    progress: bool = True,
) -> tuple[Path, list[str]]:
    """Process every case of a FLARE JSON; returns (processed JSON path, skipped-case errors).

    The processed JSON, ``<out>/<json stem>_processed.json``, lists the cases done so far with
    their new case ids; with ``on_bad_case="skip"`` unreadable cases are left out of it and reported.
    """
    json_path, images, out_dir = Path(json_path), Path(images), Path(out_dir)
    options = _options(size, workers, float16, on_bad_case, progress)
    records = read_records(json_path)  # a bad records file or image folder is refused before --out is created
    if not images.is_dir():
        state = "is not a folder" if images.exists() else "does not exist"
        raise HarnessError(f"--images {images}: {state}; pass the folder the case ids of {json_path} resolve against")
    with output_lock(out_dir):
        target = out_dir / f"{json_path.stem}_processed.json"
        return target, _process_file(json_path, records, images, out_dir, target, options)


def preprocess_data(
    data: str | Path,
    out_dir: str | Path,
    *,
    split: str | None = None,
    size: Sequence[int] = REFERENCE_SIZE,
    workers: int = 1,
    float16: bool = False,
    on_bad_case: str = "error",
    progress: bool = True,
) -> list[tuple[Path, list[str]]]:
    """Process every record file of ``data``'s split, each with its own image root, into a copy of the
    layout under ``out_dir`` (record files keep their names and paths, with .npy case ids; images go to
    the matching folders). Returns (processed record file, skipped-case errors) per record file."""
    out_dir = Path(out_dir)
    options = _options(size, workers, float16, on_bad_case, progress)
    source = resolve_data(data, split=split)
    if source.root is not None:
        inside = out_dir.resolve().is_relative_to(source.root.resolve())
        if inside:
            raise HarnessError(
                f"--out {out_dir}: is inside the data folder {source.root} (its record files would become part of "
                "the data); pass a folder outside it"
            )
    done = []
    with output_lock(out_dir):
        for json_path, root in source.files:
            records = read_records(json_path)
            if root is None:
                root = find_image_root(json_path, records[0]["case_id"] if records else None)
            base = source.root if source.root is not None else json_path.parent
            rel_json = json_path.relative_to(base) if json_path.is_relative_to(base) else Path(json_path.name)
            rel_root = root.relative_to(base) if root.is_relative_to(base) else rel_json.parent / root.name
            target = out_dir / rel_json
            outcome = _process_file(json_path, records, root, out_dir / rel_root, target, options, source.container)
            done.append((target, outcome))
    return done


def _process_file(json_path: Path, records: list[dict], images: Path, image_out: Path, target: Path,
                  options: Options, container: Path | None = None) -> list[str]:
    """Process one record file's cases into ``image_out``; write the processed records to ``target``.
    Image paths, symbolic links resolved, must stay inside ``container`` (default ``images``)."""
    from tqdm import tqdm

    from harness.data.hub import cache_storage_of

    container = container or cache_storage_of(images)
    dtype = np.dtype(np.float16 if options.float16 else np.float32)
    todo, done, errors = [], set(), []
    for record in records:
        case_id = record["case_id"]
        check_case_id(case_id, source=str(json_path))
        check_inside(images / case_id, container or images, source=str(json_path), case_id=case_id)
        out = image_out / output_name(case_id)
        if is_done(out, options.size, dtype):
            done.add(case_id)
        else:
            todo.append((str(images / case_id), str(out), case_id))
    bar = tqdm(total=len(records), initial=len(done), desc=json_path.name, unit="case",
               disable=None if options.progress else True)  # None: only on a terminal
    args = (options.size, options.float16)
    try:
        if options.workers <= 1:
            for image, out, case_id in todo:
                _collect(_work(image, out, *args), case_id, done, errors, options.on_bad_case)
                bar.update()
        else:
            context = get_context("spawn")
            with ProcessPoolExecutor(options.workers, mp_context=context, initializer=_init_worker) as pool:
                futures = {pool.submit(_work, image, out, *args): case_id for image, out, case_id in todo}
                try:
                    for future in as_completed(futures):
                        _collect(future.result(), futures[future], done, errors, options.on_bad_case)
                        bar.update()
                except BaseException:
                    pool.shutdown(cancel_futures=True)  # stop now: do not process the rest first
                    raise
    finally:
        bar.close()
        rewritten = [{**r, "case_id": output_name(r["case_id"])} for r in records if r["case_id"] in done]
        try:
            write_text_atomic(target, json.dumps(rewritten, indent=2) + "\n")
        except OSError as exc:
            raise write_error(target, exc) from None
    return errors


def _collect(outcome: tuple[str, str] | None, case_id: str, done: set[str], errors: list[str],
             on_bad_case: str) -> None:
    if outcome is None:
        done.add(case_id)
        return
    kind, error = outcome
    if kind == "write" or on_bad_case != "skip":
        raise HarnessError(error)
    errors.append(error)
