"""Reading volumes (NIfTI with affine and spacing, 4-D, int16, float, .npy) and preparing model input."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from harness.data import BadCase, collate_images, image_loader, prepare_image, read_volume
from harness.errors import HarnessError
from harness_plugins.tasks.flare.records import Case

WINDOWS = {"abdomen": (-160.0, 240.0), "chest": (-1350.0, 150.0)}
"""The HU windows a model recipe declares (`Recipe.hu_windows`), as the Med3DVLM recipes do."""


def nifti(path: Path, data: np.ndarray, spacing=(1.5, 0.8, 0.8)) -> Path:
    """Write (D, H, W) data as NIfTI (nibabel stores x, y, z: transpose) with an affine."""
    affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
    affine[:3, 3] = (-100, 20, 5)
    nib.save(nib.Nifti1Image(np.ascontiguousarray(data.T), affine), str(path))
    return path


@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_read_nifti_in_zyx_order(tmp_path: Path, dtype, suffix: str) -> None:
    data = (np.arange(4 * 5 * 6).reshape(4, 5, 6) * 7 - 300).astype(dtype)
    out = read_volume(nifti(tmp_path / f"v{suffix}", data))
    assert out.shape == (4, 5, 6)
    np.testing.assert_allclose(out, data)


def test_read_4d_keeps_first_volume(tmp_path: Path) -> None:
    data = np.stack([np.full((3, 4, 5), 10, np.int16), np.full((3, 4, 5), 99, np.int16)])
    path = tmp_path / "v4.nii.gz"
    nib.save(nib.Nifti1Image(np.ascontiguousarray(np.transpose(data, (3, 2, 1, 0))), np.eye(4)), str(path))
    out = read_volume(path)
    assert out.shape == (3, 4, 5) and (out == 10).all()


def test_npy_is_memory_mapped(tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.zeros((1, 2, 3, 4), np.float16))
    assert isinstance(read_volume(tmp_path / "p.npy"), np.memmap)


def test_corrupt_and_truncated_files_name_the_file(tmp_path: Path) -> None:
    good = nifti(tmp_path / "g.nii.gz", np.zeros((8, 8, 8), np.int16))
    truncated = tmp_path / "t.nii.gz"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    garbage = tmp_path / "c.nii.gz"
    garbage.write_bytes(b"not a nifti at all" * 10)
    np.save(tmp_path / "n.npy", np.zeros((1, 8, 8, 8), np.float32))
    npy = tmp_path / "n.npy"
    npy.write_bytes(npy.read_bytes()[:200])
    for path in (truncated, garbage, npy, tmp_path / "missing.nii.gz"):
        with pytest.raises(BadCase) as info:
            read_volume(path)
        message = str(info.value)
        assert str(path) in message and "\n" not in message and isinstance(info.value, HarnessError)


def test_prepare_image_windows_by_domain(tmp_path: Path) -> None:
    data = np.full((8, 16, 16), -1000, np.int16)
    data[:, 4:12, 4:12] = 40
    path = nifti(tmp_path / "amos_1.nii.gz", data)
    abdomen = prepare_image(path, input_size=(8, 16, 16), hu_windows=WINDOWS, domain="abdomen")
    chest = prepare_image(path, input_size=(8, 16, 16), hu_windows=WINDOWS, domain="chest")
    assert abdomen.shape == (1, 8, 16, 16) and abdomen.dtype == torch.float32
    assert abdomen.max() == 1.0 and abdomen.min() == 0.0 and chest.max() == 1.0
    small = prepare_image(path, input_size=(4, 8, 8), hu_windows={"only": (-160.0, 240.0)})  # no domain: the only one
    assert small.shape == (1, 4, 8, 8) and float(small.min()) >= 0.0 and float(small.max()) <= 1.0


def test_processed_npy_resized_with_monai(tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.full((1, 8, 8, 8), 0.25, np.float16))
    out = prepare_image(tmp_path / "p.npy", input_size=(4, 4, 4))
    assert out.shape == (1, 4, 4, 4) and torch.allclose(out, torch.full_like(out, 0.25))


def test_loader_batches_and_skips_bad_cases(tmp_path: Path) -> None:
    nifti(tmp_path / "amos_a.nii.gz", np.random.default_rng(0).integers(-200, 300, (6, 10, 10)).astype(np.int16))
    (tmp_path / "amos_b.nii.gz").write_bytes(b"broken")
    cases = [
        Case("amos_a.nii.gz", image=tmp_path / "amos_a.nii.gz"),
        Case("amos_b.nii.gz", image=tmp_path / "amos_b.nii.gz"),
        Case("amos_c.nii.gz", image=tmp_path / "amos_a.nii.gz"),
    ]
    batches = list(image_loader(cases, input_size=(4, 8, 8), hu_windows=WINDOWS, batch_size=3, on_bad_case="skip",
                                augment=True))
    assert batches[0]["images"].shape == (2, 1, 4, 8, 8)
    assert batches[0]["case_ids"] == ["amos_a.nii.gz", "amos_c.nii.gz"]
    assert [b[0] for b in batches[0]["bad"]] == ["amos_b.nii.gz"]
    with pytest.raises(BadCase, match="case amos_b.nii.gz"):
        list(image_loader(cases, input_size=(4, 8, 8), hu_windows=WINDOWS, batch_size=3))
    assert collate_images([{"case_id": "x", "index": 0, "error": "e"}])["images"] is None


@pytest.mark.slow
def test_loader_with_workers(tmp_path: Path) -> None:
    nifti(tmp_path / "amos_a.nii.gz", np.zeros((6, 10, 10), np.int16))
    cases = [Case(f"c{i}", image=tmp_path / "amos_a.nii.gz") for i in range(4)]
    batches = list(image_loader(cases, input_size=(4, 8, 8), hu_windows=WINDOWS, batch_size=2, workers=2))
    assert [b["case_ids"] for b in batches] == [["c0", "c1"], ["c2", "c3"]]


@pytest.mark.parametrize(
    ("dtype", "shape", "scaling", "flip"),
    [
        (np.int16, (7, 9, 5), None, False),
        (np.float32, (7, 9, 5), None, True),
        (np.int16, (7, 9, 5, 3), None, False),
        (np.int16, (7, 9, 5), (2.0, -1024.0), False),
        (np.uint8, (7, 9, 5), (0.5, 3.0), False),
        (np.dtype(">i2"), (6, 5, 4), None, False),
    ],
)
def test_fast_nifti_gz_reader_equals_simpleitk(tmp_path: Path, dtype, shape, scaling, flip) -> None:
    """The ISA-L .nii.gz path gives SimpleITK's array: (z, y, x), first volume, scaling, byte order."""
    import SimpleITK as sitk

    from harness.data.images import _read_nifti_gz

    pytest.importorskip("isal")
    data = np.random.default_rng(0).normal(0, 100, shape).clip(0 if dtype == np.uint8 else None).astype(dtype)
    image = nib.Nifti1Image(data, np.diag([-0.7, 0.8, -2.5, 1.0]) if flip else np.eye(4))
    image.header.set_data_dtype(np.dtype(dtype))
    if scaling:
        image.header.set_slope_inter(*scaling)
    path = tmp_path / "v.nii.gz"
    nib.save(image, str(path))
    ours = _read_nifti_gz(path)
    expected = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    expected = expected[0] if expected.ndim == 4 else expected
    assert ours is not None and ours.dtype == expected.dtype and ours.dtype.isnative
    np.testing.assert_array_equal(ours, expected)


