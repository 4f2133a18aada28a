"""The task contract: what a benchmark task plugin provides, on one page.

A task turns a data set into prompts and scores what a model answers. The run loop calls it in one
direction only::

    task.load_data(data, split=...)          -> LoadedData(cases, identity)
    task.requests(case, style=..., ...)      -> [Request]            (one per prompt)
    generation                               -> completion text per request
    task.parse(request, completion)          -> the answer a scorer reads (Prediction.prediction)
    task.score(predictions, cases, judge=..., cache_dir=...) -> scores (a JSON object with "task")

Optional members have working defaults: `target` (the training target of a request, for
`harness finetune`), `score_file` (scoring files other than the harness's predictions.jsonl, for
`harness score`), `load_ground_truth` (the cases of ``harness score --ground-truth FILE``), `datasets`
(named data sets, for `--data NAME` and `harness list datasets`), `write_demo` and `preprocess` (for
`harness data demo` and `harness preprocess`), `answer_parts` (an answer text split into the named parts
its ``breakdown`` metrics score, for the leaderboard's per-case browser).

The metric specs are what the leaderboard shows (columns, direction, breakdown tables) and what a result
file's scores are checked against (`harness.results.validate_result`).

Subclass `Task` (an ABC) or provide the same members; `check_task` verifies a task class when the
registry first resolves it, and a class missing a member is one error line naming its plugin.

    >>> class Echo(Task):
    ...     name, version, data_format = "echo", "1", "echo-jsonl"
    ...     metrics = (MetricSpec("accuracy", "Accuracy", primary=True),)
    ...     decoding = {"answer": {"do_sample": False, "max_new_tokens": 8}}
    ...     def load_data(self, data, *, split=None): return LoadedData([], {"name": str(data), "split": split})
    ...     def requests(self, case, *, style, image_tokens, tokenizer): return []
    ...     def parse(self, request, completion): return completion.strip()
    ...     def score(self, predictions, cases, *, judge=None, cache_dir=None): return {"task": "echo"}
    >>> check_task(Echo, plugin="doc")
    >>> Echo().metric("accuracy").label
    'Accuracy'
"""

from __future__ import annotations

import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from harness.errors import HarnessError, UnavailableError

__all__ = [
    "Case",
    "DataSetCard",
    "LoadedData",
    "MetricSpec",
    "Prediction",
    "Request",
    "Task",
    "check_task",
]


@runtime_checkable
class Case(Protocol):
    """What the core reads of a task's case: its id and its image (the rest is the task's own)."""

    case_id: str
    image: Path | None


@dataclass
class Request:
    key: str
    """Unique within a run (e.g. ``"{case_id}/{scope}/{index}"``): the resume key."""
    case_id: str
    scope: str
    """The kind of prompt (a task's own word: ``report``, ``global``, ``answer``...); decoding is per scope."""
    question_id: int | None
    question: str
    prompt: str
    """The full prompt text, rendered for the model's prompt style (image placeholders included)."""
    image: Path | None = None
    domain: str | None = None
    """Which of the model's intensity windows the image takes (``Recipe.hu_windows``); None: the only one."""
    target: str | None = None
    """The reference answer: the training target, and kept beside the prediction for browsing."""
    decoding: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prediction:
    key: str
    case_id: str
    scope: str
    question_id: int | None
    question: str
    prediction: str
    """Parsed answer, as the scorer reads it."""
    raw: str = ""
    """The model's text before parsing."""
    reference: str | None = None
    """The request's target, kept for browsing predictions; scorers ignore it."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Prediction:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class LoadedData:
    """The cases of one data argument and what a result file records about them."""

    cases: list[Any]
    identity: dict[str, Any] = field(default_factory=dict)
    """``name``, ``split`` (the one actually read), ``sha256`` of the record files, ``n_cases``; optionally
    ``hub_id``, ``revision`` and ``files``."""


@dataclass(frozen=True)
class DataSetCard:
    """A named data set a task reads (``--data NAME``; `harness list datasets`)."""

    name: str
    title: str
    hub_id: str | None
    splits: tuple[str, ...]
    licence: str
    url: str
    cases: dict[str, int | None] = field(default_factory=dict)
    """Cases per split where known (None: not stated by the publisher)."""
    notes: str = ""
    aliases: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        info = asdict(self)
        info["splits"] = list(self.splits)
        info.pop("aliases")
        return info

    def matches(self, text: str) -> bool:
        """Whether ``text`` names this data set: its hub id in any case, or its name or an alias ignoring case,
        spaces, dashes and underscores (``"Demo Set"`` names ``demo-set``)."""
        if self.hub_id and text.lower() == self.hub_id.lower():
            return True
        key = _name_key(text)
        return bool(key) and key in {_name_key(name) for name in (self.name, *self.aliases)}


def _name_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


@dataclass(frozen=True)
class MetricSpec:
    """One score a task reports, as the leaderboard shows and aggregates it."""

    key: str
    """The key in the scores object and in each ``per_case`` object."""
    label: str
    """Column title on the leaderboard."""
    higher_is_better: bool = True
    aggregate: Literal["mean", "breakdown"] = "mean"
    """``mean``: a number, the (weighted) mean of per-case values; ``breakdown``: an object of named numbers
    (e.g. one per organ), shown as its own table."""
    weight_key: str | None = None
    """Per-case key holding the number of items behind a case's value (absent: 1); the data set's value is
    then the item-weighted mean of case values."""
    count_key: str | None = None
    """Top-level scores key holding how many items the value is over (shown as n)."""
    primary: bool = False
    """The task's headline number; a bare number (or ``{"score": x}``) in ``per_case`` is this metric's value."""
    description: str = ""
    bounds: tuple[float, float] | None = None
    """The closed range every value lies in (``(0.0, 1.0)`` for a fraction); a result outside it is refused."""
    scope: str | None = None
    """The request scope whose answers this metric scores, when it is one: the per-case browser then grades each
    answer of that scope by the case's value."""
    parts: str = "part"
    """For a ``breakdown``: what its names are (``organ``), the first column of its table."""


