"""One spelling of ``--on-bad-case`` everywhere: ``error|skip`` on `run` and `preprocess`, in the image loader and
in the preprocessing API; the old ``raise`` is refused in one line that gives its new name."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from badinput import assert_one_line_error

from harness.cli.main import main
from harness.data.dataset import image_loader
from harness.errors import HarnessError
from harness_plugins.tasks.flare.preprocess import preprocess
from harness_plugins.tasks.flare.records import Case


def _cli(capsys: pytest.CaptureFixture, *args: str) -> subprocess.CompletedProcess:
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def _records(tmp_path: Path) -> Path:
    (tmp_path / "imgs").mkdir()
    path = tmp_path / "val.json"
    path.write_text(json.dumps([{"case_id": "amos_0000.nii.gz", "findings": {"liver": "Normal."}}]))
    return path


@pytest.mark.parametrize("command", [
    ["run", "--model", "med3dvlm-demo", "--task", "flare_vqa"],
    ["preprocess", "--json", "val.json", "--images", "imgs", "--out", "out"],
])
def test_the_old_spelling_raise_is_one_line_naming_error(command, capsys) -> None:
    message = assert_one_line_error(_cli(capsys, *command, "--on-bad-case", "raise"), "--on-bad-case", "raise")
    assert "old spelling of 'error'" in message and "skip" in message


def test_preprocess_takes_error_and_stops_at_an_unreadable_image(tmp_path: Path, capsys) -> None:
    json_path = _records(tmp_path)
    (tmp_path / "imgs" / "amos_0000.nii.gz").write_bytes(b"corrupt")
    result = _cli(capsys, "preprocess", "--json", str(json_path), "--images", str(tmp_path / "imgs"),
                  "--out", str(tmp_path / "out"), "--size", "4", "8", "8", "--on-bad-case", "error")
    assert_one_line_error(result, "amos_0000.nii.gz", "--on-bad-case skip")


def test_the_python_api_says_error_not_raise(tmp_path: Path) -> None:
    json_path = _records(tmp_path)
    with pytest.raises(HarnessError, match="old spelling of 'error'"):
        preprocess(json_path, tmp_path / "imgs", tmp_path / "out", on_bad_case="raise", progress=False)
    case = Case(case_id="amos_0000.nii.gz", image=tmp_path / "imgs" / "missing.nii.gz")
    with pytest.raises(HarnessError, match="old spelling of 'error'"):
        image_loader([case], input_size=(4, 8, 8), on_bad_case="raise")
    loader = image_loader([case], input_size=(4, 8, 8))  # the default stops at the unreadable image
    with pytest.raises(HarnessError, match="missing.nii.gz"):
        next(iter(loader))
