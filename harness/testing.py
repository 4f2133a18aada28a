"""Conformance checks for plugin components, and the pytest plugin that runs them.

Any plugin author can check their components against the contracts in docs/architecture.md:

    from harness.testing import check_encoder, check_judge, check_projector, check_task

    def test_my_encoder():
        check_encoder("tiny-conv3d")                 # a registered name, or an instance

Or run the same checks over every registered component, parametrised like timm's model tests
(this pytest plugin is loaded automatically; it adds the fixtures ``harness_encoder``,
``harness_projector``, ``harness_judge`` and ``harness_task``, each parametrised over the
registered names):

    from harness.testing import TestHarnessConformance  # noqa: F401  (pytest collects it)

    pytestmark = pytest.mark.harness_plugin("harness-plugin-example")   # only my components

``--harness-plugin NAME`` on the pytest command line does the same as the marker, and
``pytest --pyargs harness.testing`` runs the ready-made suite over everything installed.

A component tunes its checks through its ``conformance`` registration metadata, e.g.
``register("big", factory, conformance={"input_size": (32, 128, 128)})`` or
``conformance={"skip": "needs a GPU"}``. Keys: ``skip``, ``options`` (factory options), and per
kind ``input_size`` (encoders), ``in_shapes``/``out_dim`` (projectors), ``prompts`` (judges),
``style`` and ``data`` (tasks: the prompt style, default the task's first, and what ``load_data``
reads a sample case from, default a demo set from ``write_demo``). Encoders with more than
``max_params`` parameters run their forward pass on the meta device (shapes only), so checking every
registered encoder stays fast.

This module is imported by every pytest run in an environment where the harness is installed:
it must not import torch at import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from harness import plugins
from harness.errors import HarnessError, UnavailableError

if TYPE_CHECKING:
    from harness.task import Request

__all__ = [
    "DEFAULT_IN_SHAPES",
    "DEFAULT_INPUT_SIZE",
    "MAX_PARAMS",
    "TestHarnessConformance",
    "check_encoder",
    "check_judge",
    "check_projector",
    "check_task",
    "example_tokenizer",
    "run_conformance",
    "sample_case",
]

DEFAULT_INPUT_SIZE = (32, 64, 64)
"""(D, H, W) of the volume the encoder check feeds: small, and divisible by 32."""
DEFAULT_IN_SHAPES = [(256, 384), (32, 768)]
"""Feature shapes the projector check feeds: two feature maps, as a hierarchical encoder's last stages give."""
MAX_PARAMS = 50_000_000
"""Encoders larger than this run their checked forward pass on the meta device."""

_FIXTURE_KINDS = {
    "harness_encoder": "encoders",
    "harness_projector": "projectors",
    "harness_judge": "judges",
    "harness_task": "tasks",
}


