"""`build_model` and `load_model`: a zoo name, a local checkpoint (harness or a plugin's layout) or a hub id.

    >>> import harness, torch
    >>> with torch.device("meta"):
    ...     model = harness.build_model("ZOO_NAME")           # architecture only, allocates nothing  # doctest: +SKIP
    >>> model = harness.load_model("/path/to/checkpoint", dtype=torch.bfloat16)                    # doctest: +SKIP

`resolve_source` is the one dispatch from a ``--model`` value to a `Source` (recipe, weights, tokenizer);
`load_model` and `load_tokenizer` both read it, so they never disagree about what a name means.

Layouts read:

- *harness*: what ``save_pretrained`` writes (``model_type: "med3d_vlm"``, the recipe in the config).
- *harness adapter export* (``harness finetune --save-adapter``): a harness config.json, a
  model.safetensors with only the trained parts and an ``adapter/`` LoRA folder. It is loaded on its base
  model: the recipe in its config is loaded from its parts, then the folder's files are applied.
- *a plugin's layout*: any other ``model_type`` a zoo registration declares in ``checkpoint_layouts``
  (`harness.modeling.layouts`): its reader maps the config.json to a recipe; the parameter names are ours.

A recipe without full trained weights (``weights=None``) loads its LLM's pretrained weights through the
LLM backend, adds the image token to the tokenizer and resizes the embeddings (new rows = mean of the old
ones), then reads ``parts_weights`` (vision tower and projector) and ``local_weights``: a folder with
``model.safetensors`` (any subset of the model's keys) and an optional peft LoRA ``adapter/`` that is
merged. Recipe paths may be ``package:PKG/sub/dir`` (`harness.recipe.resolve_path`), so that a saved config
names no folder of the machine that wrote it.

Only safetensors are read (no pickles), every ``from_pretrained`` passes `harness.trust.remote_code_kwargs()`,
and a folder whose files ask for remote code is refused unless ``--trust-remote-code`` was given. A bad
folder (no or torn weights, config.json that is not a JSON object, an unknown model type, no tokenizer) is
one `HarnessError` line naming it and the fix.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import PreTrainedModel

from harness import plugins, trust
from harness.errors import HarnessError
from harness.modeling.assembly import llm_backend, model_config
from harness.modeling.auto import register as register_auto_classes
from harness.modeling.configuration import MODEL_TYPE, VLMConfig
from harness.modeling.hub import snapshot
from harness.modeling.layouts import declared_layouts, layout_recipe
from harness.modeling.modeling import VLMForCausalLM
from harness.recipe import Recipe, resolve_path

__all__ = [
    "Source", "build_model", "checkpoint_config", "checkpoint_recipe", "load_checkpoint", "load_model",
    "load_tokenizer", "model_config", "read_config", "refuse_path_that_is_no_checkpoint", "resolve_recipe",
    "resolve_source",
]

VISION_PREFIXES = ("model.vision_tower.", "model.mm_projector.")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DICT_FIELDS = ("encoder_options", "projector_options", "llm_options", "training", "extra")
_PART_OPTIONS = {"encoder": "encoder_options", "projector": "projector_options", "llm": "llm_options"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
CONVERT_HINT = (
    "convert it once where you trust the file: python -c \"import torch; from safetensors.torch import save_file; "
    "save_file({k: v.contiguous().clone() for k, v in torch.load('DIR/pytorch_model.bin', weights_only=True)"
    ".items()}, 'DIR/model.safetensors', metadata={'format': 'pt'})\""
)

SourceKind = Literal["zoo", "harness", "adapter", "layout"]


@dataclass(frozen=True)
class Source:
    """What a ``--model`` value names, resolved once for the model and for its tokenizer."""

    kind: SourceKind
    """``zoo``: a registered recipe; ``harness``: a harness checkpoint folder; ``adapter``: a harness adapter
    export (loaded on its recipe's parts); ``layout``: a folder in a layout a plugin declared."""
    recipe: Recipe
    """The recipe the model is built from (for a folder: the one its config.json means)."""
    weights: Path | str | None
    """A checkpoint folder, a hub id still to download (a zoo recipe's ``weights``), or None: the recipe's
    parts' own weights."""
    tokenizer: Path | None
    """The folder whose tokenizer files are read; None: the recipe's LLM tokenizer with the image token added."""
    model_type: str | None = None
    """A folder's config.json ``model_type``."""

def resolve_recipe(name: str, **overrides: Any) -> Recipe:
    """The zoo recipe ``name`` with ``overrides`` applied.

    Dict fields are merged one level deep into the recipe's, except the options of a part that is swapped
    for another (``projector="mlp"``): the old part's options mean nothing to the new one, so they start
    empty and only the given ones apply."""
    recipe: Recipe = plugins.registry("models").create(name)
    swapped = {options for part, options in _PART_OPTIONS.items()
               if part in overrides and overrides[part] != getattr(recipe, part)}
    changes: dict[str, Any] = {key: {} for key in swapped}
    for key, value in overrides.items():
        if key in _DICT_FIELDS and isinstance(value, dict):
            changes[key] = {**({} if key in swapped else getattr(recipe, key)), **value}
        elif key == "input_size":
            changes[key] = tuple(value)
        else:
            changes[key] = value
    try:
        return recipe.replace(**changes)
    except TypeError as exc:
        raise HarnessError(f"bad override for model '{name}': {exc}") from exc


def build_model(name: str, **overrides: Any) -> VLMForCausalLM:
    """A zoo recipe's architecture with fresh weights and no download (allocates nothing under meta)."""
    return VLMForCausalLM(model_config(resolve_recipe(name, **overrides)))


def resolve_source(name_or_path: str | Source, *, llm_options: dict[str, Any] | None = None) -> Source:
    """What a ``--model`` value names: a zoo recipe (``llm_options`` override its LLM options, as
    ``--set llm_options.model_id=PATH`` does), or a checkpoint folder (a hub id is downloaded to one first).

    The one dispatch that `load_model` and `load_tokenizer` share, so they never disagree; a `Source` is
    returned as it is."""
    if isinstance(name_or_path, Source):
        return name_or_path
    register_auto_classes()  # a layout a plugin declared since transformers was imported gets its Auto classes
    name = str(name_or_path)
    if name in plugins.registry("models"):
        recipe = resolve_recipe(name, llm_options=llm_options or {})
        return Source("zoo", recipe, weights=recipe.weights, tokenizer=None)
    if llm_options:
        raise HarnessError(f"--set llm_options.* applies to zoo model names; {name} carries its own LLM")
    if Path(name).is_dir() and name.strip():
        return folder_source(Path(name))
    refuse_path_that_is_no_checkpoint(name)
    if _HUB_ID.match(name):
        hint = "pass a local checkpoint folder instead (download it where there is network)"
        return folder_source(snapshot(name, None, hint))
    plugins.registry("models").get(name)  # raises the did-you-mean error
    raise AssertionError("unreachable")


def folder_source(path: Path) -> Source:
    """The `Source` of a local checkpoint folder: its layout, the recipe its config.json means, its files."""
    raw = read_config(path)
    trust.check_folder(path)
    recipe = checkpoint_recipe(path, raw)
    model_type = str(raw["model_type"])
    if model_type != MODEL_TYPE:
        return Source("layout", recipe, weights=path, tokenizer=path, model_type=model_type)
    if is_adapter_export(path, raw):  # no tokenizer of its own: its base model's, as it loads on that base
        return Source("adapter", recipe, weights=path, tokenizer=None, model_type=model_type)
    return Source("harness", recipe, weights=path, tokenizer=path, model_type=model_type)


def refuse_path_that_is_no_checkpoint(name: str) -> None:
    """An empty name, a file, or a path (``./x``, ``/x``, ``~/x``) that does not exist: one line saying so, not
    the zoo's "unknown model" (and never the current folder for an empty name)."""
    if not name.strip():
        raise HarnessError("--model is empty; give a zoo name (harness list models), a checkpoint folder or a hub id")
    if Path(name).expanduser().is_file():
        raise HarnessError(f"--model {name}: is a file; pass the checkpoint folder that holds its config.json")
    if name.startswith((".", "/", "~")):
        raise HarnessError(f"--model {name}: no such checkpoint folder")


def load_model(name_or_path: str | Source, *, dtype: Any = None, device: Any = None,
               llm_options: dict[str, Any] | None = None) -> PreTrainedModel:
    """Trained weights by zoo name, local checkpoint folder or hub id (see the module docstring), or of a
    `Source` already resolved. ``llm_options`` override a zoo recipe's LLM options (``--set
    llm_options.model_id=PATH``)."""
    dtype = parse_dtype(dtype)
    source = resolve_source(name_or_path, llm_options=llm_options)
    if source.kind == "zoo":
        model = load_recipe(source.recipe, dtype)
    else:  # a folder: its weight files are checked first, an adapter export is loaded on its base
        model = load_checkpoint(Path(source.weights), dtype=dtype)
    model.eval()
    return model.to(device) if device is not None else model


def read_config(path: Path) -> dict[str, Any]:
    """A checkpoint folder's config.json as a dict, or one line saying what is wrong with it."""
    config_file = path / "config.json"
    if not config_file.is_file():
        raise HarnessError(f"{path} has no config.json; pass a checkpoint folder written by save_pretrained")
    try:
        raw = json.loads(config_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{config_file} is not UTF-8 text ({exc.reason}); replace it with the checkpoint's "
                           f"config.json") from None
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{config_file} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                           f"replace it with the checkpoint's config.json") from None
    if not isinstance(raw, dict):
        raise HarnessError(f"{config_file} holds a JSON {type(raw).__name__}, not an object; replace it with the "
                           f"checkpoint's config.json")
    return raw


