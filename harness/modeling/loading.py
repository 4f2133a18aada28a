"""`build_model` and `load_model`: a zoo name, a local checkpoint (published or harness layout) or a hub id.

    >>> import harness, torch
    >>> with torch.device("meta"):
    ...     model = harness.build_model("med3dvlm")           # architecture only, allocates nothing
    >>> model = harness.load_model("/path/to/Med3DVLM-Qwen-2.5-7B-FLARE2025", dtype=torch.bfloat16)  # doctest: +SKIP

Layouts read:

- *published*: config.json with ``model_type: "vlm_qwen"`` (transformers 4.52 style, Qwen2 fields plus
  the vision fields) and model.safetensors or a sharded index; parameter names are already ours.
- *harness*: what ``save_pretrained`` writes (``model_type: "med3d_vlm"``, the recipe in the config).
- *harness adapter export* (``harness finetune --save-adapter``): a harness config.json, a
  model.safetensors with only the trained parts and an ``adapter/`` LoRA folder. It is loaded on its base
  model: the recipe in its config is loaded from its parts, then the folder's files are applied.

A recipe without full trained weights (``weights=None``) loads its LLM's pretrained weights through the
LLM backend, adds ``<im_patch>`` to the tokenizer and resizes the embeddings as the reference does (new
rows = mean of the old ones), then reads ``parts_weights`` (vision tower and projector) and
``local_weights``: a folder with ``model.safetensors`` (any subset of the model's keys) and an
optional peft LoRA ``adapter/`` that is merged. Recipe paths may be ``package:PKG/sub/dir``
(`harness.recipe.resolve_path`), so that a saved config names no folder of the machine that wrote it.

Only safetensors are read (no pickles), every ``from_pretrained`` passes `harness.trust.remote_code_kwargs()`,
and a folder whose files ask for remote code is refused unless ``--trust-remote-code`` was given. A bad
folder (no or torn weights, config.json that is not a JSON object, an unknown text model type, no
tokenizer) is one `HarnessError` line naming it and the fix.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import torch
from transformers import PretrainedConfig, PreTrainedModel

from harness import plugins, trust
from harness.errors import HarnessError
from harness.modeling.configuration import MODEL_TYPE, Med3DVLMConfig
from harness.modeling.hub import snapshot
from harness.modeling.modeling import Med3DVLMForCausalLM
from harness.modeling.published import PUBLISHED_MODEL_TYPE, published_config, published_recipe
from harness.recipe import Recipe, resolve_path

__all__ = [
    "PUBLISHED_MODEL_TYPE", "build_model", "load_checkpoint", "load_model", "load_tokenizer", "published_config",
    "published_recipe", "read_config", "refuse_path_that_is_no_checkpoint", "resolve_recipe", "resolve_source",
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


def llm_backend(recipe: Recipe) -> Any:
    return plugins.registry("llms").create(recipe.llm, **recipe.llm_options)


def model_config(recipe: Recipe, text_config: PretrainedConfig | None = None) -> Med3DVLMConfig:
    """The model config of a recipe; the vocabulary size (after ``<im_patch>``) comes from ``recipe.vocab_size``."""
    text_config = text_config if text_config is not None else llm_backend(recipe).config()
    vocab_size = recipe.vocab_size
    if vocab_size is not None:
        text_config.vocab_size = int(vocab_size)
    image_token_id = recipe.image_token_id if recipe.image_token_id is not None else text_config.vocab_size - 1
    return Med3DVLMConfig(recipe=recipe.to_dict(), text_config=text_config, image_token_id=image_token_id,
                          components=component_origins(recipe))


def component_origins(recipe: Recipe) -> dict[str, dict[str, str | None]]:
    """Which installed plugin distribution (and version) provides each part of a recipe."""
    origins = {}
    for part, kind in (("encoder", "encoders"), ("projector", "projectors"), ("llm", "llms")):
        name = getattr(recipe, part)
        registry = plugins.registry(kind)
        entry = registry.get(name) if name in registry else None
        origins[part] = {"name": name, "distribution": entry.distribution if entry else None,
                         "version": entry.version if entry else None}
    return origins


def build_model(name: str, **overrides: Any) -> Med3DVLMForCausalLM:
    """A zoo recipe's architecture with fresh weights and no download (allocates nothing under meta)."""
    return Med3DVLMForCausalLM(model_config(resolve_recipe(name, **overrides)))


def resolve_source(name_or_path: str, *, llm_options: dict[str, Any] | None = None) -> Recipe | Path:
    """What a ``--model`` value names: a zoo recipe (``llm_options`` override its LLM options, as
    ``--set llm_options.model_id=PATH`` does), or a checkpoint folder (a hub id is downloaded to one).

    The one dispatch that `load_model` and `load_tokenizer` share, so they never disagree."""
    name_or_path = str(name_or_path)
    if name_or_path in plugins.registry("models"):
        return resolve_recipe(name_or_path, llm_options=llm_options or {})
    if llm_options:
        raise HarnessError(f"--set llm_options.* applies to zoo model names; {name_or_path} carries its own LLM")
    if Path(name_or_path).is_dir() and name_or_path.strip():
        return Path(name_or_path)
    refuse_path_that_is_no_checkpoint(name_or_path)
    if _HUB_ID.match(name_or_path):
        hint = "pass a local checkpoint folder instead (download it where there is network)"
        return snapshot(name_or_path, None, hint)
    plugins.registry("models").get(name_or_path)  # raises the did-you-mean error
    raise AssertionError("unreachable")


