"""A toy task following the harness task contract: name the organs a CT report describes.

One request per case. The target is the record's findings keys, comma-separated; a prediction is
parsed into a set of lower-case organ names and scored by F1 against that set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.errors import HarnessError
from harness.task import Prediction, Request
from harness_plugins.tasks.flare.records import Case

QUESTION = "Which organs does the report of this CT scan describe? Answer with a comma-separated list."


def organ_set(text: str) -> set[str]:
    return {part.strip().lower() for part in text.split(",") if part.strip()}


def f1(predicted: set[str], reference: set[str]) -> float:
    if not predicted and not reference:
        return 1.0
    overlap = len(predicted & reference)
    return 2 * overlap / (len(predicted) + len(reference))


class OrganListTask:
    name = "example_organs"
    version = "1"
    decoding: dict[str, Any] = {"do_sample": False, "max_new_tokens": 64}

    def requests(self, case: Case, *, style: str, image_tokens: str, tokenizer: Any) -> list[Request]:
        """One prompt per case, rendered with the tokenizer's chat template (the same for every style)."""
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise HarnessError(f"{self.name} renders prompts with a chat template; the tokenizer has none")
        messages = [{"role": "user", "content": f"{image_tokens} {QUESTION}"}]
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return [
            Request(
                key=f"{case.case_id}/global/0",
                case_id=case.case_id,
                scope="global",
                question_id=0,
                question=QUESTION,
                prompt=prompt,
                image=case.image,
                domain=case.domain,
                target=", ".join(case.findings),
                decoding=dict(self.decoding),
            )
        ]

    def target(self, request: Request) -> str:
        return request.target or ""

    def parse(self, request: Request, completion: str) -> str:
        return ", ".join(sorted(organ_set(completion)))

    def score(self, predictions: Sequence[Prediction], cases: Sequence[Case], *, judge: Any = None) -> dict[str, Any]:
        by_case = {case.case_id: case for case in cases}
        per_case = {
            p.case_id: f1(organ_set(p.prediction), {organ.lower() for organ in by_case[p.case_id].findings})
            for p in predictions
            if p.case_id in by_case
        }
        mean = sum(per_case.values()) / len(per_case) if per_case else 0.0
        return {"task": self.name, "f1": mean, "n_cases": len(per_case), "per_case": per_case}