def is_adapter_export(path: Path, raw: dict[str, Any]) -> bool:
    """A harness config with a peft ``adapter/`` beside it: the trained parts only, not a whole model."""
    return raw.get("model_type") == MODEL_TYPE and (path / "adapter" / "adapter_config.json").is_file()


def _unknown_model_type(path: Path, model_type: Any) -> HarnessError:
    known = [f"'{MODEL_TYPE}' (harness)"] + [f"'{t}' (model {m})" for t, (_, m) in declared_layouts().items()]
    return HarnessError(f"{path / 'config.json'} has model_type {model_type!r}; expected {' or '.join(known)}, "
                        f"or install the plugin that reads it")


def checkpoint_recipe(path: Path, raw: dict[str, Any] | None = None) -> Recipe:
    """The recipe a checkpoint folder's config.json means: the one a harness config stores, or what the reader
    of a plugin's layout maps it to (`harness.modeling.layouts`)."""
    raw = read_config(path) if raw is None else raw
    model_type = raw.get("model_type")
    if model_type == MODEL_TYPE:
        stored = raw.get("recipe")
        if not isinstance(stored, dict) or not stored:
            raise HarnessError(f"{path / 'config.json'} has no recipe object; pass a folder written by "
                               f"save_pretrained of a harness model")
        try:
            return Recipe.from_dict(stored)
        except TypeError as exc:
            raise HarnessError(f"{path / 'config.json'}: its recipe is incomplete ({exc}); pass a folder written "
                               f"by save_pretrained of a harness model") from None
    if not isinstance(model_type, str) or model_type not in declared_layouts():
        raise _unknown_model_type(path, model_type)
    return layout_recipe(model_type, raw, path.name)


