"""Which tasks `harness finetune --task` trains (`harness.training.selection`) with two data formats installed:
the FLARE tasks and a tiny in-test format (tests/echotask.py), and how training reads any task's cases and
targets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from echotask import EchoCase, echo_data, echo_plugin

from harness.errors import HarnessError
from harness.task import DataSetCard
from harness.training.selection import select_tasks

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def echo(tmp_path: Path):
    """The echo tasks installed beside FLARE's, with a three-case data set (processed .npy images)."""
    folder = echo_data(tmp_path / "echo-data")
    with echo_plugin(folder):
        yield folder


@pytest.fixture
def flare_folder(tmp_path: Path) -> Path:
    from harness_plugins.tasks.flare.demo import generate_demo

    return generate_demo(tmp_path / "flare-data", cases=4, seed=3)


def test_all_with_a_flare_data_set_name_picks_only_the_flare_tasks(echo):
    chosen = select_tasks("all", "demo", split="train")
    assert chosen.names == ["flare_report", "flare_vqa"] and chosen.data_format == "flare"
    assert chosen.data.cases and chosen.data.identity["split"] == "train" and chosen.every_installed


@pytest.mark.parametrize("name", ["echo-set", "Echoes"])
def test_all_with_the_other_formats_data_set_picks_only_its_tasks(echo, name: str):
    chosen = select_tasks("all", name, split="train")
    assert chosen.names == ["echo_length", "echo_say"]
    assert [case.case_id for case in chosen.data.cases] == ["c0", "c1", "c2"]


def test_all_with_a_local_folder_picks_the_one_format_that_reads_it(echo, flare_folder: Path, monkeypatch):
    assert select_tasks("all", str(echo), split="train").names == ["echo_length", "echo_say"]
    chosen = select_tasks("all", str(flare_folder), split="train")
    assert chosen.names == ["flare_report", "flare_vqa"] and chosen.data.cases
    monkeypatch.chdir(flare_folder.parent)  # a folder here that bears a data set's name is that folder
    flare_folder.rename(flare_folder.parent / "echo-set")
    assert select_tasks("all", "echo-set", split="train").names == ["flare_report", "flare_vqa"]


def test_all_is_refused_when_nothing_tells_the_format(echo, tmp_path: Path):
    with pytest.raises(HarnessError, match=r"--task all: no installed task names a data set 'nosuch'.*"
                                           r"echo-jsonl: echo_length, echo_say; flare: flare_report, flare_vqa\); "
                                           r"name the tasks with --task a,b"):
        select_tasks("all", "nosuch", split="train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HarnessError, match=r"no installed data format reads --data .*empty \(as echo-jsonl: "
                                           r".*no echo.jsonl in it; as flare: "):
        select_tasks("all", str(tmp_path / "empty"), split="train")


def test_named_tasks_must_share_one_format(echo):
    with pytest.raises(HarnessError, match=r"flare_vqa: flare; echo_say: echo-jsonl\); fine-tune tasks of one format"):
        select_tasks("flare_vqa,echo_say", "demo", split="train")
    with pytest.raises(HarnessError, match="name each task once"):
        select_tasks("echo_say,echo_say", "echo-set", split="train")
    chosen = select_tasks(" echo_say ", "echo-set", split="train")
    assert chosen.names == ["echo_say"] and not chosen.every_installed


def test_only_tasks_that_give_targets_are_trained(echo):
    from harness.training.samples import build_slots

    everything = select_tasks("all", "echo-set", split="train")
    slots, left_out = build_slots(everything.data.cases, everything.tasks, style="chat", image_tokens="<im>",
                                  tokenizer=None, leave_out_untrainable=everything.every_installed)
    assert left_out == ["echo_length"] and {slot.task for slot in slots} == {"echo_say"}
    assert [slot.by_scope["answer"][0].target for slot in slots] == ["text 0", "text 1", "text 2"]
    only_untrainable = everything.tasks[:1]
    assert [task.name for task in only_untrainable] == ["echo_length"]
    with pytest.raises(HarnessError, match=r"none of the tasks echo_length gives training targets"):
        build_slots(everything.data.cases, only_untrainable, style="chat", image_tokens="<im>", tokenizer=None,
                    leave_out_untrainable=True)
    named = select_tasks("echo_say,echo_length", "echo-set", split="train")
    with pytest.raises(HarnessError, match=r"task 'echo_length' gives no training target for c0/answer/0 and 2 more"):
        build_slots(named.data.cases, named.tasks, style="chat", image_tokens="<im>", tokenizer=None)


def test_case_images_read_any_tasks_cases(echo):
    from harness.data.dataset import CaseImages

    cases = select_tasks("echo_say", "echo-set", split="train").data.cases
    images = CaseImages(cases, input_size=(4, 8, 8))
    assert torch.allclose(images[2]["image"], torch.full((1, 4, 8, 8), 2 / 3))
    cases[1].image.unlink()
    skipped = CaseImages(cases, input_size=(4, 8, 8), on_bad_case="skip")[1]
    assert skipped["case_id"] == "c1" and "case c1: cannot read image" in skipped["error"]


def test_the_data_digest_reads_any_case_type():
    from harness.training.fingerprint import data_digest

    class Plain:
        def __init__(self, case_id: str, text: str, image: str) -> None:
            self.case_id, self.text, self.image = case_id, text, image

    assert data_digest([Plain("a", "x", "/one/a.npy")]) == data_digest([Plain("a", "x", "/two/a.npy")])
    assert data_digest([Plain("a", "x", "/one/a.npy")]) != data_digest([Plain("a", "y", "/one/a.npy")])
    assert data_digest([EchoCase("a", Path("/one"), "x")]) != data_digest([EchoCase("a", Path("/one"), "y")])


def test_data_set_cards_match_names_aliases_and_hub_ids():
    card = DataSetCard("flare-2025", "t", "Org/Data-Set", ("train",), "l", "u", aliases=("f25",))
    assert card.matches("FLARE 2025") and card.matches("f_25") and card.matches("org/data-set")
    assert not card.matches("flare2026") and not card.matches("") and not card.matches("Org/Data")


def test_training_names_no_benchmark():
    """harness/training, `harness finetune` and the case-image dataset reach tasks through the contract only."""
    import re

    files = [*sorted((REPO / "harness" / "training").glob("*.py")), REPO / "harness" / "cli" / "finetune.py",
             REPO / "harness" / "data" / "dataset.py"]
    pattern = re.compile(r"flare|med3dvlm|green-radllama|amos|ct-rate|harness_plugins", re.IGNORECASE)
    found = [f"{path.relative_to(REPO)}:{n}" for path in files
             for n, line in enumerate(path.read_text().splitlines(), start=1) if pattern.search(line)]
    assert found == []
