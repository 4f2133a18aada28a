"""Zoo recipes: a model is a name plus a card, as in timm.

A recipe names its parts by registry name (encoder, projector, LLM backend) with their options, and
carries everything needed to use the model faithfully: input size, intensity windows, prompt style,
how the image enters the token sequence (splice), where the weights come from, licence and paper.

    >>> r = Recipe(name="toy", encoder="dcformer", projector="mixer", llm="hf",
    ...            llm_options={"model_id": "Qwen/Qwen2.5-7B-Instruct"})
    >>> r.replace(projector="mlp").projector
    'mlp'
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import HarnessError

PACKAGE_SCHEME = "package:"
"""Prefix of a recipe path inside an installed package (``package:harness_plugins/models/weights/x``)."""

Splice = Literal["published", "placeholder"]
"""``published``: keep the first token's embedding and overwrite the next N positions, whatever tokens stand
there (the splice of published checkpoints trained that way); ``placeholder``: replace the image placeholder
tokens themselves (see `harness.modeling.splice`)."""


LOAD_FIELDS = ("vocab_size", "image_token_id", "local_weights", "parts_weights", "init_seed", "finetuned_from")
"""Recipe fields that older saved configs kept under ``extra``."""


@dataclass
class Recipe:
    """Everything that defines a zoo model. Serialised into the harness checkpoint's config."""

    name: str
    encoder: str
    projector: str
    llm: str
    encoder_options: dict[str, Any] = field(default_factory=dict)
    projector_options: dict[str, Any] = field(default_factory=dict)
    llm_options: dict[str, Any] = field(default_factory=dict)
    input_size: tuple[int, int, int] = (128, 256, 256)
    """(D, H, W) of the volume the encoder receives."""
    hu_windows: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Intensity windows (low, high) by image domain (a task's ``Request.domain``); a CT model names its own."""
    splice: Splice = "placeholder"
    prompt_style: str = "chat"
    """The prompt style of the tasks' `requests` this model was trained with (every task renders ``chat``)."""
    image_token: str = "<im_patch>"
    weights: str | None = None
    """Hub id or local path of the full trained weights; ``None`` means the parts' own weights."""
    revision: str | None = None
    weights_layout: Literal["harness", "published"] = "harness"
    """``published``: the ``weights`` folder is in a layout a plugin declares (its config.json's ``model_type``,
    `harness.modeling.layouts`), and this recipe stands in for the one that config means."""
    description: str = ""
    licence: str | None = None
    paper: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    """Fine-tuning defaults (LoRA, trainable parts, optimiser) used by `harness finetune`."""
    vocab_size: int | None = None
    """The LLM's vocabulary after the image token is added (None: the LLM config's own)."""
    image_token_id: int | None = None
    """Id of `image_token` (None: the last id of the vocabulary)."""
    local_weights: str | None = None
    """A folder (or ``package:`` path, see `resolve_path`) with trained weights over the parts' own."""
    parts_weights: str | None = None
    """Hub id or folder whose vision tower and projector weights initialise those parts."""
    init_seed: int | None = None
    """Seed for freshly initialised parts, so an untrained baseline is reproducible."""
    finetuned_from: str | None = None
    """The model a fine-tuned export started from (a zoo name, hub id or folder name; never a local path)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes a plugin keeps with its recipe; loading reads none of it."""

    def replace(self, **changes: Any) -> Recipe:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["input_size"] = list(self.input_size)
        data["hu_windows"] = {k: list(v) for k, v in self.hu_windows.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        extra = dict(values.get("extra") or {})
        for key in LOAD_FIELDS:  # configs saved before these were fields kept them in ``extra``
            if key in extra:
                values.setdefault(key, extra.pop(key))
        values["extra"] = extra
        if "input_size" in values:
            values["input_size"] = tuple(values["input_size"])
        if "hu_windows" in values:
            values["hu_windows"] = {k: tuple(v) for k, v in values["hu_windows"].items()}
        return cls(**values)

    def card(self) -> dict[str, Any]:
        """The fields `harness show model NAME` prints."""
        return {
            "name": self.name,
            "description": self.description,
            "encoder": f"{self.encoder} {_brief(self.encoder_options)}".strip(),
            "projector": f"{self.projector} {_brief(self.projector_options)}".strip(),
            "llm": f"{self.llm} {_brief(self.llm_options)}".strip(),
            "input_size": "x".join(str(s) for s in self.input_size),
            "hu_windows": ", ".join(f"{k} [{lo:g}, {hi:g}]" for k, (lo, hi) in self.hu_windows.items()),
            "splice": self.splice,
            "prompt_style": self.prompt_style,
            "weights": self.weights or "(parts' own weights)",
            "revision": self.revision or "-",
            "licence": self.licence or "-",
            "paper": self.paper or "-",
        }


def _brief(options: dict[str, Any]) -> str:
    """Options as ``key=value`` pairs; nested dicts (an inline LLM config) are summarised, not dumped."""
    return " ".join(f"{k}=({len(v)} fields)" if isinstance(v, dict) else f"{k}={v}" for k, v in options.items())


def resolve_path(value: str | os.PathLike[str] | None) -> Path | None:
    """A folder named in a recipe (``local_weights``, ``parts_weights``).

    ``package:PKG/sub/dir`` lies inside the installed package PKG, so a recipe saved into a checkpoint's
    config names the same folder on every machine; anything else is a filesystem path as given."""
    if value is None or str(value) == "":
        return None
    text = str(value)
    if not text.startswith(PACKAGE_SCHEME):
        return Path(text)
    package, _, rest = text[len(PACKAGE_SCHEME):].partition("/")
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError(f"recipe path '{text}' names package '{package}', which is not installed; install it "
                           f"or give a folder path instead")
    return Path(next(iter(spec.submodule_search_locations))) / rest