def check_weight_files(path: Path) -> None:
    """safetensors weights are present and readable (their headers cover the files)."""
    from safetensors import SafetensorError, safe_open

    files = sorted(path.glob("*.safetensors"))
    if not files:
        if any(path.glob("pytorch_model*.bin")):
            raise HarnessError(f"{path} has only pytorch_model.bin; the harness loads safetensors only (a pickle can "
                               f"run code): {CONVERT_HINT.replace('DIR', str(path))}")
        raise HarnessError(f"{path} has no model.safetensors; pass a complete checkpoint folder")
    for file in files:
        try:
            with safe_open(str(file), framework="pt"):
                pass
        except (SafetensorError, OSError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HarnessError(f"{file} is truncated or not a safetensors file ({reason}); copy or download it "
                               f"again") from None


def checkpoint_config(path: Path, raw: dict[str, Any], recipe: Recipe | None = None) -> VLMConfig:
    """The model config of a checkpoint folder, from any layout; an unknown model type is one line.

    ``recipe`` (a zoo recipe whose ``weights`` are in a plugin's layout) stands in for the recipe the folder's
    config means; the text model's config still comes from the folder."""
    model_type = raw.get("model_type")
    if model_type == MODEL_TYPE:
        text_type = (raw.get("text_config") or {}).get("model_type", "qwen2")
    else:
        layout = checkpoint_recipe(path, raw)
        text_type = (layout.llm_options.get("config") or {}).get("model_type")
    try:
        if model_type == MODEL_TYPE:
            return VLMConfig.from_pretrained(path, trust_remote_code=False)
        config = model_config(layout)
    except HarnessError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        import transformers

        reason = str(exc).strip().splitlines()[0][:160]
        raise HarnessError(
            f"{path / 'config.json'}: its text model (model_type {text_type!r}) cannot be built by transformers "
            f"{transformers.__version__} ({reason}); fix text_config.model_type or install a transformers that "
            f"knows it"
        ) from None
    if recipe is not None:
        config.recipe = recipe.to_dict()
    return config


def load_checkpoint(path: Path, *, dtype: torch.dtype | None = None, recipe: Recipe | None = None) -> PreTrainedModel:
    """A whole local checkpoint folder in the harness layout or a plugin's layout, or an adapter export."""
    raw = read_config(path)
    trust.check_folder(path)
    config = checkpoint_config(path, raw, recipe)
    check_weight_files(path)
    if is_adapter_export(path, raw):
        return load_adapter_export(path, config.get_recipe(), dtype)
    model, info = VLMForCausalLM.from_pretrained(
        path, config=config, dtype=dtype or "auto", use_safetensors=True, output_loading_info=True,
        trust_remote_code=False,
    )
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if bad:
        summary = "; ".join(f"{k}: {sorted(map(str, v))[:3]}{'...' if len(v) > 3 else ''}" for k, v in bad.items())
        raise HarnessError(f"{path} does not match its config ({summary}); is it a complete checkpoint?")
    return model


def parse_dtype(dtype: Any) -> torch.dtype | None:
    """A torch dtype from a dtype or a name (``bf16``, ``bfloat16``, ``fp16``, ``float32`` ...)."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    names = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "half": "float16", "float": "float32"}
    value = getattr(torch, names.get(str(dtype), str(dtype)), None)
    if not isinstance(value, torch.dtype):
        raise HarnessError(f"unknown dtype '{dtype}'; use bfloat16, float16 or float32")
    return value


def load_recipe(recipe: Recipe, dtype: torch.dtype | None) -> PreTrainedModel:
    """The weights a recipe names: its full trained weights, else its parts' own (LLM, vision, shipped files)."""
    if recipe.weights:
        path = Path(recipe.weights)
        if not path.is_dir():
            hint = (f"download it where there is network (`hf download {recipe.weights} --local-dir DIR`) and pass "
                    f"the folder: --model DIR, or harness.load_model(DIR)")
            path = snapshot(recipe.weights, recipe.revision, hint)
        return load_checkpoint(path, dtype=dtype, recipe=recipe if recipe.weights_layout != "harness" else None)
    return _load_from_parts(recipe, dtype)


def add_image_token(tokenizer: Any, token: str) -> int:
    """Add ``token`` as a special token (no-op when present); returns its id."""
    if token not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [token]}, replace_extra_special_tokens=False)
    return tokenizer.convert_tokens_to_ids(token)


