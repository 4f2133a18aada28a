"""FLARE 2025 Task 5 (MLLM-3D): report generation (`flare_report`) and VQA (`flare_vqa`).

Prompt styles:

- ``med3dvlm``: the published Med3DVLM prompts, reproduced exactly because its weights were trained on
  them. Report: the system sentence and the rest of the prompt go through the chat template *without* a
  generation prompt, and the image placeholders are prepended to the whole text. VQA: a fixed system
  message; the placeholders, a space and the question form the user turn; no generation prompt.
- ``chat``: the corrected form for new models: placeholders inside the user turn and a generation prompt.

Parsing follows the reference scripts: a local chain answer written as numbered lines becomes
``"a1|a2|..."``; an empty answer is written as ``"None"``.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.task import DataSetCard, LoadedData, MetricSpec, Prediction, Request, Task
from harness_plugins.tasks.flare.catalog import DATASETS, FLARE2025_HUB_ID
from harness_plugins.tasks.flare.chains import prompt_chain, roots
from harness_plugins.tasks.flare.records import Case

REPORT_PROMPT = (
    "You are an AI assistant trained to act as an abdominal radiologist. Please describe in detail the "
    "findings in this abdomen CT scan.\n        "
)
VQA_SYSTEM = (
    "You are an AI assistant acting as a radiologist tasked with answering a multiple-choice question "
    "based on a CT scan."
)
STYLES = ("med3dvlm", "chat")


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise HarnessError(f"unknown prompt style '{style}'; styles are: {', '.join(STYLES)}")


def _render(tokenizer: Any, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def render_findings(findings: dict[str, str]) -> str:
    """The report target: ``organ: text`` lines in the record's order."""
    return "\n".join(f"{organ}: {text}" for organ, text in findings.items())


def with_choices(question: str, choices: Sequence[str] | None) -> str:
    """Question text as the reference writes it: stripped, then `` Choices: ['a', 'b']`` (Python repr)."""
    text = question.rstrip()
    return f"{text} Choices: {list(choices)!r}" if choices else text


def numbered_lines(items: Sequence[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, start=1))


def parse_numbered(text: str) -> str:
    """``"1. a\\n2. b"`` -> ``"a|b"`` when every non-empty line is numbered; otherwise the text unchanged."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    numbered = [re.sub(r"^\s*\d+\.\s*", "", line).strip() for line in lines if re.match(r"^\s*\d+\.\s*", line)]
    return "|".join(numbered) if numbered and len(numbered) == len(lines) else text


class FlareTask(Task):
    """What both FLARE tasks share: the record format, its named data sets, the demo generator,
    preprocessing, the reference scripts' CSV files and the prompt styles."""

    data_format = "flare"
    default_data = FLARE2025_HUB_ID
    prompt_styles = STYLES

    def load_data(self, data: Any, *, split: str | None = None) -> LoadedData:
        from harness_plugins.tasks.flare.loading import load_data

        return load_data(data, split=split)

    def load_ground_truth(self, path: Path) -> list[Case]:
        """The records of a FLARE JSON file; their images need not exist (scoring reads the references only)."""
        from harness_plugins.tasks.flare.files import read_records

        return read_records(path)

    def datasets(self) -> Sequence[DataSetCard]:
        return DATASETS

    def write_demo(self, out: Path, *, cases: int, seed: int, layout: str = "flare2025", **options: Any) -> Path:
        """The synthetic demo set (`demo.generate_demo`) in the published layout ``layout`` (``flare2025``:
        FLARE 2025's file names, with the space in "CT-RATE-Tr .json"; ``flare2026``)."""
        from harness_plugins.tasks.flare.demo import LAYOUTS, generate_demo
        from harness_plugins.tasks.flare.preprocess import write_error

        _refuse_options(options, "demo", "layout")
        if cases < 2:
            raise HarnessError(f"--cases {cases}: the demo set needs at least 2 cases (train and validation)")
        if seed < 0:
            raise HarnessError(f"--seed {seed}: give a seed of 0 or more")
        if layout not in LAYOUTS:
            raise HarnessError(f"--layout {layout}: use one of {', '.join(LAYOUTS)}")
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise HarnessError(f"--out {out}: is a file; pass a folder to write the data set into")
        try:
            return generate_demo(out, cases=cases, seed=seed, layout=layout)
        except OSError as exc:
            raise write_error(Path(exc.filename or out), exc) from None

    def preprocess(self, data: Any, *, out: Path, split: str | None = None, json: str | Path | None = None,
                   images: str | Path | None = None, size: Sequence[int] | None = None, workers: int = 1,
                   float16: bool = False, on_bad_case: str = "error", progress: bool = True,
                   **options: Any) -> list[tuple[Path, list[str]]]:
        """The reference preprocessing (`preprocess`) of every record file of ``data``'s ``split``, or, with
        ``data=None``, of one records file ``json`` whose images are in ``images``. Returns (processed records
        file, errors of the skipped cases) per record file. ``size`` (D, H, W): default the reference's."""
        from harness_plugins.tasks.flare.preprocess import preprocess, preprocess_data

        _refuse_options(options, "preprocess", "split, json, images, size, workers, float16, on_bad_case, progress")
        common: dict[str, Any] = dict(workers=workers, float16=float16, on_bad_case=on_bad_case, progress=progress)
        if size is not None:
            common["size"] = size
        if data is not None:
            if json is not None or images is not None:
                raise HarnessError("--data and --json/--images: pass one of them (a data set, or one records file)")
            return preprocess_data(data, out, split=split, **common)
        if json is None or images is None:
            raise HarnessError("pass --data DATA [--split S], or --json FILE with --images DIR")
        if split is not None:
            raise HarnessError("--split goes with --data; with --json the file itself is the split")
        return [preprocess(json, images, out, **common)]

    def score_file(self, path: Path, *, ground_truth: Path | None, make_judge: Callable[[], Any],
                   cache_dir: Path | None, local_separator: str = "|", **options: Any) -> dict[str, Any] | None:
        """Scores of a reference script's CSV (report: name, gt, generated; VQA: case_id, scope, question_id,
        question, prediction), or None for any other file (the harness's predictions.jsonl).

        ``local_separator``: between a local chain's answers in a VQA CSV, '|' (official) or ',' (submissions
        written before the organisers' "fix VQA eval" commit); the harness's own files always use '|'."""
        from harness_plugins.tasks.flare.files import CSV_KINDS, csv_kind

        _refuse_options(options, "score", "local_separator")
        path = Path(path)
        if path.suffix.lower() != ".csv":
            if local_separator != "|":
                raise HarnessError(f"--score-option local_separator={local_separator} is for reference VQA CSV files; "
                                   f"{path} was written by the harness with '|'")
            return None
        kind = csv_kind(path)
        if kind != self.name:
            raise HarnessError(f"{path} is a {CSV_KINDS[kind]} CSV, which scores as `harness score {kind}`, "
                               f"not {self.name}")
        return self._score_csv(path, ground_truth=ground_truth, make_judge=make_judge, cache_dir=cache_dir,
                               local_separator=local_separator)

    @abstractmethod
    def _score_csv(self, path: Path, *, ground_truth: Path | None, make_judge: Callable[[], Any],
                   cache_dir: Path | None, local_separator: str) -> dict[str, Any]:
        """Scores of a CSV of this task's kind."""


