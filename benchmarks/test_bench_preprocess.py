"""Preprocessing speed: the harness vs a plain reimplementation of the reference steps.

Run: OMP_NUM_THREADS=1 pytest benchmarks/test_bench_preprocess.py --benchmark-only
Compare the "e2e" pair (read + window + resize + save, one worker) and the "resize" pair.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from harness.data.resize import resize_volume
from harness_plugins.tasks.flare.preprocess import process_volume, save_atomic

skimage_transform = pytest.importorskip("skimage.transform")
SHAPE, SIZE = (120, 512, 512), (128, 256, 256)
"""An AMOS-like volume: FLARE CTs are 512 x 512 in-plane, so the in-plane anti-aliasing is what costs."""


@pytest.fixture(scope="module")
def volume_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    z, y, x = np.indices(SHAPE)
    vol = np.where((y - 256) ** 2 + (x - 256) ** 2 < 200**2, 40.0, -1000.0) + rng.normal(0, 30, SHAPE)
    image = sitk.GetImageFromArray(vol.astype(np.int16))
    image.SetSpacing((0.8, 0.8, 2.5))
    path = tmp_path_factory.mktemp("bench") / "amos_bench.nii.gz"
    sitk.WriteImage(image, str(path), useCompression=True)
    return path


@pytest.fixture(scope="module")
def normalised(volume_file: Path) -> np.ndarray:
    vol = np.clip(sitk.GetArrayFromImage(sitk.ReadImage(str(volume_file))), -160.0, 240.0)
    return (vol - vol.min()) / (vol.max() - vol.min())


def reference_steps(path: Path, out: Path) -> None:
    vol = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    if vol.ndim == 4:
        vol = vol[0]
    vol = np.clip(vol, -160.0, 240.0) if "amos" in str(path) else np.clip(vol, -1350, 150)
    vol = (vol - vol.min()) / (vol.max() - vol.min())
    np.save(out, skimage_transform.resize(vol, SIZE, anti_aliasing=True).astype(np.float32)[None])


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.benchmark(group="e2e")
def test_e2e_reference(benchmark, volume_file: Path, tmp_path: Path) -> None:
    benchmark.pedantic(reference_steps, args=(volume_file, tmp_path / "r.npy"), rounds=3, warmup_rounds=0)


@pytest.mark.benchmark(group="e2e")
def test_e2e_harness(benchmark, volume_file: Path, tmp_path: Path) -> None:
    def run() -> None:
        save_atomic(process_volume(volume_file, SIZE), tmp_path / "h.npy")

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="resize")
def test_resize_reference(benchmark, normalised: np.ndarray) -> None:
    benchmark.pedantic(
        skimage_transform.resize, args=(normalised, SIZE), kwargs={"anti_aliasing": True}, rounds=3, warmup_rounds=0
    )


@pytest.mark.benchmark(group="resize")
def test_resize_harness(benchmark, normalised: np.ndarray) -> None:
    vol = torch.from_numpy(normalised.astype(np.float32))
    benchmark.pedantic(resize_volume, args=(vol, SIZE), rounds=5, warmup_rounds=1)
