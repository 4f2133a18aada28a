"""What `--resume` trusts, without training: complete checkpoints, the run fingerprint, the CSV log cut, and
data draws that depend only on (seed, epoch, index)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch

from harness.errors import HarnessError
from harness.recipe import Recipe
from harness.training import checkpoints, fingerprint
from harness.training.config import resolve_config
from harness.training.csvlog import COLUMNS, read_log, truncate_log


def _checkpoint(root: Path, step: int, *, world: int = 1) -> Path:
    """A checkpoint folder with every file a resume reads, as the Trainer and `HarnessTrainer` write them."""
    from safetensors.torch import save_file

    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    save_file({"w": torch.zeros(2)}, str(folder / checkpoints.TRAINED_STATE))
    rng = ["rng_state.pth"] if world == 1 else [f"rng_state_{r}.pth" for r in range(world)]
    for name in ["optimizer.pt", "scheduler.pt", *rng]:
        torch.save({"x": 1}, folder / name)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return folder


def test_a_complete_checkpoint_has_no_problem(tmp_path: Path):
    assert checkpoints.problem(_checkpoint(tmp_path, 4), 4, world=1, deepspeed=False) is None
    assert checkpoints.problem(_checkpoint(tmp_path / "w2", 4, world=2), 4, world=2, deepspeed=False) is None


@pytest.mark.parametrize("damage, reason", [
    (lambda f: (f / "trainer_state.json").write_text('{"global_st'), "trainer_state.json is torn"),
    (lambda f: (f / "trainer_state.json").unlink(), "trainer_state.json is missing"),
    (lambda f: (f / "trainer_state.json").write_text('{"global_step": 3}'), "does not say step 4"),
    (lambda f: (f / "trainer_state.json").write_text("[]"), "does not say step 4"),
    (lambda f: (f / "optimizer.pt").unlink(), "optimizer.pt is missing"),
    (lambda f: (f / "scheduler.pt").write_bytes((f / "scheduler.pt").read_bytes()[:30]), "scheduler.pt is torn"),
    (lambda f: (f / "rng_state.pth").unlink(), "rng_state.pth is missing"),
    (lambda f: (f / checkpoints.TRAINED_STATE).write_bytes(b"\x10"), "trained.safetensors is torn"),
    (lambda f: (f / checkpoints.TRAINED_STATE).write_bytes((f / checkpoints.TRAINED_STATE).read_bytes()[:-3]),
     "trained.safetensors is torn"),
])
def test_each_torn_or_missing_file_is_named(tmp_path: Path, damage, reason):
    folder = _checkpoint(tmp_path, 4)
    damage(folder)
    assert reason in checkpoints.problem(folder, 4, world=1, deepspeed=False)


def test_deepspeed_checkpoints_need_their_shards_and_every_rank_its_rng(tmp_path: Path):
    folder = _checkpoint(tmp_path, 6, world=2)
    assert "global_step6/" in checkpoints.problem(folder, 6, world=2, deepspeed=True)
    (folder / "global_step6").mkdir()
    torch.save({"x": 1}, folder / "global_step6" / "mp_rank_00_model_states.pt")
    assert checkpoints.problem(folder, 6, world=2, deepspeed=True) is None
    (folder / "rng_state_1.pth").unlink()
    assert checkpoints.problem(folder, 6, world=2, deepspeed=True) == "rng_state_1.pth is missing"


def test_the_newest_complete_checkpoint_wins_and_newer_torn_ones_are_listed(tmp_path: Path):
    assert checkpoints.newest_complete(tmp_path / "absent", world=1, deepspeed=False) == (None, [])
    _checkpoint(tmp_path, 5)
    _checkpoint(tmp_path, 10)
    (_checkpoint(tmp_path, 15) / "trainer_state.json").write_text("{")
    (tmp_path / "checkpoint-x").mkdir()
    found, skipped = checkpoints.newest_complete(tmp_path, world=1, deepspeed=False)
    assert found.name == "checkpoint-10" and skipped == [("checkpoint-15", "trainer_state.json is torn")]
    aside = checkpoints.set_aside(tmp_path / "checkpoint-15")
    assert aside.name == ".incomplete-checkpoint-15" and (aside / "optimizer.pt").is_file()
    assert [step for step, _ in checkpoints.checkpoints(tmp_path)] == [10, 5]
    assert zipfile.is_zipfile(aside / "optimizer.pt")


# fingerprint


def _cfg(**overrides):
    recipe = Recipe(name="m", encoder="e", projector="p", llm="l")
    return resolve_config(recipe, overrides, model="m", task="all", data="demo", out_dir="o")


def _fp(cfg, **changes):
    values = dict(init="weights", tasks=["a", "b"], cases=[], world=1, precision="fp32", zero_stage=None)
    values.update(changes)
    return fingerprint.run_fingerprint(cfg, **values)


def test_the_fingerprint_catches_computing_settings_and_ignores_bookkeeping():
    base = _fp(_cfg())
    assert fingerprint.differences(base, _fp(_cfg(save_steps=7, logging_steps=1, num_workers=2, name="x"))) == []
    assert fingerprint.differences(base, _fp(_cfg(split="validation"))) == ["split: train then, validation now"]
    assert fingerprint.differences(base, _fp(_cfg(), world=2)) == ["world_size: 1 then, 2 now"]
    assert fingerprint.differences(base, _fp(_cfg(), init="base")) == ["init: weights then, base now"]
    assert fingerprint.differences(base, _fp(_cfg(learning_rate=1e-3, max_steps=9))) == [
        "learning_rate: 5e-05 then, 0.001 now", "max_steps: -1 then, 9 now"]


def test_the_data_digest_covers_the_records_not_where_the_images_are():
    from harness_plugins.tasks.flare.records import Case

    one = Case(case_id="a.nii.gz", findings={"liver": "normal"}, image=Path("/x/a.nii.gz"))
    moved = Case(case_id="a.nii.gz", findings={"liver": "normal"}, image=Path("/y/a.nii.gz"))
    other = Case(case_id="a.nii.gz", findings={"liver": "cyst"}, image=Path("/x/a.nii.gz"))
    assert fingerprint.data_digest([one]) == fingerprint.data_digest([moved]) != fingerprint.data_digest([other])


def test_resume_checks_the_saved_fingerprint(tmp_path: Path):
    saved = _fp(_cfg())
    fingerprint.write_fingerprint(tmp_path, saved)
    assert fingerprint.read_fingerprint(tmp_path) == saved
    fingerprint.check_same_run(tmp_path, saved, _fp(_cfg(save_steps=3)))
    with pytest.raises(HarnessError, match=r"--resume: .* \(split: train then, validation now\)"):
        fingerprint.check_same_run(tmp_path, saved, _fp(_cfg(split="validation")))
    assert fingerprint.read_fingerprint(tmp_path / "none") is None
    (tmp_path / fingerprint.FINGERPRINT).write_text('{"settings"')
    with pytest.raises(HarnessError, match="not a harness fine-tuning fingerprint"):
        fingerprint.read_fingerprint(tmp_path)


# the CSV log


def test_truncate_log_keeps_the_steps_up_to_the_resumed_one(tmp_path: Path):
    path = tmp_path / "train_log.csv"
    rows = [",".join(COLUMNS)] + [f"{s},{s / 10},{1 / s},1e-4,0.5,{s * 2.5}" for s in (1, 2, 3, 4)]
    path.write_text("\n".join(rows) + "\n2,0.2,0.")  # a torn last row after a kill
    assert truncate_log(path, 2) == 5.0
    assert [int(r["step"]) for r in read_log(path)] == [1, 2]
    assert truncate_log(path, 0) == 0.0 and read_log(path) == []
    assert truncate_log(tmp_path / "absent.csv", 3) == 0.0


# data draws


def test_each_item_draws_from_seed_epoch_and_index_only():
    """The same (seed, epoch, index) always gives the same augmented image and question; another epoch not."""
    from harness.training.dataset import FinetuneDataset
    from harness.training.samples import Sample, Slot

    dataset = FinetuneDataset.__new__(FinetuneDataset)  # the RNG alone: no tokenizer or images needed
    dataset.seed, dataset.epoch = 3, 0
    slot = Slot(0, "vqa", {"global": [Sample("g", "a", "g/0")], "local": [Sample(f"l{i}", "b", f"l/{i}")
                                                                          for i in range(8)]})
    first = [slot.draw(dataset.generator(i)).key for i in range(40)]
    assert first == [slot.draw(dataset.generator(i)).key for i in range(40)]
    dataset.set_epoch(1)
    assert first != [slot.draw(dataset.generator(i)).key for i in range(40)]
    from harness.data.dataset import train_augmentation

    augment, image = train_augmentation(), torch.rand(1, 4, 4, 4)
    outputs = []
    for _ in range(2):
        augment.set_random_state(state=dataset.generator(5))
        outputs.append(torch.as_tensor(augment(image)))
    assert torch.equal(outputs[0], outputs[1])