def _refuse_options(options: dict[str, Any], what: str, known: str) -> None:
    if options:
        raise HarnessError(f"unknown {what} option(s) {', '.join(sorted(options))} for the FLARE tasks; "
                           f"they take: {known}")


class FlareReportTask(FlareTask):
    """CT report generation, scored by per-organ GREEN as the FLARE organisers do."""

    name = "flare_report"
    version = "1"
    needs_judge = True
    default_judge = "hf"
    metrics = (
        MetricSpec("green", "GREEN", primary=True, count_key="n_cases", bounds=(0.0, 1.0), scope="report",
                   description="official FLARE averaging: per organ over the cases whose reference has it"),
        MetricSpec("organs", "GREEN per organ", aggregate="breakdown", bounds=(0.0, 1.0), parts="organ",
                   description="official FLARE averaging: mean over the cases whose reference has the organ"),
        MetricSpec("organs_all_cases", "GREEN per organ, all cases", aggregate="breakdown", bounds=(0.0, 1.0),
                   parts="organ",
                   description="Med3DVLM README averaging: mean over all cases, 0 where the reference lacks the organ"),
    )
    decoding = {"report": {"do_sample": False, "max_new_tokens": 512}}

    def __init__(self, prompt: str = REPORT_PROMPT) -> None:
        self.prompt = prompt

    def requests(self, case: Case, *, style: str, image_tokens: str, tokenizer: Any) -> list[Request]:
        _check_style(style)
        if style == "med3dvlm":
            system, _, rest = self.prompt.partition(".")
            messages = [{"role": "system", "content": system + "."}, {"role": "user", "content": rest}]
            prompt = image_tokens + _render(tokenizer, messages, generation_prompt=False)
        else:
            messages = [{"role": "user", "content": image_tokens + " " + self.prompt.strip()}]
            prompt = _render(tokenizer, messages, generation_prompt=True)
        return [
            Request(
                key=f"{case.case_id}/report/0",
                case_id=case.case_id,
                scope="report",
                question_id=None,
                question=self.prompt,
                prompt=prompt,
                image=case.image,
                domain=case.domain,
                target=render_findings(case.findings),
                decoding=self.decoding_for("report"),
            )
        ]

    def parse(self, request: Request, completion: str) -> str:
        return completion

    def answer_parts(self, text: str) -> dict[str, str]:
        from harness_plugins.tasks.flare.report import parse_organs

        return parse_organs(text)

    def score(self, predictions: Sequence[Prediction], cases: Sequence[Case], *, judge: Any = None,
              cache_dir: Any = None) -> dict[str, Any]:
        from harness.scoring.judging import GreenScorer
        from harness_plugins.tasks.flare.report import score_reports

        if judge is None:
            raise HarnessError("flare_report needs a GREEN judge: pass --judge (e.g. --judge lexical offline)")
        by_case = {c.case_id: c for c in cases}
        # The official scorer reads the reference as the rendered "organ: text" lines (the CSV's gt column) and
        # parses it back; scoring the same text keeps its behaviour on unusual organ names or line breaks.
        items = [(p.case_id, render_findings(by_case[p.case_id].findings), p.prediction)
                 for p in predictions if p.case_id in by_case]
        return score_reports(items, GreenScorer(judge, cache_dir=cache_dir))

    def _score_csv(self, path: Path, *, ground_truth: Path | None, make_judge: Callable[[], Any],
                   cache_dir: Path | None, local_separator: str) -> dict[str, Any]:
        """A report CSV carries its references (gt): ``ground_truth`` is not read."""
        from harness.scoring.judging import GreenScorer
        from harness_plugins.tasks.flare.files import read_report_csv
        from harness_plugins.tasks.flare.report import score_reports

        return score_reports(read_report_csv(path), GreenScorer(make_judge(), cache_dir=cache_dir))