class ConformanceError(AssertionError):
    """A component that breaks its contract (an AssertionError, so pytest reports it as a failure)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


def _is_shape(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )


def _build(kind: str, component: Any, options: dict[str, Any], device: str | None = None) -> Any:
    """The component itself, or a fresh one when given its registered name."""
    if not isinstance(component, str):
        return component
    entry = plugins.registry(kind).get(component)
    if device is None:
        return entry.create(**options)
    import torch

    with torch.device(device):
        return entry.create(**options)


# --- encoders -------------------------------------------------------------------------------


def check_encoder(
    encoder: Any,
    *,
    input_size: Sequence[int] = DEFAULT_INPUT_SIZE,
    batch_size: int = 1,
    device: str | None = None,
    max_params: int = MAX_PARAMS,
    **options: Any,
) -> list[Any]:
    """Check an encoder (a registered name or a module) and return its features.

    ``feature_shapes()`` must be a non-empty list of ``(N, C)`` and ``forward`` on a
    ``(batch_size, 1, *input_size)`` volume in [0, 1] must return one ``(B, N_i, C_i)`` tensor per
    declared shape, finite. ``device=None`` runs on CPU unless a named encoder has more than
    ``max_params`` parameters, when the forward pass runs on the meta device (shapes only).
    """
    import torch

    input_size = tuple(int(s) for s in input_size)
    if isinstance(encoder, str) and device is None:
        meta = _build("encoders", encoder, {"input_size": input_size, **options}, device="meta")
        device = "meta" if _num_params(meta) > max_params else "cpu"
        model = meta if device == "meta" else _build("encoders", encoder, {"input_size": input_size, **options})
    else:
        model = _build("encoders", encoder, {"input_size": input_size, **options}, device=device)
        device = device or "cpu"
    name = encoder if isinstance(encoder, str) else type(encoder).__name__

    shapes = model.feature_shapes()
    _require(isinstance(shapes, list) and len(shapes) > 0,
             f"encoder {name}: feature_shapes() must be a non-empty list, got {shapes!r}")
    _require(all(_is_shape(s) for s in shapes),
             f"encoder {name}: feature_shapes() must hold (tokens, channels) int pairs, got {shapes!r}")
    stages = getattr(model, "stages", None)
    _require(isinstance(stages, (list, tuple)) and all(isinstance(s, str) for s in stages),
             f"encoder {name}: `stages` must be a list of stage names, got {stages!r}")

    images = torch.rand(batch_size, 1, *input_size, device=device)
    model.eval()
    with torch.no_grad():
        features = model(images)
    _require(isinstance(features, (list, tuple)),
             f"encoder {name}: forward must return a list of feature maps, got {type(features).__name__}")
    _require(len(features) == len(shapes),
             f"encoder {name}: forward returned {len(features)} feature maps, feature_shapes() declares {len(shapes)}")
    for i, (feature, (tokens, channels)) in enumerate(zip(features, shapes, strict=True)):
        _require(isinstance(feature, torch.Tensor), f"encoder {name}: feature {i} is not a tensor")
        _require(tuple(feature.shape) == (batch_size, tokens, channels),
                 f"encoder {name}: feature {i} has shape {tuple(feature.shape)}, "
                 f"expected {(batch_size, tokens, channels)} from feature_shapes()")
        _require(feature.is_floating_point(), f"encoder {name}: feature {i} has dtype {feature.dtype}")
        if device != "meta":
            _require(bool(torch.isfinite(feature).all()), f"encoder {name}: feature {i} has non-finite values")
    return list(features)


def _num_params(model: Any) -> int:
    parameters = getattr(model, "parameters", None)
    return sum(p.numel() for p in parameters()) if callable(parameters) else 0


# --- projectors -----------------------------------------------------------------------------


def check_projector(
    projector: Any,
    *,
    in_shapes: Sequence[Sequence[int]] = DEFAULT_IN_SHAPES,
    out_dim: int = 64,
    batch_size: int = 2,
    **options: Any,
) -> Any:
    """Check a projector (a registered name, or a module built for ``in_shapes``/``out_dim``).

    ``forward`` on one ``(B, N_i, C_i)`` tensor per ``in_shapes`` entry must return
    ``(B, num_tokens, out_dim)``, finite. Returns that tensor.
    """
    import torch

    shapes = [(int(n), int(c)) for n, c in in_shapes]
    model = _build("projectors", projector, {"in_shapes": shapes, "out_dim": out_dim, **options})
    name = projector if isinstance(projector, str) else type(projector).__name__
    num_tokens = getattr(model, "num_tokens", None)
    _require(isinstance(num_tokens, int) and num_tokens > 0,
             f"projector {name}: `num_tokens` must be a positive int, got {num_tokens!r}")
    features = [torch.rand(batch_size, n, c) for n, c in shapes]
    model.eval()
    with torch.no_grad():
        out = model(features)
    _require(isinstance(out, torch.Tensor), f"projector {name}: forward must return a tensor, got {type(out).__name__}")
    _require(tuple(out.shape) == (batch_size, num_tokens, out_dim),
             f"projector {name}: output shape {tuple(out.shape)}, expected {(batch_size, num_tokens, out_dim)}")
    _require(bool(torch.isfinite(out).all()), f"projector {name}: output has non-finite values")
    return out


# --- judges ---------------------------------------------------------------------------------

DEFAULT_REPORT_PAIRS = [
    ("The liver is normal.", "The liver is normal."),
    ("Small cyst in the left kidney.", "The kidneys are normal."),
    ("The liver is normal.", "The liver is normal."),
]
"""(reference, candidate) pairs the judge check turns into GREEN prompts; the repeat shows a judge
keeps one completion per prompt."""


def default_judge_prompts() -> list[str]:
    """GREEN prompts, as the harness sends them to a judge."""
    from harness.scoring.green import make_prompt

    return [make_prompt(reference, candidate) for reference, candidate in DEFAULT_REPORT_PAIRS]


def check_judge(judge: Any, prompts: Sequence[str] | None = None, **options: Any) -> list[str]:
    """Check a judge: a stable non-empty ``id`` and one string completion per prompt, in order.

    ``prompts`` defaults to :func:`default_judge_prompts`. Returns the completions.
    """
    model = _build("judges", judge, options)
    name = judge if isinstance(judge, str) else type(judge).__name__
    judge_id = getattr(model, "id", None)
    _require(isinstance(judge_id, str) and judge_id.strip() != "", f"judge {name}: `id` must be a non-empty string")
    prompts = list(default_judge_prompts() if prompts is None else prompts)
    completions = model.complete(prompts)
    _require(isinstance(completions, list),
             f"judge {name}: complete() must return a list, got {type(completions).__name__}")
    _require(len(completions) == len(prompts),
             f"judge {name}: {len(completions)} completions for {len(prompts)} prompts")
    _require(all(isinstance(c, str) for c in completions), f"judge {name}: every completion must be a string")
    _require(getattr(model, "id", None) == judge_id, f"judge {name}: `id` changed after complete()")
    return completions


# --- tasks ----------------------------------------------------------------------------------


def sample_case(task: Any, data: Any = None) -> Any:
    """A case of the task's own, for checking it: the first case ``task.load_data(data)`` reads, or (no
    ``data``) of a two-case demo set the task writes into a temporary folder (`Task.write_demo`)."""
    import tempfile
    from pathlib import Path

    name = getattr(task, "name", type(task).__name__)
    if data is not None:
        cases = task.load_data(data).cases
    else:
        with tempfile.TemporaryDirectory(prefix="harness-conformance-") as folder:
            try:
                root = task.write_demo(Path(folder) / "demo", cases=2, seed=0)
            except (UnavailableError, AttributeError):
                raise ConformanceError(
                    f"task {name}: no case to check it with: give the task a write_demo, register it with "
                    "conformance={'data': DATA}, or pass check_task(..., case=CASE)"
                ) from None
            cases = task.load_data(root).cases  # the checks read records only: the images may go with the folder
    _require(len(cases) > 0, f"task {name}: load_data read no case to check it with")
    return cases[0]


CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def example_tokenizer() -> Any:
    """A real (fast) transformers tokenizer with a ChatML chat template, built offline in memory.

    Its vocabulary is a single unknown token: enough for tasks, which render prompts as text.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", chat_template=CHATML_TEMPLATE)


