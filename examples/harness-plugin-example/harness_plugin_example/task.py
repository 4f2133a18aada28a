"""A task that is not FLARE: count the lesions in a 3D volume (`example_lesion_count`).

It brings everything a task owns: its data format and loader (`harness_plugin_example.data`), its prompt
(the tokenizer's chat template), its parser (the first number in the answer, digits or a word), its metrics
(exact match, and the mean absolute error of the counts) and its decoding. The harness knows none of it:
it reads only the contract of `harness.task.Task`.

    >>> task = LesionCountTask()
    >>> task.parse(None, "There are three lesions."), task.parse(None, "No lesions."), task.parse(None, "?")
    ('3', '0', '')
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.task import DataSetCard, LoadedData, MetricSpec, Prediction, Request, Task
from harness_plugin_example import data as lesion_data

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
WORDS = {word: i for i, word in enumerate(NUMBER_WORDS)} | {"no": 0, "none": 0}
NUMBER = re.compile(r"[0-9]+|\b(?:" + "|".join(WORDS) + r")\b", re.IGNORECASE)
SCOPE = "answer"
CSV_COLUMNS = ("case_id", "prediction")


def parse_count(text: str) -> str:
    """The first count in ``text`` in digits (``"two"`` -> ``"2"``, ``"no lesions"`` -> ``"0"``); ``""`` if none."""
    match = NUMBER.search(text)
    if match is None:
        return ""
    token = match.group(0).lower()
    return str(WORDS[token]) if token in WORDS else str(int(token))


class LesionCountTask(Task):
    """How many lesions does the volume hold? One question per case, scored by exact match and count error."""

    name = "example_lesion_count"
    version = "1"
    data_format = "example-lesion-jsonl"
    metrics = (
        MetricSpec("exact_match", "Exact match", primary=True, count_key="n_cases",
                   description="share of cases whose parsed count equals the reference (no number: wrong)"),
        MetricSpec("mae", "Count MAE", higher_is_better=False, count_key="n_parsed",
                   description="mean absolute error of the count over the answers that name a number"),
    )
    decoding = {SCOPE: {"do_sample": False, "max_new_tokens": 8}}
    prompt_styles = ("chat",)
    needs_judge = False
    default_data = lesion_data.DEMO_NAME

    def load_data(self, data: Any, *, split: str | None = None) -> LoadedData:
        path, split, name = lesion_data.resolve(data, split)
        cases = lesion_data.read_cases(path)
        return LoadedData(cases, lesion_data.identity(path, split, name, len(cases)))

    def datasets(self) -> Sequence[DataSetCard]:
        return (DataSetCard(
            name=lesion_data.DEMO_NAME,
            title="Synthetic lesion counting: bright spheres in a 16x32x32 body (shipped with the example plugin)",
            hub_id=None,
            splits=(lesion_data.DEFAULT_SPLIT,),
            licence="Apache-2.0",
            url="examples/harness-plugin-example/README.md",
            cases={lesion_data.DEFAULT_SPLIT: len(lesion_data.read_cases(
                lesion_data.shipped_demo() / f"{lesion_data.DEFAULT_SPLIT}.jsonl"))},
            notes="written by harness_plugin_example.data.write_demo(out, cases=6, seed=0)",
        ),)

    def write_demo(self, out: Path, *, cases: int, seed: int, **options: Any) -> Path:
        if options:
            raise HarnessError(f"{self.name} demo data takes no options; got {', '.join(sorted(options))}")
        return lesion_data.write_demo(out, cases=cases, seed=seed)

    def requests(self, case: lesion_data.LesionCase, *, style: str, image_tokens: str,
                 tokenizer: Any) -> list[Request]:
        """One prompt per case: the image tokens and the question as the user turn of the chat template."""
        if style not in self.prompt_styles:
            raise HarnessError(f"{self.name} renders the prompt style 'chat', not '{style}'; pass --set style=chat")
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise HarnessError(f"{self.name} renders prompts with a chat template; the model's tokenizer has none")
        messages = [{"role": "user", "content": f"{image_tokens} {case.question}"}]
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return [Request(key=f"{case.case_id}/{SCOPE}/0", case_id=case.case_id, scope=SCOPE, question_id=0,
                        question=case.question, prompt=prompt, image=case.image, target=case.answer,
                        decoding=self.decoding_for(SCOPE))]

    def parse(self, request: Request | None, completion: str) -> str:
        return parse_count(completion)

    def score(self, predictions: Sequence[Prediction], cases: Sequence[lesion_data.LesionCase], *,
              judge: Any = None, cache_dir: Path | None = None) -> dict[str, Any]:
        """Exact match over every predicted case; MAE over those whose answer names a number (None: no such case)."""
        answers = {case.case_id: int(case.answer) for case in cases}
        per_case: dict[str, dict[str, float | None]] = {}
        for prediction in predictions:
            if prediction.case_id not in answers:
                raise HarnessError(f"prediction {prediction.key} is for case '{prediction.case_id}', which the "
                                   "ground truth lacks; score against the data the predictions were made for")
            parsed = parse_count(prediction.prediction)
            error = abs(int(parsed) - answers[prediction.case_id]) if parsed else None
            per_case[prediction.case_id] = {"exact_match": float(error == 0), "mae": error}
        errors = [entry["mae"] for entry in per_case.values() if entry["mae"] is not None]
        n = len(per_case)
        return {
            "task": self.name,
            "exact_match": sum(entry["exact_match"] for entry in per_case.values()) / n if n else None,
            "mae": sum(errors) / len(errors) if errors else None,
            "n_cases": n,
            "n_parsed": len(errors),
            "per_case": per_case,
        }

    def score_file(self, path: Path, *, ground_truth: Path | None, make_judge: Callable[[], Any],
                   cache_dir: Path | None, **options: Any) -> dict[str, Any] | None:
        """Scores of a CSV with the columns case_id, prediction (another script's answers), or None for other files."""
        if path.suffix.lower() != ".csv":
            return None
        if options:
            raise HarnessError(f"{self.name} takes no score options; got {', '.join(sorted(options))}")
        if ground_truth is None:
            raise HarnessError(f"{path}: pass --ground-truth with the records file the predictions answer")
        with path.open(newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
        if not rows or not set(CSV_COLUMNS) <= set(rows[0]):
            raise HarnessError(f"{path}: expected a CSV with the columns {', '.join(CSV_COLUMNS)}")
        predictions = [Prediction(f"{row['case_id']}/{SCOPE}/0", row["case_id"], SCOPE, 0, "", row["prediction"])
                       for row in rows]
        return self.score(predictions, self.load_data(ground_truth).cases)