class Task(ABC):
    """A benchmark task. Class attributes state the contract; methods implement it."""

    name: ClassVar[str]
    version: ClassVar[str]
    """Bumped when prompts, parsing or scoring change: results of different versions never mix."""
    data_format: ClassVar[str]
    """The record format the task reads; tasks that share one read the same data (``finetune --task all``)."""
    metrics: ClassVar[tuple[MetricSpec, ...]]
    decoding: ClassVar[Mapping[str, Mapping[str, Any]]]
    """Default generate options per scope (``{"answer": {"do_sample": False, "max_new_tokens": 32}}``)."""
    reference_decoding: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    """Per scope, the decoding of the task's reference scripts when it differs (``--set decoding=reference``)."""
    training_draw: ClassVar[Mapping[str, str]] = {}
    """How `harness finetune` picks a case's sample in a scope with several requests: ``"first"`` (always the
    first, as a task's reference training may) or ``"random"`` (the default for scopes not listed)."""
    prompt_styles: ClassVar[tuple[str, ...]] = ("chat",)
    """Styles `requests` renders; a model's recipe names one (``Recipe.prompt_style``)."""
    needs_judge: ClassVar[bool] = False
    default_judge: ClassVar[str | None] = None
    """The judge used when none is named (only for tasks that need one)."""
    default_data: ClassVar[str | None] = None
    """What ``--data`` means when omitted (a named data set or hub id), or None: ``--data`` is required."""

    @abstractmethod
    def load_data(self, data: Any, *, split: str | None = None) -> LoadedData:
        """Read and validate the cases of ``data`` (a folder, file, named data set or hub id) for ``split``
        (None: the task's default split). Bad input raises `HarnessError` naming the file and the fix."""

    @abstractmethod
    def requests(self, case: Any, *, style: str, image_tokens: str, tokenizer: Any) -> list[Request]:
        """The prompts of one case, rendered in ``style``, with ``image_tokens`` where the image goes."""

    @abstractmethod
    def parse(self, request: Request, completion: str) -> str:
        """The answer a scorer reads, from the model's text."""

    @abstractmethod
    def score(self, predictions: Sequence[Prediction], cases: Sequence[Any], *, judge: Any = None,
              cache_dir: Path | None = None) -> dict[str, Any]:
        """Scores of ``predictions`` against ``cases``: a JSON object with ``"task": self.name`` and the
        keys of `metrics` (``per_case`` optional). ``judge`` is set when `needs_judge`; ``cache_dir`` is
        where a judge's completions may be cached."""

    def target(self, request: Request) -> str | None:
        """The training target of a request (None: the request cannot be trained on)."""
        return request.target

    def score_file(self, path: Path, *, ground_truth: Path | None, make_judge: Callable[[], Any],
                   cache_dir: Path | None, **options: Any) -> dict[str, Any] | None:
        """Scores of a predictions file that is not the harness's predictions.jsonl (e.g. a reference
        script's CSV), or None when the task reads no such file. ``options`` come from
        ``harness score --score-option KEY=VALUE``; ``make_judge()`` builds the judge when needed."""
        return None

    def load_ground_truth(self, path: Path) -> Sequence[Any]:
        """The cases of a ground-truth file that `score` reads (``harness score --ground-truth FILE``).
        Default: `load_data`'s cases; a task whose `load_data` needs the images overrides it to read the
        references alone."""
        return self.load_data(path).cases

    def datasets(self) -> Sequence[DataSetCard]:
        """Named data sets this task reads (``--data NAME``)."""
        return ()

    def write_demo(self, out: Path, *, cases: int, seed: int, **options: Any) -> Path:
        """Write a small synthetic data set in the task's format to ``out`` (`harness data demo`)."""
        raise UnavailableError(f"task '{self.name}' has no demo data generator")

    def preprocess(self, data: Any, *, out: Path, **options: Any) -> Sequence[tuple[Path, Sequence[str]]]:
        """Write a preprocessed copy of ``data`` (`harness preprocess`; ``data`` is None when the command names
        files instead, e.g. ``json=``/``images=``); returns (written records file, skipped-case errors) pairs."""
        raise UnavailableError(f"task '{self.name}' has no preprocessing")

    def answer_parts(self, text: str) -> dict[str, str]:
        """An answer (or reference) text as its named parts, the names of the task's ``breakdown`` metrics
        (e.g. organ -> sentence), for the per-case browser; {} when the task's answers have no parts."""
        return {}

    def metric(self, key: str) -> MetricSpec:
        for spec in self.metrics:
            if spec.key == key:
                return spec
        raise KeyError(f"task '{self.name}' declares no metric '{key}'")

    def decoding_for(self, scope: str, *, reference: bool = False) -> dict[str, Any]:
        """The generate options of ``scope``: the default, or with ``reference`` the reference scripts'
        (their own keys over the default's)."""
        if scope not in self.decoding:
            raise HarnessError(f"task '{self.name}' declares no decoding for scope '{scope}'; "
                               f"it declares: {', '.join(self.decoding)}")
        base = dict(self.decoding[scope])
        return {**base, **dict(self.reference_decoding.get(scope, {}))} if reference else base