def load_tokenizer(name_or_path: str | Source, *, llm_options: dict[str, Any] | None = None) -> Any:
    """The tokenizer of a zoo model, checkpoint folder or hub id (or of a resolved `Source`), with the image
    token added: the folder's own tokenizer files, else the recipe's LLM tokenizer (an adapter export has none
    of its own: it gets its base model's, as `load_model` loads it on that base)."""
    from transformers import AutoTokenizer

    source = resolve_source(name_or_path, llm_options=llm_options)
    if source.tokenizer is None:
        tokenizer = llm_backend(source.recipe).tokenizer()
        add_image_token(tokenizer, source.recipe.image_token)
        return tokenizer
    folder = source.tokenizer
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise HarnessError(
            f"{folder} has no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}); save the tokenizer next to the "
            f"weights (tokenizer.save_pretrained('{folder}')) or copy the base model's tokenizer files there"
        )
    trust.check_folder(folder)
    return AutoTokenizer.from_pretrained(folder, **trust.remote_code_kwargs())


def load_adapter_export(path: Path, recipe: Recipe, dtype: torch.dtype | None) -> PreTrainedModel:
    """An adapter export on its base model: ``recipe`` (the one in its config) loaded from its parts, then the
    folder's trained parts and LoRA adapter (merged)."""
    if recipe.weights:
        raise HarnessError(f"{path} is an adapter export whose recipe names full weights ({recipe.weights}); "
                           f"merge the adapter into that model or export again with merged LoRA")
    model = _load_from_parts(recipe, None)
    model = _load_local_weights(model, path)
    return model.to(dtype) if dtype is not None else model