def refuse_path_that_is_no_checkpoint(name: str) -> None:
    """An empty name, a file, or a path (``./x``, ``/x``, ``~/x``) that does not exist: one line saying so, not
    the zoo's "unknown model" (and never the current folder for an empty name)."""
    if not name.strip():
        raise HarnessError("--model is empty; give a zoo name (harness list models), a checkpoint folder or a hub id")
    if Path(name).expanduser().is_file():
        raise HarnessError(f"--model {name}: is a file; pass the checkpoint folder that holds its config.json")
    if name.startswith((".", "/", "~")):
        raise HarnessError(f"--model {name}: no such checkpoint folder")


def load_model(name_or_path: str, *, dtype: Any = None, device: Any = None,
               llm_options: dict[str, Any] | None = None) -> PreTrainedModel:
    """Trained weights by zoo name, local checkpoint folder or hub id (see the module docstring).
    ``llm_options`` override a zoo recipe's LLM options (``--set llm_options.model_id=PATH``)."""
    dtype = parse_dtype(dtype)
    source = resolve_source(name_or_path, llm_options=llm_options)
    model = load_recipe(source, dtype) if isinstance(source, Recipe) else load_checkpoint(source, dtype=dtype)
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


def checkpoint_config(path: Path, raw: dict[str, Any], recipe: Recipe | None = None) -> Med3DVLMConfig:
    """The model config of a checkpoint folder, from either layout; an unknown model type is one line."""
    model_type = raw.get("model_type")
    config_file = path / "config.json"
    if model_type not in (PUBLISHED_MODEL_TYPE, MODEL_TYPE):
        raise HarnessError(
            f"{config_file} has model_type {model_type!r}; expected '{PUBLISHED_MODEL_TYPE}' (published Med3DVLM) "
            f"or '{MODEL_TYPE}' (harness)"
        )
    try:
        if model_type == PUBLISHED_MODEL_TYPE:
            return published_config(raw, recipe=recipe, name=path.name)
        return Med3DVLMConfig.from_pretrained(path, trust_remote_code=False)
    except (ValueError, KeyError, TypeError) as exc:
        import transformers

        text_type = (raw.get("text_config") or {}).get("model_type", "qwen2") if model_type == MODEL_TYPE else "qwen2"
        reason = str(exc).strip().splitlines()[0][:160]
        raise HarnessError(
            f"{config_file}: its text model (model_type {text_type!r}) cannot be built by transformers "
            f"{transformers.__version__} ({reason}); fix text_config.model_type or install a transformers that "
            f"knows it"
        ) from None


def load_checkpoint(path: Path, *, dtype: torch.dtype | None = None, recipe: Recipe | None = None) -> PreTrainedModel:
    """A local folder in the published (``vlm_qwen``) or the harness (``med3d_vlm``) layout, or an adapter export."""
    raw = read_config(path)
    trust.check_folder(path)
    config = checkpoint_config(path, raw, recipe)
    check_weight_files(path)
    if is_adapter_export(path, raw):
        return load_adapter_export(path, config, dtype)
    model, info = Med3DVLMForCausalLM.from_pretrained(
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
        return load_checkpoint(path, dtype=dtype, recipe=recipe if recipe.weights_layout == "published" else None)
    return _load_from_parts(recipe, dtype)


def add_image_token(tokenizer: Any, token: str) -> int:
    """Add ``token`` as a special token (no-op when present); returns its id."""
    if token not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [token]}, replace_extra_special_tokens=False)
    return tokenizer.convert_tokens_to_ids(token)


def load_tokenizer(name_or_path: str, *, llm_options: dict[str, Any] | None = None) -> Any:
    """The tokenizer of a zoo model, checkpoint folder or hub id, with the image token added.

    An adapter export has no tokenizer of its own: it gets its base model's (the recipe's LLM), as
    `load_checkpoint` loads it on that base."""
    from transformers import AutoTokenizer

    source = resolve_source(name_or_path, llm_options=llm_options)
    if isinstance(source, Recipe):
        return _recipe_tokenizer(source)
    raw = read_config(source) if (source / "config.json").exists() else {}
    if raw and is_adapter_export(source, raw):
        return _recipe_tokenizer(Med3DVLMConfig.from_pretrained(source, trust_remote_code=False).get_recipe())
    if not any((source / name).is_file() for name in TOKENIZER_FILES):
        raise HarnessError(
            f"{source} has no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}); save the tokenizer next to the "
            f"weights (tokenizer.save_pretrained('{source}')) or copy the base model's tokenizer files there"
        )
    trust.check_folder(source)
    return AutoTokenizer.from_pretrained(source, **trust.remote_code_kwargs())


def _recipe_tokenizer(recipe: Recipe) -> Any:
    tokenizer = llm_backend(recipe).tokenizer()
    add_image_token(tokenizer, recipe.image_token)
    return tokenizer


def load_adapter_export(path: Path, config: Med3DVLMConfig, dtype: torch.dtype | None) -> PreTrainedModel:
    """An adapter export on its base model: the recipe in its config loaded from its parts, then the folder's
    trained parts and LoRA adapter (merged)."""
    recipe = config.get_recipe()
    if recipe.weights:
        raise HarnessError(f"{path} is an adapter export whose recipe names full weights ({recipe.weights}); "
                           f"merge the adapter into that model or export again with merged LoRA")
    model = _load_from_parts(recipe, None)
    model = _load_local_weights(model, path)
    return model.to(dtype) if dtype is not None else model


def _resize_like_reference(lm: PreTrainedModel, new_size: int) -> None:
    """Resize the LLM's embeddings; the new rows get the mean of the old rows (as Med3DVLM's training does)."""
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
    model = Med3DVLMForCausalLM(config, language_model=lm)
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
    return snapshot(source, None, f"pass a local folder with --set extra.parts_weights=/path/to/{path.name}")


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


def _load_local_weights(model: Med3DVLMForCausalLM, folder: Path) -> PreTrainedModel:
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
