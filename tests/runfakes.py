"""In-process `harness run` with a stand-in model: the run loop's bookkeeping tested in milliseconds.

`FakeGenerator` answers every request with a fixed text; `install_fakes` makes `harness.runner.load_generator`
return one per model name, and `cli` calls `harness.cli.main.main` and returns a `CompletedProcess` that the
helpers of tests/badinput.py check.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.recipe import Recipe
from harness.task import Prediction
from harness_plugins.tasks.flare.demo import generate_demo


class FakeTokenizer:
    def apply_chat_template(self, messages: list[dict[str, str]], **_: Any) -> str:
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


class FakeGenerator:
    def __init__(self, name: str = "fake-a", answer: str = "liver", fail_after: int | None = None) -> None:
        self.recipe = Recipe(name=name, encoder="e", projector="p", llm="l", prompt_style="med3dvlm")
        self.image_tokens = "<im>"
        self.tokenizer = FakeTokenizer()
        self.device = "cpu"
        self.dtype_name = "float32"
        self.answer = answer
        self.fail_after = fail_after
        self.generated: list[str] = []
        self.unreadable: set[str] = set()
        """Case ids whose image "cannot be read": skipped, and returned by `generate_all`."""
        self.configs: list[Any] = []
        """The run configurations this model was loaded for."""

    def model_info(self, requested: str) -> dict[str, Any]:
        return {"name": self.recipe.name, "requested": requested, "encoder": "e", "projector": "p", "llm": "l",
                "weights": f"weights of {self.recipe.name}", "sha256": "0" * 64}

    def generate_all(self, task: Any, requests: list, store: Any, *, batch_size: int,
                     progress: bool) -> dict[str, str]:
        bad_cases: dict[str, str] = {}
        for request in requests:
            if request.case_id in self.unreadable:
                bad_cases[request.case_id] = f"{request.case_id}: unreadable image"
                continue
            if self.fail_after is not None and len(self.generated) >= self.fail_after:
                raise KeyboardInterrupt
            store.append([Prediction(request.key, request.case_id, request.scope, request.question_id,
                                     request.question, task.parse(request, self.answer), self.answer)])
            self.generated.append(request.key)
        return bad_cases


def demo_records(folder: Path) -> Path:
    """Three validation cases of the demo data set (each with global and local questions)."""
    root = generate_demo(folder, cases=8, seed=1)
    return root / "validation" / "val.json"


def install_fakes(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeGenerator]:
    """Model name -> the fake generator `harness run` gets for it (created on first use)."""
    import harness.runner

    made: dict[str, FakeGenerator] = {}

    def load(config: Any) -> FakeGenerator:
        generator = made.setdefault(config.model, FakeGenerator(config.model))
        generator.configs.append(config)
        return generator

    monkeypatch.setattr(harness.runner, "load_generator", load)
    monkeypatch.setattr(harness.runner, "_check_model_name", lambda name: None)  # fake names are not in the zoo
    return made


def cli(capsys, *args: str) -> subprocess.CompletedProcess:
    from harness.cli.main import main

    capsys.readouterr()
    environ = dict(os.environ)  # the CLI sets progress-bar and logging switches for its process
    try:
        code = main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(environ)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(["harness", *args], code, captured.out, captured.err)