def test_fast_reader_checks_the_gzip_trailer(tmp_path: Path) -> None:
    good = nifti(tmp_path / "g.nii.gz", np.zeros((8, 8, 8), np.int16))
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(good.read_bytes()[:-4])  # all voxels decode; only the length field is missing
    with pytest.raises(BadCase, match="cut.nii.gz"):
        read_volume(cut)


def test_window_resize_equals_normalise_then_resize() -> None:
    from harness.data.images import window_normalise
    from harness.data.resize import resize_volume, window_resize

    raw = np.random.default_rng(1).normal(0, 300, (9, 30, 22)).astype(np.int16)
    for size in [(4, 15, 11), (12, 40, 7)]:
        fused = window_resize(raw, (-160.0, 240.0), size)
        plain = resize_volume(window_normalise(raw, (-160.0, 240.0)), size)
        assert torch.allclose(fused, plain, atol=1e-6)
    assert (window_resize(np.full((4, 6, 6), 500, np.int16), (-160.0, 240.0), (2, 3, 3)) == 0).all()


def test_a_raw_image_without_a_domain_needs_exactly_one_window(tmp_path: Path) -> None:
    from harness.errors import HarnessError

    path = nifti(tmp_path / "case.nii.gz", np.full((8, 16, 16), 40, np.int16))
    for windows in (None, WINDOWS):
        with pytest.raises(HarnessError, match="without a domain needs exactly one HU window") as info:
            prepare_image(path, input_size=(4, 8, 8), hu_windows=windows)
        assert "\n" not in str(info.value)
    with pytest.raises(HarnessError, match="no HU window for domain 'head'.*known: abdomen"):
        prepare_image(path, input_size=(4, 8, 8), hu_windows={"abdomen": (-160.0, 240.0)}, domain="head")
