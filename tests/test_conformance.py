"""Conformance of every registered component (harness.testing), and proof that the checks catch
broken components."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from harness import hookimpl, plugins
from harness.errors import HarnessError, UnavailableError
from harness.testing import (
    ConformanceError,
    TestHarnessConformance,  # noqa: F401  (collected: one case per registered component)
    check_encoder,
    check_judge,
    check_projector,
    check_task,
    run_conformance,
    sample_case,
)


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch):
    """Components that need the Hub (the `hf` judge) skip at once instead of waiting on the network.

    huggingface_hub reads HF_HUB_OFFLINE when it is first imported, so set its constant too."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


class LyingEncoder(nn.Module):
    """Declares 16 tokens but returns 8."""

    stages = ["s0"]

    def feature_shapes(self) -> list[tuple[int, int]]:
        return [(16, 4)]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return [torch.zeros(images.shape[0], 8, 4)]


class WideProjector(nn.Module):
    num_tokens = 4

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return torch.zeros(features[0].shape[0], self.num_tokens, 7)


class DedupingJudge:
    """Answers each distinct prompt once: loses one completion per repeat."""

    id = "dedup"

    def complete(self, prompts: list[str]) -> list[str]:
        return list(dict.fromkeys(prompts))


class NoImageTask:
    name = "no-image"
    version = "1"
    decoding: dict = {}

    def requests(self, case, *, style, image_tokens, tokenizer):
        from harness.task import Request

        return [Request(f"{case.case_id}/report/0", case.case_id, "report", None, "q", "no image here", target="t")]

    def parse(self, request, completion):
        return completion


def test_encoder_check_catches_undeclared_shapes():
    with pytest.raises(ConformanceError, match=r"feature 0 has shape \(1, 8, 4\), expected \(1, 16, 4\)"):
        check_encoder(LyingEncoder(), input_size=(8, 8, 8))


def test_projector_check_catches_wrong_width():
    with pytest.raises(ConformanceError, match=r"output shape \(2, 4, 7\), expected \(2, 4, 64\)"):
        check_projector(WideProjector())


def test_judge_check_catches_missing_completions():
    with pytest.raises(ConformanceError, match="2 completions for 3 prompts"):
        check_judge(DedupingJudge())


def test_task_check_catches_prompts_without_image_tokens():
    with pytest.raises(ConformanceError, match="must contain the image tokens"):
        check_task(NoImageTask(), SimpleNamespace(case_id="c1", image=None), tokenizer=object())


class DemoTask(NoImageTask):
    """A task whose sample case comes from its own demo writer."""

    prompt_styles = ("plain", "chat")

    def write_demo(self, out, *, cases, seed):
        out.mkdir(parents=True)
        (out / "cases.txt").write_text("\n".join(f"demo{i}" for i in range(cases)))
        return out

    def load_data(self, data, *, split=None):
        from harness.task import LoadedData

        names = (Path(data) / "cases.txt").read_text().split()
        return LoadedData([SimpleNamespace(case_id=name, image=None) for name in names], {"name": str(data)})

    def requests(self, case, *, style, image_tokens, tokenizer):
        from harness.task import Request

        self.styles_seen = [*getattr(self, "styles_seen", []), style]
        return [Request(f"{case.case_id}/answer/0", case.case_id, "answer", None, "q", f"{image_tokens} q", target="t")]


def test_the_task_check_takes_its_sample_case_and_style_from_the_task():
    task = DemoTask()
    assert sample_case(task).case_id == "demo0"
    (request,) = check_task(task, tokenizer=object())
    assert request.case_id == "demo0" and task.styles_seen == ["plain"]


def test_a_task_with_no_sample_case_is_told_how_to_give_one():
    with pytest.raises(ConformanceError, match="no case to check it with: give the task a write_demo"):
        check_task(NoImageTask(), tokenizer=object())


class _AlwaysRefuses:
    def __init__(self, **options):
        raise HarnessError("judge 'refuser' refuses every option")


class _NeedsTheHub:
    def __init__(self, **options):
        raise UnavailableError("cannot get 'org/judge' from the Hugging Face Hub (offline)")


@pytest.mark.parametrize("factory,outcome", [(_AlwaysRefuses, "failed"), (_NeedsTheHub, "skipped")])
def test_only_unavailable_here_is_a_skip(factory, outcome):
    class Plugin:
        @hookimpl
        def register_judges(self, register):
            register("conformance-probe", factory)

    with plugins.temporary_plugin(Plugin(), "probe"):
        if outcome == "skipped":
            with pytest.raises(pytest.skip.Exception, match="unavailable here"):
                run_conformance("judges", "conformance-probe")
        else:
            with pytest.raises(HarnessError, match="refuses every option"):
                run_conformance("judges", "conformance-probe")