def check_task(
    task: Any,
    case: Any = None,
    *,
    style: str | None = None,
    data: Any = None,
    image_tokens: str = "<im_patch>" * 4,
    tokenizer: Any = None,
    **options: Any,
) -> list[Request]:
    """Check a task: ``name``/``version``/``decoding``, and requests for a case (default: the task's own,
    `sample_case` of ``data``) in ``style`` (default: the task's first prompt style) with unique keys, the
    case's id, prompts that contain ``image_tokens``, a string training target (``target(request)``, or
    ``request.target`` for tasks without that method) and a string ``parse`` result. ``tokenizer``
    defaults to :func:`example_tokenizer`. Returns the requests."""
    from harness.task import Request

    model = _build("tasks", task, options)
    tokenizer = tokenizer if tokenizer is not None else example_tokenizer()
    label = task if isinstance(task, str) else type(task).__name__
    for attribute in ("name", "version"):
        value = getattr(model, attribute, None)
        _require(isinstance(value, str) and value != "", f"task {label}: `{attribute}` must be a non-empty string")
    _require(isinstance(getattr(model, "decoding", None), dict), f"task {label}: `decoding` must be a dict")
    case = case if case is not None else sample_case(model, data)
    style = style or (tuple(getattr(model, "prompt_styles", None) or ("chat",)))[0]
    requests = model.requests(case, style=style, image_tokens=image_tokens, tokenizer=tokenizer)
    _require(isinstance(requests, list) and len(requests) > 0,
             f"task {label}: requests() must return a non-empty list for case {case.case_id}")
    _require(all(isinstance(r, Request) for r in requests), f"task {label}: requests must be harness.task.Request")
    keys = [r.key for r in requests]
    _require(len(set(keys)) == len(keys), f"task {label}: request keys must be unique, got {keys}")
    for request in requests:
        _require(request.case_id == case.case_id,
                 f"task {label}: request {request.key} has case_id {request.case_id!r}, not {case.case_id!r}")
        _require(isinstance(request.prompt, str) and image_tokens in request.prompt,
                 f"task {label}: the prompt of {request.key} must contain the image tokens")
        target = model.target(request) if callable(getattr(model, "target", None)) else request.target
        _require(isinstance(target, str), f"task {label}: the target of {request.key} must be a string")
        _require(isinstance(model.parse(request, "yes"), str),
                 f"task {label}: parse({request.key}, ...) must be a string")
    return requests


