"""The synthetic demo set: valid FLARE records that describe exactly what the images show."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.data import read_volume
from harness_plugins.tasks.flare.chains import scoring_chains
from harness_plugins.tasks.flare.demo import ABDOMEN_LABELS, CHEST_LABELS, SHAPE, generate_demo
from harness_plugins.tasks.flare.loading import load_cases


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "d"
    assert main(["data", "demo", "--out", str(out), "--cases", "12", "--seed", "5"]) == 0
    return out


def all_cases(root: Path):
    return load_cases(root, split="train") + load_cases(root, split="validation")


def record_files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*.json")) if p.name != "demo_manifest.json"]


def test_validates_with_both_domains_and_splits(demo: Path) -> None:
    train, val = load_cases(demo, split="train"), load_cases(demo, split="validation")
    assert len(train) == 8 and len(val) == 4
    for cases in (train, val):
        assert {c.domain for c in cases} == {"abdomen", "chest"}
    for case in train + val:
        assert case.image.exists() and ("amos" in case.case_id) == (case.domain == "abdomen")
        labels = ABDOMEN_LABELS if case.domain == "abdomen" else CHEST_LABELS
        assert sorted(case.global_vqa[0].choices) == sorted(labels)
        for chain in scoring_chains(case).values():
            assert chain[0].answer in ("Yes", "No") and chain[0].choices is None
            assert all(q.answer in q.choices for q in chain[1:])
            assert {q.type for q in chain[1:]} <= {"localization", "appearance_or_pattern", "clinical_implication"}


def test_labels_match_annotations_and_text(demo: Path) -> None:
    for path in record_files(demo):
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
    images = {c.case_id: c.image for c in all_cases(demo)}
    for path in record_files(demo):
        for record in json.loads(path.read_text()):
            volume = read_volume(images[record["case_id"]]).astype(np.float32)
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
    text = {p.name: p.read_text() for p in record_files(a)}
    assert len(text) == 3
    assert text == {p.name: p.read_text() for p in record_files(b)}
    assert text != {p.name: p.read_text() for p in record_files(c)}
    assert np.array_equal(read_volume(next(a.rglob("*.nii.gz"))), read_volume(next(b.rglob("*.nii.gz"))))


@pytest.mark.parametrize("seed", range(6))
def test_any_seed_is_valid(tmp_path: Path, seed: int) -> None:
    cases = all_cases(generate_demo(tmp_path, cases=4, seed=seed))
    assert len(cases) == 4


DEMO_SHA256 = {
    "train/CT-AMOS-Tr.json": "91549a612bbf5acf",
    "train/CT-RATE-Tr .json": "5e253c6e90f984dc",
    "validation/val.json": "393fffa0d3c4fa37",
}
"""Record files of ``--data demo`` (36 cases, seed 0): the same bytes as in the layout before the
published one (only the names changed), so the demo model's measured scores stay valid."""


@pytest.mark.slow
def test_demo_keyword_content_is_unchanged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import hashlib

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    root = load_cases("demo")[0].image.parents[2]
    assert {name: hashlib.sha256((root / name).read_bytes()).hexdigest()[:16] for name in DEMO_SHA256} == DEMO_SHA256


def test_an_older_demo_cache_is_replaced_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness_plugins.tasks.flare.demo import ensure_demo

    old = tmp_path / "demo"
    (old / "validation" / "images").mkdir(parents=True)
    (old / "validation" / "validation-demo.json").write_text("[]")
    (old / "demo_manifest.json").write_text(json.dumps({"version": 1, "cases": 4, "seed": 0}))
    root = ensure_demo(old, cases=4, seed=0)
    assert not (root / "validation" / "validation-demo.json").exists()
    assert len(load_cases(root, split="all")) == 4


def test_demo_out_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "file"
    target.write_text("keep")
    assert main(["data", "demo", "--out", str(target), "--cases", "2"]) == 2
    err = capsys.readouterr().err
    assert f"--out {target}: is a file" in err and "Traceback" not in err and target.read_text() == "keep"


def test_demo_keyword_uses_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    cases = load_cases("demo")
    assert cases and all(c.image.is_relative_to(tmp_path / "demo" / "validation") for c in cases)
    assert (tmp_path / "demo" / "demo_manifest.json").exists()
