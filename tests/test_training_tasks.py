"""Which tasks `harness finetune --task` trains (`harness.training.selection`) with two data formats installed:
the FLARE tasks and a tiny in-test format ("echo"), and how training reads any task's cases and targets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness import hookimpl, plugins
from harness.errors import HarnessError
from harness.task import DataSetCard, LoadedData, MetricSpec, Request, Task
from harness.training.selection import select_tasks


@dataclass
class EchoCase:
    case_id: str
    image: Path | None
    text: str
    domain: str | None = None


class EchoTask(Task):
    """Repeat a case's text: a format FLARE's loader cannot read, with a named data set of its own."""

    name, version, data_format = "echo_say", "1", "echo-jsonl"
    metrics = (MetricSpec("accuracy", "Accuracy", primary=True),)
    decoding = {"answer": {"do_sample": False, "max_new_tokens": 8}}
    folder: Path | None = None
    """Where the named data set ``echo-set`` lies (set by the fixture)."""

    def datasets(self) -> tuple[DataSetCard, ...]:
        return (DataSetCard("echo-set", "Echo test set", None, ("train",), "none", "-", aliases=("echoes",)),)

    def load_data(self, data: Any, *, split: str | None = None) -> LoadedData:
        folder = self.folder if str(data).lower() in {"echo-set", "echoes"} else Path(str(data))
        records = folder / "echo.jsonl"
        if folder is None or not records.is_file():
            raise HarnessError(f"--data {data}: no echo.jsonl in it")
        rows = [json.loads(line) for line in records.read_text().splitlines()]
        cases = [EchoCase(r["case_id"], folder / r["image"], r["text"]) for r in rows]
        return LoadedData(cases, {"name": folder.name, "split": split, "n_cases": len(cases)})

    def requests(self, case: EchoCase, *, style: str, image_tokens: str, tokenizer: Any) -> list[Request]:
        return [Request(key=f"{case.case_id}/answer/0", case_id=case.case_id, scope="answer", question_id=None,
                        question="Say it.", prompt=f"{image_tokens} Say it.", image=case.image, target=case.text)]

    def parse(self, request: Request, completion: str) -> str:
        return completion.strip()

    def score(self, predictions, cases, *, judge=None, cache_dir=None) -> dict[str, Any]:
        return {"task": self.name, "accuracy": 0.0}


class EchoLengthTask(EchoTask):
    """Same format, evaluation only: its requests give no training target."""

    name = "echo_length"

    def target(self, request: Request) -> str | None:
        return None


class EchoPlugin:
    @hookimpl
    def register_tasks(self, register):
        register("echo_say", EchoTask, description="test: repeat the text")
        register("echo_length", EchoLengthTask, description="test: evaluation only")


@pytest.fixture
def echo(tmp_path: Path):
    """The echo tasks installed beside FLARE's, with a three-case data set (processed .npy images)."""
    folder = tmp_path / "echo-data"
    folder.mkdir()
    rows = []
    for i in range(3):
        np.save(folder / f"c{i}.npy", np.full((1, 4, 8, 8), i / 3, dtype=np.float32))
        rows.append(json.dumps({"case_id": f"c{i}", "image": f"c{i}.npy", "text": f"text {i}"}))
    (folder / "echo.jsonl").write_text("\n".join(rows) + "\n")
    EchoTask.folder = folder
    with plugins.temporary_plugin(EchoPlugin(), "echo"):
        yield folder
    EchoTask.folder = None


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


def test_all_with_a_local_folder_picks_the_one_format_that_reads_it(echo, flare_folder: Path):
    assert select_tasks("all", str(echo), split="train").names == ["echo_length", "echo_say"]
    chosen = select_tasks("all", str(flare_folder), split="train")
    assert chosen.names == ["flare_report", "flare_vqa"] and chosen.data.cases


def test_all_is_refused_when_nothing_tells_the_format(echo, tmp_path: Path):
    with pytest.raises(HarnessError, match=r"--task all: no installed task names a data set 'nosuch'.*"
                                           r"echo-jsonl: echo_length, echo_say; flare: flare_report, flare_vqa\); name the tasks with --task a,b"):
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
