"""The published FLARE layout: image roots per record file, splits, named data sets, Hub snapshots offline."""

from __future__ import annotations

import codecs
import json
import socket
from pathlib import Path

import pytest
from hubcache import fake_hub_dataset

from harness.errors import HarnessError
from harness_plugins.tasks.flare.catalog import find_dataset
from harness_plugins.tasks.flare.demo import generate_demo
from harness_plugins.tasks.flare.layout import root_candidates
from harness_plugins.tasks.flare.loading import data_identity, load_cases, load_data

RECORD = {"case_id": "amos_0001.nii.gz", "findings": {"liver": "Normal."}}


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo2025(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo(tmp_path_factory.mktemp("d25") / "demo", cases=6, seed=11, layout="flare2025")


@pytest.mark.parametrize(("layout", "rate_file"), [("flare2025", "CT-RATE-Tr .json"), ("flare2026", "CT-RATE-Tr.json")])
def test_demo_is_in_the_published_layout(tmp_path: Path, layout: str, rate_file: str) -> None:
    root = generate_demo(tmp_path / "d", cases=6, seed=11, layout=layout)
    files = {p.relative_to(root).as_posix() for p in root.rglob("*.json")}
    assert files == {"train/CT-AMOS-Tr.json", f"train/{rate_file}", "validation/val.json", "demo_manifest.json"}
    assert {p.name for p in (root / "train").iterdir() if p.is_dir()} == {"CT-AMOS-1290", "CT-RATE-2000"}
    train = load_cases(root, split="train")
    assert {c.image.parent.name for c in train if c.domain == "abdomen"} == {"CT-AMOS-1290"}
    assert {c.image.parent.name for c in train if c.domain == "chest"} == {"CT-RATE-2000"}
    assert all(c.image.is_file() for c in train)
    assert {c.image.parent for c in load_cases(root)} == {root / "validation" / "images"}


def test_regenerating_with_the_other_layout_leaves_one_rate_file(tmp_path: Path) -> None:
    generate_demo(tmp_path / "d", cases=4, seed=1, layout="flare2025")
    root = generate_demo(tmp_path / "d", cases=4, seed=1, layout="flare2026")
    assert sorted(p.name for p in (root / "train").glob("*.json")) == ["CT-AMOS-Tr.json", "CT-RATE-Tr.json"]
    assert len(load_cases(root, split="train")) == 3


def test_candidates_put_the_folder_named_like_the_file_first(demo2025: Path) -> None:
    train = demo2025 / "train"
    assert root_candidates(train / "CT-AMOS-Tr.json")[0] == train / "CT-AMOS-1290"
    assert root_candidates(train / "CT-RATE-Tr .json")[0] == train / "CT-RATE-2000"


def test_images_in_none_of_the_candidates_is_one_line_naming_file_and_folders(tmp_path: Path) -> None:
    path = write(tmp_path / "train" / "CT-AMOS-Tr.json", [RECORD])
    (tmp_path / "train" / "CT-AMOS-1290").mkdir()
    (tmp_path / "train" / "other").mkdir()
    with pytest.raises(HarnessError) as info:
        load_cases(tmp_path, split="train")
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "'amos_0001.nii.gz'" in message
    for folder in ("CT-AMOS-1290", "other"):
        assert str(tmp_path / "train" / folder) in message


def test_explicit_image_root_wins(tmp_path: Path, demo2025: Path) -> None:
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    source = demo2025 / "train" / "CT-AMOS-1290"
    for image in source.iterdir():
        (elsewhere / image.name).write_bytes(image.read_bytes())
    cases = load_cases(f"{demo2025 / 'train' / 'CT-AMOS-Tr.json'}={elsewhere}")
    assert cases and {c.image.parent for c in cases} == {elsewhere.absolute()}


def test_split_recorded_is_the_split_used(demo2025: Path) -> None:
    assert data_identity(demo2025)["split"] == "validation"
    train = data_identity(demo2025, split="train")
    assert train["split"] == "train" and train["files"] == ["train/CT-AMOS-Tr.json", "train/CT-RATE-Tr .json"]
    assert train["n_cases"] == 4 and len(train["sha256"]) == 64
    assert data_identity(demo2025 / "validation" / "val.json")["split"] == "validation"
    with pytest.raises(HarnessError, match="--split train, but the file name says validation"):
        load_cases(demo2025 / "validation" / "val.json", split="train")


def test_bom_record_files_are_read(tmp_path: Path) -> None:
    write(tmp_path / "validation" / "images" / "amos_0001.nii.gz", "x")
    path = tmp_path / "validation" / "val.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps([RECORD]).encode())
    assert [c.case_id for c in load_cases(tmp_path)] == ["amos_0001.nii.gz"]
    assert [c.case_id for c in load_cases(path)] == ["amos_0001.nii.gz"]


def test_a_record_file_that_is_an_object_is_reported_not_skipped(tmp_path: Path) -> None:
    write(tmp_path / "validation" / "images" / "amos_0001.nii.gz", "x")
    write(tmp_path / "validation" / "val.json", [RECORD])
    odd = write(tmp_path / "validation" / "val-extra.json", {"cases": [RECORD]})
    write(tmp_path / "manifest.json", {"version": 1})  # names no split: not a record file
    with pytest.raises(HarnessError, match="not a list of FLARE case records") as info:
        load_cases(tmp_path)
    assert str(odd) in str(info.value)


def test_named_data_sets() -> None:
    assert find_dataset("flare2026").licence == "CC BY-NC 4.0"
    assert find_dataset("FLARE 2025").hub_id == "FLARE-MedFM/FLARE-Task5-MLLM-3D"
    assert find_dataset("FLARE-MedFM/FLARE26-MLLM-3D").name == "flare2026"
    assert find_dataset("demo").cases == {"train": 24, "validation": 12}
    assert find_dataset("flare2027") is None
    with pytest.raises(HarnessError, match="flare2025, flare2026, demo"):
        load_cases("flare2027")


@pytest.mark.parametrize(("repo_id", "name", "layout"), [
    ("FLARE-MedFM/FLARE26-MLLM-3D", "flare2026", "flare2026"),
    ("FLARE-MedFM/FLARE-Task5-MLLM-3D", "flare2025", "flare2025"),
])
def test_hub_id_offline_from_the_cache_makes_no_network_call(tmp_path, monkeypatch, repo_id, name, layout) -> None:
    snapshot = fake_hub_dataset(tmp_path / "hf", repo_id, layout=layout)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("a network call was made")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    for data in (repo_id, name):
        loaded = load_data(data, split="train")
        assert loaded.identity["name"] == name and loaded.identity["revision"] == snapshot.name
        assert loaded.identity["hub_id"] == repo_id and loaded.identity["split"] == "train"
        assert len(loaded.cases) == 4 and all(c.image.is_file() for c in loaded.cases)
    assert data_identity(repo_id)["split"] == "validation"


def test_hub_id_missing_from_the_offline_cache_is_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HarnessError, match="HF_HUB_OFFLINE=1 is set") as info:
        load_cases("flare2026")
    assert "\n" not in str(info.value) and "FLARE-MedFM/FLARE26-MLLM-3D" in str(info.value)


