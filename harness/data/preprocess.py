"""`harness preprocess`: the reference preprocessing (Med3DVLM's flare_preprocess.py), faster.

Steps per case, as the reference: read (SimpleITK's array; .nii.gz decoded with ISA-L), keep the
first volume of a 4-D image, clip to [-160, 240] HU if the path contains "amos" else [-1350, 150],
min-max to [0, 1], resize to 128x256x256 with anti-aliasing (our separable resize, equal to
scikit-image's to ~1e-7; clip, min-max and resize fused in `window_resize`), float32 with a leading
channel axis, saved as .npy; the JSON's case_id becomes the .npy name.

Resumable: a case whose .npy exists with the expected shape and dtype is not redone. Atomic: each
file is written under a temporary name and renamed, so an interruption loses no finished case.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from harness.data.images import BadCase, read_volume
from harness.data.loading import read_records
from harness.data.validate import check_case_id
from harness.errors import HarnessError

REFERENCE_SIZE = (128, 256, 256)


def reference_window(path: str | Path) -> tuple[float, float]:
    """The reference script's rule: "amos" anywhere in the path means abdomen."""
    return (-160.0, 240.0) if "amos" in str(path) else (-1350.0, 150.0)


def output_name(case_id: str) -> str:
    """``amos_0008.nii.gz`` -> ``amos_0008.npy`` (sub-folders kept)."""
    for suffix in (".nii.gz", ".nii", ".mha", ".nrrd"):
        if case_id.endswith(suffix):
            return case_id[: -len(suffix)] + ".npy"
    return case_id + ".npy"


def process_volume(path: str | Path, size: Sequence[int] = REFERENCE_SIZE) -> np.ndarray:
    """One volume through the reference steps: float32 (1, D, H, W) in [0, 1]."""
    from harness.data.resize import window_resize

    return window_resize(read_volume(path), reference_window(path), size).unsqueeze(0).numpy()


def is_done(path: Path, size: Sequence[int], dtype: np.dtype) -> bool:
    """A finished output: a readable .npy of the expected shape and dtype."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return False
    return array.shape == (1, *size) and array.dtype == dtype


def save_atomic(array: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)


def _work(image: str, target: str, size: tuple[int, ...], float16: bool) -> str | None:
    """Worker: process one case. Returns None on success, else the one-line error."""
    try:
        array = process_volume(image, size)
        save_atomic(array.astype(np.float16) if float16 else array, Path(target))
        return None
    except BadCase as exc:
        return str(exc)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def preprocess(
    json_path: str | Path,
    images: str | Path,
    out_dir: str | Path,
    *,
    size: Sequence[int] = REFERENCE_SIZE,
    workers: int = 1,
    float16: bool = False,
    on_bad_case: str = "raise",
    progress: bool = True,
) -> tuple[Path, list[str]]:
    """Process every case of a FLARE JSON; returns (processed JSON path, skipped-case errors).

    The processed JSON, ``<out>/<json stem>_processed.json``, lists the cases done so far with
    their new case ids; with ``on_bad_case="skip"`` unreadable cases are left out of it and reported.
    """
    from tqdm import tqdm

    json_path, images, out_dir = Path(json_path), Path(images), Path(out_dir)
    records = read_records(json_path)
    size = tuple(int(s) for s in size)
    dtype = np.dtype(np.float16 if float16 else np.float32)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo, done, errors = [], set(), []
    for record in records:
        check_case_id(record["case_id"], source=str(json_path))
        target = out_dir / output_name(record["case_id"])
        if is_done(target, size, dtype):
            done.add(record["case_id"])
        else:
            todo.append((str(images / record["case_id"]), str(target), record["case_id"]))
    bar = tqdm(total=len(records), initial=len(done), desc="preprocess", unit="case", disable=not progress)
    try:
        if workers <= 1:
            for image, target, case_id in todo:
                _collect(_work(image, target, size, float16), case_id, done, errors, on_bad_case)
                bar.update()
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
                futures = {pool.submit(_work, image, target, size, float16): case_id for image, target, case_id in todo}
                for future in as_completed(futures):
                    _collect(future.result(), futures[future], done, errors, on_bad_case)
                    bar.update()
    finally:
        bar.close()
        processed = out_dir / f"{json_path.stem}_processed.json"
        rewritten = [{**r, "case_id": output_name(r["case_id"])} for r in records if r["case_id"] in done]
        tmp = processed.with_name(processed.name + ".tmp")
        tmp.write_text(json.dumps(rewritten, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, processed)
    return processed, errors


def _collect(error: str | None, case_id: str, done: set[str], errors: list[str], on_bad_case: str) -> None:
    if error is None:
        done.add(case_id)
        return
    if on_bad_case != "skip":
        raise HarnessError(error)
    errors.append(error)