REQUIRED_ATTRIBUTES = ("name", "version", "data_format", "metrics", "decoding")
REQUIRED_METHODS = ("load_data", "requests", "parse", "score")


def check_task(cls: Any, *, plugin: str) -> None:
    """Refuse, in one line naming ``plugin``, a task class (or instance) that lacks part of the contract."""
    problems = [f"attribute '{a}'" for a in REQUIRED_ATTRIBUTES if not hasattr(cls, a)]
    problems += [f"method '{m}'" for m in REQUIRED_METHODS if not callable(getattr(cls, m, None))]
    abstract = sorted(getattr(cls, "__abstractmethods__", ()) or ())
    problems += [f"method '{m}' (abstract)" for m in abstract if f"method '{m}'" not in problems]
    if not problems:
        metrics = cls.metrics
        if not metrics or not all(isinstance(m, MetricSpec) for m in metrics):
            problems.append("'metrics' as a non-empty tuple of harness.task.MetricSpec")
        elif not isinstance(cls.decoding, Mapping) or not all(isinstance(v, Mapping) for v in cls.decoding.values()):
            problems.append("'decoding' as {scope: {generate option: value}}")
        elif missing := _missing_keywords(cls.score, ("judge", "cache_dir")):
            problems.append(f"the keyword parameter(s) {', '.join(missing)} on score (the run loop passes both)")
    if problems:
        who = getattr(cls, "name", None) or getattr(cls, "__name__", repr(cls))
        raise HarnessError(
            f"task '{who}' from plugin '{plugin}' does not follow the task contract: it lacks {', '.join(problems)}; "
            f"subclass harness.task.Task (docs/plugins.md)"
        )


def _missing_keywords(function: Any, names: Sequence[str]) -> list[str]:
    """The ``names`` that ``function`` accepts neither by name nor through ``**kwargs``."""
    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return [name for name in names if name not in parameters]
