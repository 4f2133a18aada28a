"""Bad data inputs (issues 15 and 16): one `error:` line naming the input, exit 2, no traceback, nothing
written before changed; bad images are bad cases, never silently wrong model input."""

from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from badinput import assert_one_line_error, run_cli, snapshot

from harness.cli import main
from harness.data import BadCase, prepare_image
from harness_plugins.tasks.flare.preprocess import LOCK_NAME, preprocess

SIZE = ("--size", "4", "8", "8")


def cli(capsys: pytest.CaptureFixture, *args: str) -> subprocess.CompletedProcess:
    """`harness ARGS` in this process (fast), as a CompletedProcess for `assert_one_line_error`."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def records(path: Path, *case_ids: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{"case_id": c, "findings": {"liver": "Normal."}} for c in case_ids]))
    return path


def nifti(path: Path, data: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.ascontiguousarray(data.T), np.eye(4)), str(path))
    return path


def ct(shape=(6, 10, 10), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 200, shape).astype(np.float32)


def structured() -> np.ndarray:
    return np.zeros((4, 4, 4), dtype=[("a", "f4"), ("b", "f4")])


# Arrays that are not a finite, real 3-D volume: (label, array, words the error must contain).
RAW_BAD = [
    ("two-channels", np.zeros((2, 4, 4, 4), np.float32), "got shape (2, 4, 4, 4)"),
    ("2d", np.zeros((8, 8), np.float32), "got shape (8, 8)"),
    ("complex", np.zeros((4, 4, 4), np.complex64), "complex voxels"),
    ("string", np.full((4, 4, 4), "x"), "are not real numbers"),
    ("structured", structured(), "structured voxels"),
    ("bool", np.zeros((4, 4, 4), bool), "are not real numbers"),
    ("zero-size", np.zeros((0, 4, 4), np.float32), "empty volume"),
    ("nan", np.where(np.eye(4, dtype=bool)[None].repeat(4, 0), np.nan, 1.0).astype(np.float32), "NaN or infinite"),
    ("inf", np.full((4, 4, 4), np.inf, np.float32), "NaN or infinite"),
]
PROCESSED_BAD = [
    *RAW_BAD[:2],
    ("three-channels", np.zeros((3, 4, 4, 4), np.float32), "got shape (3, 4, 4, 4)"),
    *RAW_BAD[2:],
    ("all-nan", np.full((1, 4, 4, 4), np.nan, np.float32), "64 of 64 voxels are NaN or infinite"),
    ("hu-not-processed", np.full((1, 4, 4, 4), 300.0, np.float32), "outside [0, 1]"),
    ("int64-out-of-range", np.full((1, 4, 4, 4), 7, np.int64), "outside [0, 1]"),
]


@pytest.mark.parametrize(("label", "array", "words"), PROCESSED_BAD, ids=[c[0] for c in PROCESSED_BAD])
def test_run_image_preparation_refuses_arrays_that_are_not_a_volume(tmp_path, label, array, words) -> None:
    path = tmp_path / f"{label}.npy"
    np.save(path, array)
    with pytest.raises(BadCase) as info:
        prepare_image(path, input_size=(4, 8, 8))
    message = str(info.value)
    assert words in message and str(path) in message and "\n" not in message
    assert "--on-bad-case skip" in message


def test_nan_voxel_in_a_nifti_is_a_bad_case_not_an_all_zero_input(tmp_path: Path) -> None:
    data = ct()
    data[2, 3, 4] = np.nan
    path = nifti(tmp_path / "amos_0001.nii.gz", data)
    with pytest.raises(BadCase, match=r"1 of 600 voxels are NaN or infinite"):
        prepare_image(path, input_size=(4, 8, 8), domain="abdomen")


@pytest.mark.parametrize(("label", "array"), [
    ("int64", np.arange(64, dtype=np.int64).reshape(4, 4, 4) * 40 - 1000),
    ("other-size", np.random.default_rng(0).random((1, 5, 6, 7)).astype(np.float32)),
])
def test_arrays_that_work_keep_working(tmp_path: Path, label: str, array: np.ndarray) -> None:
    path = tmp_path / f"{label}.npy"
    np.save(path, array if label != "int64" else np.clip(array, 0, 1))
    image = prepare_image(path, input_size=(4, 8, 8))
    assert image.shape == (1, 4, 8, 8) and bool(image.isfinite().all())


@pytest.mark.parametrize(("label", "array", "words"), RAW_BAD, ids=[c[0] for c in RAW_BAD])
def test_preprocess_refuses_arrays_that_are_not_a_volume(tmp_path, capsys, label, array, words) -> None:
    images = tmp_path / "images"
    images.mkdir()
    np.save(images / f"amos_{label}.npy", array)
    json_path = records(tmp_path / "val.json", f"amos_{label}.npy")
    out = tmp_path / "out"
    result = cli(capsys, "preprocess", "--json", str(json_path), "--images", str(images), "--out", str(out), *SIZE)
    assert_one_line_error(result, str(images / f"amos_{label}.npy"), words)
    assert not list(out.rglob("*.npy"))


def test_preprocess_nan_nifti_stops_or_is_skipped_and_listed(tmp_path: Path, capsys) -> None:
    data = ct()
    data[0, 0, 0] = np.nan
    images = tmp_path / "images"
    nifti(images / "amos_0001.nii.gz", data)
    nifti(images / "amos_0002.nii.gz", ct(seed=1))
    json_path = records(tmp_path / "val.json", "amos_0001.nii.gz", "amos_0002.nii.gz")
    out = tmp_path / "out"
    args = ["preprocess", "--json", str(json_path), "--images", str(images), "--out", str(out), *SIZE]
    assert_one_line_error(cli(capsys, *args), "amos_0001.nii.gz", "NaN or infinite")
    assert not (out / "amos_0001.npy").exists()
    skipped = cli(capsys, *args, "--on-bad-case", "skip")
    assert skipped.returncode == 0 and "skipped: " in skipped.stderr and "amos_0001.nii.gz" in skipped.stderr
    listed = json.loads((out / "val_processed.json").read_text())
    assert [r["case_id"] for r in listed] == ["amos_0002.npy"] and not (out / "amos_0001.npy").exists()


def test_case_id_with_a_nul_byte(tmp_path: Path, capsys) -> None:
    json_path = records(tmp_path / "validation" / "val.json", "amos\u00000001.nii.gz")
    assert_one_line_error(cli(capsys, "data", "check", str(json_path)), str(json_path), "control character")
    result = run_cli("run", "--model", "med3dvlm-demo", "--task", "flare_vqa", "--data", str(json_path),
                     "--out", str(tmp_path / "run"), "--quiet")
    assert_one_line_error(result, str(json_path), "control character")


@pytest.mark.parametrize("size", [("0", "8", "8"), ("4", "-1", "8")])
def test_preprocess_size_must_be_positive(tmp_path: Path, capsys, size) -> None:
    json_path = records(tmp_path / "val.json", "amos_0001.nii.gz")
    result = cli(capsys, "preprocess", "--json", str(json_path), "--images", str(tmp_path), "--out",
                 str(tmp_path / "out"), "--size", *size)
    assert_one_line_error(result, f"--size {' '.join(size)}", "positive")
    assert not (tmp_path / "out").exists()


def test_out_that_is_an_existing_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    json_path = records(tmp_path / "val.json", "amos_0001.nii.gz")
    result = cli(capsys, "preprocess", "--json", str(json_path), "--images", str(tmp_path), "--out", str(target),
                 *SIZE)
    assert_one_line_error(result, f"--out {target}", "is a file")
    assert_one_line_error(cli(capsys, "data", "demo", "--out", str(target)), f"--out {target}", "is a file")
    assert target.read_text() == "keep me"


def make_set(tmp_path: Path, n: int = 3) -> tuple[Path, Path]:
    images = tmp_path / "images"
    ids = [f"amos_{i:04d}.nii.gz" for i in range(n)]
    for i, case_id in enumerate(ids):
        nifti(images / case_id, ct(seed=i))
    return records(tmp_path / "val.json", *ids), images


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_full_or_read_only_disk_during_preprocess(tmp_path, capsys, monkeypatch, code) -> None:
    json_path, images = make_set(tmp_path)
    out = tmp_path / "out"
    args = ["preprocess", "--json", str(json_path), "--images", str(images), "--out", str(out), *SIZE]
    real_save, calls = np.save, []

    def failing_save(handle, array, *a, **k):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(code, "simulated")
        real_save(handle, array, *a, **k)

    monkeypatch.setattr(np, "save", failing_save)
    result = cli(capsys, *args)
    line = assert_one_line_error(result, str(out / "amos_0001.npy"), "rerun")
    assert ("No space left" in line) == (code == errno.ENOSPC)
    finished = json.loads((out / "val_processed.json").read_text())
    assert [r["case_id"] for r in finished] == ["amos_0000.npy"]  # what was written stays valid
    assert np.load(out / "amos_0000.npy").shape == (1, 4, 8, 8)
    assert not list(out.glob(".*.tmp"))
    before = (out / "amos_0000.npy").stat().st_mtime_ns

    monkeypatch.setattr(np, "save", real_save)  # space freed: the rerun resumes
    assert cli(capsys, *args).returncode == 0
    assert (out / "amos_0000.npy").stat().st_mtime_ns == before
    assert len(json.loads((out / "val_processed.json").read_text())) == 3


def test_processed_records_file_that_cannot_be_written(tmp_path, capsys, monkeypatch) -> None:
    json_path, images = make_set(tmp_path, 1)
    out = tmp_path / "out"
    import harness.atomic

    def failing_fsync(fd: int) -> None:  # the processed records file is the one atomic write preprocess makes
        raise OSError(errno.ENOSPC, "simulated")

    monkeypatch.setattr(harness.atomic.os, "fsync", failing_fsync)
    result = cli(capsys, "preprocess", "--json", str(json_path), "--images", str(images), "--out", str(out), *SIZE)
    assert_one_line_error(result, str(out / "val_processed.json"), "No space left")
    assert not list(out.glob(".*.tmp")) and not (out / "val_processed.json").exists()


def test_second_preprocess_into_one_folder_is_refused(tmp_path: Path, capsys) -> None:
    from filelock import FileLock

    json_path, images = make_set(tmp_path, 1)
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / LOCK_NAME):
        before = snapshot(out)
        result = cli(capsys, "preprocess", "--json", str(json_path), "--images", str(images), "--out", str(out),
                     *SIZE)
        assert_one_line_error(result, f"--out {out}", "another harness preprocess")
        assert snapshot(out) == before
    assert preprocess(json_path, images, out, size=(4, 8, 8), progress=False)[1] == []


def test_symlinked_image_outside_the_root_is_refused(tmp_path: Path, capsys) -> None:
    outside = nifti(tmp_path / "secret" / "amos_0001.nii.gz", ct())
    images = tmp_path / "images"
    images.mkdir()
    (images / "amos_0001.nii.gz").symlink_to(outside)
    json_path = records(tmp_path / "val.json", "amos_0001.nii.gz")
    out = tmp_path / "out"
    result = cli(capsys, "preprocess", "--json", str(json_path), "--images", str(images), "--out", str(out), *SIZE)
    assert_one_line_error(result, str(json_path), "resolves outside the image root")
    assert not list(out.rglob("*.npy"))
    assert_one_line_error(cli(capsys, "data", "check", f"{json_path}={images}"), "resolves outside the image root")


def test_record_files_that_are_objects_or_have_a_bom(tmp_path: Path, capsys) -> None:
    nifti(tmp_path / "validation" / "images" / "amos_0001.nii.gz", ct())
    nifti(tmp_path / "validation" / "images" / "amos_0002.nii.gz", ct())
    records(tmp_path / "validation" / "val.json", "amos_0001.nii.gz")
    bom = tmp_path / "validation" / "val-bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps([{"case_id": "amos_0002.nii.gz"}]).encode())
    ok = cli(capsys, "data", "check", str(tmp_path))
    assert ok.returncode == 0 and "2 cases" in ok.stdout, ok.stderr
    odd = tmp_path / "validation" / "val-object.json"
    odd.write_text(json.dumps({"case_id": "amos_0003.nii.gz"}))
    assert_one_line_error(cli(capsys, "data", "check", str(tmp_path)), str(odd), "not a list")


def test_record_file_whose_images_are_in_no_candidate_folder(tmp_path: Path, capsys) -> None:
    json_path = records(tmp_path / "train" / "CT-AMOS-Tr.json", "amos_0001.nii.gz")
    (tmp_path / "train" / "CT-AMOS-1290").mkdir()
    result = cli(capsys, "data", "check", str(tmp_path), "--split", "train")
    assert_one_line_error(result, str(json_path), str(tmp_path / "train" / "CT-AMOS-1290"), "none of the folders")


@pytest.mark.slow
def test_run_skips_nan_and_all_nan_volumes_and_lists_them(tmp_path: Path) -> None:
    images = tmp_path / "validation" / "images"
    nan_voxel = ct((12, 24, 24))
    nan_voxel[3, 3, 3] = np.nan
    nifti(images / "amos_0001.nii.gz", nan_voxel)
    np.save(images / "amos_0002.npy", np.full((1, 8, 16, 16), np.nan, np.float32))
    nifti(images / "amos_0003.nii.gz", ct((12, 24, 24), 3))
    json_path = records(tmp_path / "validation" / "val.json", "amos_0001.nii.gz", "amos_0002.npy", "amos_0003.nii.gz")
    out = tmp_path / "run"
    args = ["run", "--model", "med3dvlm-demo", "--task", "flare_report", "--judge", "lexical", "--data",
            str(json_path), "--out", str(out), "--quiet", "--set", "max_new_tokens=2"]
    assert_one_line_error(run_cli(*args), "amos_0001.nii.gz", "NaN or infinite")
    done = run_cli(*args, "--on-bad-case", "skip")
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "result.json").read_text())
    assert sorted(case for case, _ in result["bad_cases"]) == ["amos_0001.nii.gz", "amos_0002.npy"]
    assert result["scores"]["n_cases"] == 1


def test_demo_cache_that_cannot_be_written(tmp_path: Path, capsys, monkeypatch) -> None:
    import harness_plugins.tasks.flare.demo as demo

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "simulated")

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(demo, "_write_nifti", full)
    result = cli(capsys, "data", "check", "demo")
    assert_one_line_error(result, str(tmp_path / "cache" / "demo"), "No space left", "HARNESS_CACHE")
    assert not (tmp_path / "cache" / "demo").exists() and not list((tmp_path / "cache").glob(".demo.*.new"))


# preprocess and data demo arguments that name the wrong thing: (name, args with {tmp}, words of the error line)
BAD_ARGUMENTS = [
    ("--json a folder", ["preprocess", "--json", "{tmp}", "--images", "{tmp}/images", *SIZE],
     ["{tmp}", "is a folder"]),
    ("--json missing", ["preprocess", "--json", "{tmp}/nope.json", "--images", "{tmp}/images", *SIZE],
     ["{tmp}/nope.json", "no such file"]),
    ("--images a file", ["preprocess", "--json", "{tmp}/val.json", "--images", "{tmp}/val.json", *SIZE],
     ["--images {tmp}/val.json", "is not a folder"]),
    ("--images missing", ["preprocess", "--json", "{tmp}/val.json", "--images", "{tmp}/nowhere", *SIZE],
     ["--images {tmp}/nowhere", "does not exist"]),
    ("demo --seed -1", ["data", "demo", "--seed", "-1"], ["--seed -1"]),
]


@pytest.mark.parametrize(("args", "words"), [c[1:] for c in BAD_ARGUMENTS], ids=[c[0] for c in BAD_ARGUMENTS])
def test_bad_arguments_are_one_line_and_create_no_out_folder(tmp_path: Path, capsys, args, words) -> None:
    records(tmp_path / "val.json", "amos_0001.nii.gz")
    nifti(tmp_path / "images" / "amos_0001.nii.gz", ct())
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    result = cli(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in args], "--out", str(out))
    assert_one_line_error(result, *[w.replace("{tmp}", str(tmp_path)) for w in words])
    assert not out.exists() and snapshot(tmp_path) == before
