"""`harness preprocess` matches the reference steps (scikit-image anti-aliased resize) and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from harness.cli import main
from harness.data.resize import resize_volume
from harness_plugins.tasks.flare.preprocess import preprocess, process_volume

skimage_transform = pytest.importorskip("skimage.transform")


def reference(path: Path, size) -> np.ndarray:
    """The reference steps, plainly (SimpleITK read, 4-D first volume, clip by name, min-max, skimage)."""
    import SimpleITK as sitk

    vol = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    if vol.ndim == 4:
        vol = vol[0]
    vol = np.clip(vol, -160.0, 240.0) if "amos" in str(path) else np.clip(vol, -1350, 150)
    vol = (vol - vol.min()) / (vol.max() - vol.min())
    return skimage_transform.resize(vol, size, anti_aliasing=True).astype(np.float32)[None]


def ct(shape, seed: int, dtype=np.int16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    vol = np.where(((y - shape[1] / 2) ** 2 + (x - shape[2] / 2) ** 2) < (shape[1] / 3) ** 2, 40.0, -1000.0)
    vol += rng.normal(0, 60, shape) + 300 * (((z + y + x) % 11) == 0)
    return vol.astype(dtype)


@pytest.mark.parametrize(
    ("name", "shape", "spacing", "size", "four_d", "dtype"),
    [
        ("amos_0001.nii.gz", (20, 50, 44), (2.0, 0.7, 0.7), (16, 32, 32), False, np.int16),
        ("train_1_a_1.nii.gz", (9, 30, 40), (5.0, 1.0, 1.2), (16, 24, 24), False, np.float32),
        ("amos_0002.nii", (14, 33, 27), (1.0, 1.0, 1.0), (10, 20, 30), True, np.int16),
    ],
)
def test_matches_reference_steps(tmp_path: Path, name, shape, spacing, size, four_d, dtype) -> None:
    data = ct(shape, 1, dtype)
    stored = np.stack([data, data + 500]) if four_d else data
    axes = tuple(range(stored.ndim))[::-1]
    affine = np.diag([*spacing[::-1], 1.0])
    path = tmp_path / name
    nib.save(nib.Nifti1Image(np.ascontiguousarray(np.transpose(stored, axes)), affine), str(path))
    ours, ref = process_volume(path, size), reference(path, size)
    assert ours.shape == ref.shape == (1, *size) and ours.dtype == np.float32
    diff = np.abs(ours - ref)
    assert diff.max() <= 0.02 and diff.mean() <= 2e-3
    assert diff.max() < 1e-5  # in fact equal up to float32 rounding


def test_resize_equals_skimage_up_and_down() -> None:
    vol = np.random.default_rng(3).random((7, 40, 13))
    for size in [(3, 17, 29), (16, 8, 13), (1, 5, 2)]:
        ref = skimage_transform.resize(vol, size, anti_aliasing=True)
        assert np.abs(resize_volume(vol, size).numpy() - ref).max() < 1e-5


def make_set(tmp_path: Path, n: int = 3) -> tuple[Path, Path]:
    images = tmp_path / "imgs"
    images.mkdir()
    records = []
    for i in range(n):
        case_id = f"amos_{i:04d}.nii.gz"
        nib.save(nib.Nifti1Image(np.ascontiguousarray(ct((10, 20, 20), i).T), np.eye(4)), str(images / case_id))
        records.append({"case_id": case_id, "findings": {"liver": f"case {i}"}})
    json_path = tmp_path / "val.json"
    json_path.write_text(json.dumps(records))
    return json_path, images


def test_resumable_float16_and_processed_json(tmp_path: Path) -> None:
    json_path, images = make_set(tmp_path)
    out = tmp_path / "out"
    processed, errors = preprocess(json_path, images, out, size=(8, 16, 16), float16=True, progress=False)
    assert errors == []
    records = json.loads(processed.read_text())
    assert [r["case_id"] for r in records] == ["amos_0000.npy", "amos_0001.npy", "amos_0002.npy"]
    assert records[1]["findings"] == {"liver": "case 1"}
    array = np.load(out / "amos_0001.npy")
    assert array.dtype == np.float16 and array.shape == (1, 8, 16, 16)
    stamp = (out / "amos_0001.npy").stat().st_mtime_ns
    (out / "amos_0002.npy").unlink()
    preprocess(json_path, images, out, size=(8, 16, 16), float16=True, progress=False)
    assert (out / "amos_0001.npy").stat().st_mtime_ns == stamp  # done case skipped
    assert (out / "amos_0002.npy").exists()
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def _preprocess_cli(json_path: Path, images: Path, out: Path, *extra: str) -> int:
    """`harness preprocess` at a tiny size, through the CLI entry point; returns its exit status."""
    return main(
        [
            "preprocess",
            "--json",
            str(json_path),
            "--images",
            str(images),
            "--out",
            str(out),
            "--size",
            "8",
            "16",
            "16",
            *extra,
        ]
    )


def test_bad_case_stops_or_is_skipped(tmp_path: Path) -> None:
    json_path, images = make_set(tmp_path)
    (images / "amos_0001.nii.gz").write_bytes(b"corrupt")
    out = tmp_path / "out"
    assert _preprocess_cli(json_path, images, out) == 2
    processed, errors = preprocess(json_path, images, out, size=(8, 16, 16), on_bad_case="skip", progress=False)
    assert len(errors) == 1 and "amos_0001.nii.gz" in errors[0]
    assert [r["case_id"] for r in json.loads(processed.read_text())] == ["amos_0000.npy", "amos_0002.npy"]


@pytest.mark.slow
def test_cli_with_workers(tmp_path: Path) -> None:
    json_path, images = make_set(tmp_path, 4)
    out = tmp_path / "out"
    assert _preprocess_cli(json_path, images, out, "--workers", "2") == 0
    assert len(list(out.glob("*.npy"))) == 4


def test_a_data_set_split_is_processed_into_the_same_layout(tmp_path: Path) -> None:
    from harness.errors import HarnessError
    from harness_plugins.tasks.flare.demo import generate_demo
    from harness_plugins.tasks.flare.loading import load_data
    from harness_plugins.tasks.flare.preprocess import preprocess_data

    data = generate_demo(tmp_path / "flare", cases=4, seed=2)
    out = tmp_path / "processed"
    done = preprocess_data(data, out, split="train", size=(8, 16, 16), progress=False)
    assert sorted(p.relative_to(out).as_posix() for p, _ in done) == ["train/CT-AMOS-Tr.json", "train/CT-RATE-Tr .json"]
    assert all(errors == [] for _, errors in done)
    loaded = load_data(out, split="train")
    assert {c.image.parent.name for c in loaded.cases} == {"CT-AMOS-1290", "CT-RATE-2000"}
    assert all(c.image.suffix == ".npy" and c.image.is_file() for c in loaded.cases)
    assert [c.case_id for c in loaded.cases] == [r.case_id.replace(".nii.gz", ".npy")
                                                  for r in load_data(data, split="train").cases]
    with pytest.raises(HarnessError, match="is inside the data folder"):
        preprocess_data(data, data / "processed", split="train", size=(8, 16, 16), progress=False)