_REFERENCE_SAMPLING = {"do_sample": True, "top_p": 0.9, "temperature": 1.0}


class FlareVQATask(FlareTask):
    """Global multi-label questions and local question chains, scored by global and local accuracy."""

    name = "flare_vqa"
    version = "1"
    metrics = (
        MetricSpec("global_accuracy", "VQA global", primary=True, weight_key="n_global", count_key="n_global",
                   bounds=(0.0, 1.0), scope="global"),
        MetricSpec("local_accuracy", "VQA local", weight_key="n_local", count_key="n_local", bounds=(0.0, 1.0),
                   scope="local"),
    )
    decoding = {"global": {"do_sample": False, "max_new_tokens": 128},
                "local": {"do_sample": False, "max_new_tokens": 64}}
    reference_decoding = {"global": _REFERENCE_SAMPLING, "local": _REFERENCE_SAMPLING}
    training_draw = {"global": "first"}
    """The reference training asks a case's first global question (and a random local chain)."""
    """The reference scripts sample; ``--set decoding=reference`` selects it (recorded in the result)."""

    def _prompt(self, question: str, *, style: str, image_tokens: str, tokenizer: Any) -> str:
        _check_style(style)
        messages = [{"role": "system", "content": VQA_SYSTEM},
                    {"role": "user", "content": image_tokens + " " + question}]
        return _render(tokenizer, messages, generation_prompt=style == "chat")

    def requests(self, case: Case, *, style: str, image_tokens: str, tokenizer: Any) -> list[Request]:
        out: list[Request] = []
        for index, g in enumerate(case.global_vqa):
            question = with_choices(g.question, g.choices)
            out.append(Request(
                key=f"{case.case_id}/global/{index}",
                case_id=case.case_id,
                scope="global",
                question_id=None,
                question=g.question,
                prompt=self._prompt(question, style=style, image_tokens=image_tokens, tokenizer=tokenizer),
                image=case.image,
                domain=case.domain,
                target=", ".join(g.answer),
                decoding=self.decoding_for("global"),
            ))
        for root in roots(case):
            chain = prompt_chain(case, root)
            question = numbered_lines([with_choices(q.question, q.choices) for q in chain])
            out.append(Request(
                key=f"{case.case_id}/local/{root.id}",
                case_id=case.case_id,
                scope="local",
                question_id=root.id,
                question=question,
                prompt=self._prompt(question, style=style, image_tokens=image_tokens, tokenizer=tokenizer),
                image=case.image,
                domain=case.domain,
                target=numbered_lines([q.answer for q in chain]),
                decoding=self.decoding_for("local"),
            ))
        return out

    def parse(self, request: Request, completion: str) -> str:
        text = completion.strip()
        if request.scope == "local":
            text = parse_numbered(text)
        return text or "None"

    def score(self, predictions: Sequence[Prediction], cases: Sequence[Case], *, judge: Any = None,
              cache_dir: Any = None) -> dict[str, Any]:
        from harness_plugins.tasks.flare.vqa import score_vqa

        rows = [{"case_id": p.case_id, "scope": p.scope, "question_id": p.question_id, "question": p.question,
                 "prediction": p.prediction} for p in predictions]
        return score_vqa(rows, list(cases))

    def _score_csv(self, path: Path, *, ground_truth: Path | None, make_judge: Callable[[], Any],
                   cache_dir: Path | None, local_separator: str) -> dict[str, Any]:
        from harness_plugins.tasks.flare.files import read_vqa_csv
        from harness_plugins.tasks.flare.vqa import score_vqa

        if ground_truth is None:
            raise HarnessError(f"{self.name} predictions need --ground-truth FILE (the FLARE records JSON)")
        return score_vqa(read_vqa_csv(path), self.load_ground_truth(ground_truth), local_separator=local_separator)