def _resize_like_reference(lm: PreTrainedModel, new_size: int) -> None:
    """Resize the LLM's embeddings; the new rows get the mean of the old rows (as the reference training of the
    published image-token models does)."""
    old = lm.get_input_embeddings().weight.shape[0]
    lm.resize_token_embeddings(new_size, mean_resizing=False)
    if new_size > old:
        with torch.no_grad():
            for layer in (lm.get_input_embeddings(), lm.get_output_embeddings()):
                layer.weight[old:] = layer.weight[:old].mean(dim=0, keepdim=True)


def _load_from_parts(recipe: Recipe, dtype: torch.dtype | None) -> PreTrainedModel:
    backend = llm_backend(recipe)
    lm = backend.load(dtype=dtype)
    tokenizer = backend.tokenizer()
    image_token_id = add_image_token(tokenizer, recipe.image_token)
    _resize_like_reference(lm, len(tokenizer))
    config = model_config(recipe.replace(vocab_size=len(tokenizer), image_token_id=image_token_id), lm.config)
    if recipe.init_seed is not None:  # fresh parts, reproducibly (e.g. an untrained baseline)
        torch.manual_seed(int(recipe.init_seed))
    model = VLMForCausalLM(config, language_model=lm)
    if recipe.parts_weights:
        _load_subset(model, _weights_folder(recipe.parts_weights, recipe), VISION_PREFIXES)
    local = resolve_path(recipe.local_weights)
    if local is not None and local.is_dir():
        model = _load_local_weights(model, local)
    elif local:
        sys.stderr.write(
            f"warning: model '{recipe.name}' has no trained weights yet ({local} is absent): returning the "
            f"untrained model (random vision tower and projector, base LLM)\n"
        )
    return model.to(dtype) if dtype is not None else model


def _weights_folder(source: str, recipe: Recipe) -> Path:
    path = resolve_path(source)
    if path is not None and path.is_dir():
        return path
    return snapshot(source, None, f"pass a local folder with --set parts_weights=/path/to/{path.name}")


def _load_subset(model: torch.nn.Module, folder: Path, prefixes: tuple[str, ...]) -> None:
    """Copy the tensors under ``prefixes`` from a folder's safetensors files into ``model``."""
    from safetensors.torch import load_file

    own = model.state_dict()
    found: dict[str, torch.Tensor] = {}
    for file in sorted(folder.glob("*.safetensors")):
        found.update({k: v for k, v in load_file(file).items() if k.startswith(prefixes)})
    wanted = [k for k in own if k.startswith(prefixes)]
    missing = [k for k in wanted if k not in found]
    if missing:
        raise HarnessError(f"{folder} lacks {len(missing)} of {len(wanted)} tensors under {prefixes}: {missing[:2]}")
    model.load_state_dict(found, strict=False)


def _load_local_weights(model: VLMForCausalLM, folder: Path) -> PreTrainedModel:
    from safetensors.torch import load_file

    weights = folder / "model.safetensors"
    if weights.is_file():
        state = load_file(weights)
        unexpected = sorted(set(state) - set(model.state_dict()))
        if unexpected:
            raise HarnessError(f"{weights} has keys the model lacks: {unexpected[:3]}")
        model.load_state_dict(state, strict=False)
    adapter = folder / "adapter"
    if adapter.is_dir():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    return model