# --- pytest plugin --------------------------------------------------------------------------

PROJECTOR_SHAPE_CANDIDATES = [DEFAULT_IN_SHAPES, DEFAULT_IN_SHAPES[:1], DEFAULT_IN_SHAPES[1:]]
"""``in_shapes`` tried in turn for a projector without ``conformance`` shapes: two feature maps,
then one (projectors may take only one map, and refuse the others with a HarnessError)."""


def _conformance_settings(kind: str, name: str) -> dict[str, Any]:
    settings = dict(plugins.registry(kind).get(name).metadata.get("conformance") or {})
    if settings.get("skip"):
        pytest.skip(f"{kind[:-1]} {name}: {settings['skip']}")
    return settings


def _conform_projector(name: str, settings: dict[str, Any]) -> Any:
    out_dim = int(settings.get("out_dim", 64))
    options = dict(settings.get("options") or {})
    candidates = [settings["in_shapes"]] if "in_shapes" in settings else PROJECTOR_SHAPE_CANDIDATES
    refusals = []
    for in_shapes in candidates:
        try:
            projector = plugins.registry("projectors").create(name, in_shapes=list(in_shapes), out_dim=out_dim,
                                                              **options)
        except HarnessError as exc:
            refusals.append(str(exc))
            continue
        return check_projector(projector, in_shapes=in_shapes, out_dim=out_dim)
    raise HarnessError(f"projector '{name}' accepts none of the shapes tried: {'; '.join(refusals)}")


def run_conformance(kind: str, name: str) -> Any:
    """Run the check of ``kind`` on a registered component with its ``conformance`` metadata.

    Skips (pytest.skip) when the metadata says so or when the component needs something this machine
    lacks: an `harness.errors.UnavailableError` (weights that cannot be downloaded offline, a missing
    optional package). Any other error, a `HarnessError` included, fails the check: a component that
    always refuses must not pass as skipped.
    """
    settings = _conformance_settings(kind, name)
    options = dict(settings.get("options") or {})
    try:
        if kind == "encoders":
            return check_encoder(name, input_size=settings.get("input_size", DEFAULT_INPUT_SIZE), **options)
        if kind == "projectors":
            return _conform_projector(name, settings)
        if kind == "judges":
            return check_judge(name, settings.get("prompts"), **options)
        if kind == "tasks":
            return check_task(name, style=settings.get("style"), data=settings.get("data"), **options)
    except UnavailableError as exc:
        pytest.skip(f"{kind[:-1]} {name} is unavailable here: {exc}")
    raise ValueError(f"no conformance check for kind '{kind}'")


class TestHarnessConformance:
    """The ready-made suite: import it into a test module and pytest runs it for every component."""

    def test_encoder(self, harness_encoder: str) -> None:
        run_conformance("encoders", harness_encoder)

    def test_projector(self, harness_projector: str) -> None:
        run_conformance("projectors", harness_projector)

    def test_judge(self, harness_judge: str) -> None:
        run_conformance("judges", harness_judge)

    def test_task(self, harness_task: str) -> None:
        run_conformance("tasks", harness_task)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "med3d-harness conformance")
    group.addoption(
        "--harness-plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="Parametrise the harness_* fixtures only over components of this plugin or distribution "
        "(repeatable).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "harness_plugin(*names): parametrise the harness_* fixtures only over components whose plugin or "
        "distribution is one of names",
    )
    config.pluginmanager.register(_Parametrize(), "harness-conformance-parametrize")


class _Parametrize:
    """Parametrises ``harness_encoder`` & co over the registered names (loading plugins only when used).

    A plugin object registered in ``pytest_configure`` rather than a module-level hook: pytest also
    calls a *test module's* ``pytest_generate_tests``, so with ``pytest --pyargs harness.testing``
    a module-level hook would parametrise every fixture twice."""

    @staticmethod
    def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
        for fixture, kind in _FIXTURE_KINDS.items():
            if fixture not in metafunc.fixturenames:
                continue
            wanted = set(metafunc.config.getoption("harness_plugin") or [])
            for marker in metafunc.definition.iter_markers("harness_plugin"):
                wanted.update(marker.args)
            names = [
                entry.name
                for entry in plugins.registry(kind)
                if not wanted or entry.plugin in wanted or entry.distribution in wanted
            ]
            metafunc.parametrize(fixture, names, ids=names)
