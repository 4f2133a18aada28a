"""The synthetic demo set: valid FLARE records that describe exactly what the images show."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.data import load_cases, read_volume
from harness.data.demo import ABDOMEN_LABELS, CHEST_LABELS, SHAPE, generate_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "d"
    assert main(["data", "demo", "--out", str(out), "--cases", "12", "--seed", "5"]) == 0
    return out


def all_cases(root: Path):
    return load_cases(root, split="train") + load_cases(root, split="validation")


def test_validates_with_both_domains_and_splits(demo: Path) -> None:
    train, val = load_cases(demo, split="train"), load_cases(demo, split="validation")
    assert len(train) == 8 and len(val) == 4
    for cases in (train, val):
        assert {c.domain for c in cases} == {"abdomen", "chest"}
    for case in train + val:
        assert case.image.exists() and ("amos" in case.case_id) == (case.domain == "abdomen")
        labels = ABDOMEN_LABELS if case.domain == "abdomen" else CHEST_LABELS
        assert sorted(case.global_vqa[0].choices) == sorted(labels)
        for chain in case.chains():
            assert chain[0].answer in ("Yes", "No") and chain[0].choices is None
            assert all(q.answer in q.choices for q in chain[1:])
            assert {q.type for q in chain[1:]} <= {"localization", "appearance_or_pattern", "clinical_implication"}


def test_labels_match_annotations_and_text(demo: Path) -> None:
    for path in demo.rglob("*-demo.json"):
        for record in json.loads(path.read_text()):
            annotated = {a["label"] for a in record["annotations"]}
            assert set(record["global_vqa"][0]["answer"]) == annotated
            report = " ".join(record["findings"].values())
            for note in record["annotations"]:
                assert note["organ"] in record["findings"]
                if note["side"]:
                    assert note["side"] in record["findings"][note["organ"]].lower()
            if not annotated:
                assert "enlarged" not in report


def test_images_show_each_finding_where_stated(demo: Path) -> None:
    checked = 0
    for path in demo.rglob("*-demo.json"):
        for record in json.loads(path.read_text()):
            volume = read_volume(path.parent / "images" / record["case_id"]).astype(np.float32)
            assert volume.shape == SHAPE
            z, y, x = np.indices(SHAPE)
            for note in record["annotations"]:
                if note["center"] is None or note["hu"] is None:
                    continue
                cz, cy, cx = note["center"]
                if note["side"] and note["organ"] in ("kidneys", "lungs and pleura"):
                    assert (cx < SHAPE[2] / 2) == (note["side"] == "right")  # LPS: low x = patient right
                r = 0.6 * (note["radius"] or 2.0)
                inside = (z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= r * r
                assert abs(float(volume[inside].mean()) - note["hu"]) < 25, (record["case_id"], note)
                checked += 1
    assert checked >= 5


def test_deterministic_per_seed(tmp_path: Path) -> None:
    a = generate_demo(tmp_path / "a", cases=4, seed=3)
    b = generate_demo(tmp_path / "b", cases=4, seed=3)
    c = generate_demo(tmp_path / "c", cases=4, seed=4)
    text = {p.name: p.read_text() for p in a.rglob("*-demo.json")}
    assert text == {p.name: p.read_text() for p in b.rglob("*-demo.json")}
    assert text != {p.name: p.read_text() for p in c.rglob("*-demo.json")}
    assert np.array_equal(read_volume(next(a.rglob("*.nii.gz"))), read_volume(next(b.rglob("*.nii.gz"))))


@pytest.mark.parametrize("seed", range(6))
def test_any_seed_is_valid(tmp_path: Path, seed: int) -> None:
    cases = all_cases(generate_demo(tmp_path, cases=4, seed=seed))
    assert len(cases) == 4


def test_demo_keyword_uses_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    cases = load_cases("demo")
    assert cases and all(c.image.is_relative_to(tmp_path / "demo" / "validation") for c in cases)
    assert (tmp_path / "demo" / "demo_manifest.json").exists()
