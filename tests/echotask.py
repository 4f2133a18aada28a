"""A tiny task of a data format other than FLARE's ("echo-jsonl"), for the tests that train or select tasks:
`EchoTask` repeats a case's text and has a named data set (``echo-set``); `EchoLengthTask` reads the same format
but gives no training targets. `echo_data` writes a data set; `echo_plugin` installs both tasks in-process."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import hookimpl, plugins
from harness.errors import HarnessError
from harness.task import DataSetCard, LoadedData, MetricSpec, Request, Task


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
        named = str(data).lower() in {"echo-set", "echoes"} and not Path(str(data)).exists()
        folder = self.folder if named else Path(str(data))
        if folder is None or not (folder / "echo.jsonl").is_file():
            raise HarnessError(f"--data {data}: no echo.jsonl in it")
        records = folder / "echo.jsonl"
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


def echo_data(folder: Path, cases: int = 3) -> Path:
    """``cases`` cases with processed (1, 4, 8, 8) images of constant value i / cases and the text "text i"."""
    folder.mkdir(parents=True)
    rows = []
    for i in range(cases):
        np.save(folder / f"c{i}.npy", np.full((1, 4, 8, 8), i / cases, dtype=np.float32))
        rows.append(json.dumps({"case_id": f"c{i}", "image": f"c{i}.npy", "text": f"text {i}"}))
    (folder / "echo.jsonl").write_text("\n".join(rows) + "\n")
    return folder


@contextlib.contextmanager
def echo_plugin(folder: Path) -> Iterator[None]:
    """Both echo tasks installed beside the others, ``echo-set`` naming ``folder``."""
    EchoTask.folder = folder
    try:
        with plugins.temporary_plugin(EchoPlugin(), "echo"):
            yield
    finally:
        EchoTask.folder = None
