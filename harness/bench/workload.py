"""What `harness bench` measures, read from the registries: a zoo model, a judge and the tasks whose prompts
are timed. Plugins declare their part in the ``bench`` metadata of their registration; ``--model``,
``--judge`` and ``--task`` choose others.

- model (``register_models``): ``bench={"tiny_overrides": "module:function"}``; ``function()`` returns the
  `harness.build_model` overrides of the ``tiny`` scale. A model without it is measured as it is.
- judge (``register_judges``): ``bench={"architecture": {config.json fields}, "label": str, "reference":
  {"seconds_per_sample": float, "source": str}}``; the judge class offers ``from_model(model, tokenizer,
  **options)`` and its module the judge's chat template (``GREEN_CHAT_TEMPLATE``).
- task (``register_tasks``): ``bench={"case": "module:function", "new_tokens": {"full": int, "tiny": int},
  "judge_calls_per_case": int}``; ``function(scale)`` returns one typical case, whose `requests` are timed,
  each with exactly that many new tokens; ``judge_calls_per_case`` (optional) is how many judged samples
  scoring one case needs.

Without a name, the first declaring entry is taken (a built-in one first); with none, one line says so.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from harness import plugins
from harness.errors import HarnessError
from harness.registry import Entry

TINY_LLM: dict[str, Any] = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 4, "vocab_size": 512,
}
"""A judge architecture's sizes at the ``tiny`` scale (its other fields are kept)."""


@dataclass(frozen=True)
class ModelWorkload:
    name: str
    overrides: dict[str, Any]


@dataclass(frozen=True)
class JudgeWorkload:
    name: str
    architecture: dict[str, Any]
    label: str
    reference: dict[str, Any] | None
    """A published figure to compare with (``seconds_per_sample``, ``source``), or None."""


@dataclass(frozen=True)
class TaskWorkload:
    name: str
    task: Any
    case: Any
    new_tokens: int
    judge_calls_per_case: int


@dataclass(frozen=True)
class Workload:
    model: ModelWorkload
    judge: JudgeWorkload
    tasks: tuple[TaskWorkload, ...]


def _import(value: Any) -> Any:
    """A ``module:attribute`` string imported; anything else as it is."""
    if not (isinstance(value, str) and ":" in value):
        return value
    module, _, attribute = value.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise HarnessError(f"bench workload '{value}' cannot be loaded: {exc}") from exc


def _declaring(kind: str) -> list[Entry]:
    """Entries of ``kind`` with ``bench`` metadata, built-ins first."""
    registry = plugins.registry(kind)
    entries = [e for e in registry if e.metadata.get("bench")]
    return sorted(entries, key=lambda e: e.distribution != registry.builtin_distribution)


def _entry(kind: str, name: str | None, option: str) -> Entry:
    if name is not None:
        return plugins.registry(kind).get(name)
    declaring = _declaring(kind)
    if not declaring:
        raise HarnessError(f"no installed {kind[:-1]} declares a bench workload; pass {option} NAME")
    return declaring[0]


def model_workload(name: str | None, scale: str) -> ModelWorkload:
    entry = _entry("models", name, "--model")
    spec = entry.metadata.get("bench") or {}
    overrides = _import(spec.get("tiny_overrides")) if scale == "tiny" and isinstance(spec, dict) else None
    return ModelWorkload(entry.name, dict(overrides() if callable(overrides) else overrides or {}))


def judge_workload(name: str | None, scale: str) -> JudgeWorkload:
    entry = _entry("judges", name, "--judge")
    spec = entry.metadata.get("bench")
    if not isinstance(spec, dict) or not isinstance(_import(spec.get("architecture")), dict):
        raise HarnessError(f"judge '{entry.name}' declares no bench architecture (bench={{'architecture': ...}} in "
                           f"its registration); pass --judge with one that does, or --only without judge")
    architecture = dict(_import(spec["architecture"]))
    if scale == "tiny":
        architecture.update(TINY_LLM)
    return JudgeWorkload(entry.name, architecture, str(spec.get("label") or architecture.get("model_type")),
                         spec.get("reference"))


def task_workloads(names: tuple[str, ...], scale: str) -> tuple[TaskWorkload, ...]:
    entries = [plugins.registry("tasks").get(n) for n in names] if names else _declaring("tasks")
    if not entries:
        raise HarnessError("no installed task declares a bench workload; pass --task NAME")
    out = []
    for entry in entries:
        spec = entry.metadata.get("bench")
        if not isinstance(spec, dict) or "case" not in spec or scale not in (spec.get("new_tokens") or {}):
            raise HarnessError(f"task '{entry.name}' declares no bench workload for the {scale} scale "
                               f"(bench={{'case': ..., 'new_tokens': {{'{scale}': N}}}} in its registration); "
                               f"pass --task with one that does")
        case = _import(spec["case"])(scale)
        out.append(TaskWorkload(entry.name, entry.create(), case, int(spec["new_tokens"][scale]),
                                int(spec.get("judge_calls_per_case", 0))))
    return tuple(out)


def resolve(scale: str, *, sections: tuple[str, ...], model: str | None = None, judge: str | None = None,
            tasks: tuple[str, ...] = ()) -> Workload:
    """The workload of the sections to measure (a section that is not measured needs no declaration)."""
    needs_model = bool({"vision", "generation", "training"} & set(sections))
    needs_tasks = bool({"generation", "training", "judge"} & set(sections))
    return Workload(
        model=model_workload(model, scale) if needs_model else ModelWorkload(model or "-", {}),
        judge=judge_workload(judge, scale) if "judge" in sections else JudgeWorkload(judge or "-", {}, "-", None),
        tasks=task_workloads(tasks, scale) if needs_tasks else (),
    )
