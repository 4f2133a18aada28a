"""FLARE records: loading, domains, and one clear error per bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness_plugins.tasks.flare.chains import scoring_chains
from harness_plugins.tasks.flare.loading import load_cases

GOOD = {
    "case_id": "amos_0001.nii.gz",
    "findings": {"liver": "Normal."},
    "global_vqa": [{"question": "Which?", "answer": ["renal_cyst"], "choices": ["renal_cyst", "gallstone"]}],
    "local_vqa": [
        {"id": 1, "follow_up": -1, "question": "Is there a cyst?", "answer": "Yes"},
        {
            "id": 2,
            "follow_up": 1,
            "question": "Where?",
            "answer": "Left kidney",
            "choices": ["Left kidney", "Right kidney"],
        },
    ],
}


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_json_file_loads_with_images_folder(tmp_path: Path) -> None:
    write(tmp_path / "images" / "amos_0001.nii.gz", "x")
    cases = load_cases(write(tmp_path / "val.json", [GOOD]))
    assert cases[0].image == (tmp_path / "images" / "amos_0001.nii.gz").absolute()
    assert cases[0].domain == "abdomen" and [q.id for q in scoring_chains(cases[0])[1]] == [1, 2]


def test_several_json_files_each_with_own_root(tmp_path: Path) -> None:
    chest = {**GOOD, "case_id": "train_1_a_1.nii.gz"}
    a = write(tmp_path / "a.json", [GOOD])
    b = write(tmp_path / "CT-RATE-Tr .json", [chest])
    cases = load_cases([(a, tmp_path / "amos"), f"{b}={tmp_path / 'rate'}"])
    assert [c.image.parent.name for c in cases] == ["amos", "rate"]
    assert [c.domain for c in cases] == ["abdomen", "chest"]


def test_directory_split_selection(tmp_path: Path) -> None:
    write(tmp_path / "train" / "CT-AMOS-Tr.json", [GOOD])
    write(tmp_path / "train" / "images" / "amos_0001.nii.gz", "x")
    write(tmp_path / "validation" / "val.json", [{**GOOD, "case_id": "amos_0002.nii.gz"}])
    write(tmp_path / "validation" / "images" / "amos_0002.nii.gz", "x")
    assert [c.case_id for c in load_cases(tmp_path, split="validation")] == ["amos_0002.nii.gz"]
    assert [c.case_id for c in load_cases(tmp_path)] == ["amos_0002.nii.gz"]  # the default is validation only
    assert len(load_cases(tmp_path, split="all")) == 2
    with pytest.raises(HarnessError, match="no FLARE JSON record files for split 'test'"):
        load_cases(tmp_path, split="test")


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda r: r.pop("case_id"), r"case #0: case_id: missing"),
        (lambda r: r.update(findings=["liver"]), r"case amos_0001.nii.gz: findings: must be an object"),
        (lambda r: r["global_vqa"][0].pop("answer"), r"global_vqa\[0\].answer: missing"),
        (lambda r: r["local_vqa"][1].update(follow_up=7), r"local_vqa\[1\].follow_up: 7 is not the id"),
        (lambda r: r["local_vqa"][1].update(id=1), r"local_vqa\[1\].id: 1 is used twice"),
        (lambda r: r["local_vqa"][0].pop("answer"), r"local_vqa\[0\].answer: missing"),
        (lambda r: r.update(case_id="../outside.nii.gz"), r"case_id: must be a path relative to the image root"),
        (lambda r: r.update(case_id="/etc/passwd"), r"case_id: must be a path relative"),
        (lambda r: r.update(case_id="amos\x00.nii.gz"), r"case 'amos\\x00.nii.gz': case_id: contains a control"),
    ],
)
def test_bad_records_name_file_case_and_field(tmp_path: Path, mutate, pattern: str) -> None:
    record = json.loads(json.dumps(GOOD))
    mutate(record)
    path = write(tmp_path / "bad.json", [record])
    with pytest.raises(HarnessError, match=pattern) as info:
        load_cases(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_follow_up_cycle(tmp_path: Path) -> None:
    record = json.loads(json.dumps(GOOD))
    record["local_vqa"][0]["follow_up"] = 2
    with pytest.raises(HarnessError, match="cycle"):
        load_cases(write(tmp_path / "c.json", [record]))


def test_duplicates_within_and_across_files(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="duplicate case id in this file"):
        load_cases(write(tmp_path / "d.json", [GOOD, GOOD]))
    write(tmp_path / "images" / "amos_0001.nii.gz", "x")
    a, b = write(tmp_path / "a.json", [GOOD]), write(tmp_path / "b.json", [GOOD])
    with pytest.raises(HarnessError, match=r"duplicate of the case in .*a\.json"):
        load_cases([a, b])


def test_malformed_json_and_missing_data(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"m\.json: malformed JSON"):
        load_cases(write(tmp_path / "m.json", '[{"case_id": '))
    with pytest.raises(HarnessError, match="not found"):
        load_cases(tmp_path / "nope")


def test_symlink_escaping_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(outside)
    record = {**GOOD, "case_id": "link/amos_0001.nii.gz"}
    with pytest.raises(HarnessError, match="resolves outside the image root"):
        load_cases((write(tmp_path / "s.json", [record]), tmp_path / "root"))


def test_hub_offline_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HarnessError, match="--data demo") as info:
        load_cases("FLARE-MedFM/FLARE-Task5-MLLM-3D")
    assert "\n" not in str(info.value)