def test_gated_hub_data_set_says_accept_the_terms_and_log_in(monkeypatch) -> None:
    import httpx2 as httpx
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    response = httpx.Response(403, request=httpx.Request("GET", "https://huggingface.co/api/datasets/x"))

    def gated(*args, **kwargs):
        raise GatedRepoError("403 gated", response=response)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    with pytest.raises(HarnessError, match="is gated: accept its terms at https://huggingface.co/datasets/") as info:
        load_cases("FLARE-MedFM/FLARE-Task5-MLLM-3D")
    assert "log in" in str(info.value)


def test_a_snapshot_record_file_given_directly_follows_its_blob_links(tmp_path: Path) -> None:
    snapshot = fake_hub_dataset(tmp_path / "hf", "FLARE-MedFM/FLARE26-MLLM-3D", layout="flare2026")
    json_path = snapshot / "validation" / "val.json"
    cases = load_cases(f"{json_path}={snapshot / 'validation' / 'images'}")
    assert len(cases) == 2 and all(c.image.is_symlink() and c.image.is_file() for c in cases)
    outside = tmp_path / "elsewhere.nii.gz"
    outside.write_bytes(cases[0].image.read_bytes())
    cases[0].image.unlink()
    cases[0].image.symlink_to(outside)  # a link out of the repository's cache folder is still refused
    with pytest.raises(HarnessError, match="resolves outside the image root"):
        load_cases(json_path)
