"""`build_model` and `load_model`: a zoo name, a local checkpoint (published or harness layout) or a hub id.

    >>> import harness, torch
    >>> with torch.device("meta"):
    ...     model = harness.build_model("med3dvlm")           # architecture only, allocates nothing
    >>> model = harness.load_model("/path/to/Med3DVLM-Qwen-2.5-7B-FLARE2025", dtype=torch.bfloat16)  # doctest: +SKIP

Layouts read:

- *published*: config.json with ``model_type: "vlm_qwen"`` (transformers 4.52 style, Qwen2 fields plus
  the vision fields) and model.safetensors or a sharded index; parameter names are already ours.
- *harness*: what ``save_pretrained`` writes (``model_type: "med3d_vlm"``, the recipe in the config).

A recipe without full trained weights (``weights=None``) loads its LLM's pretrained weights through the
LLM backend, adds ``<im_patch>`` to the tokenizer and resizes the embeddings as the reference does (new
rows = mean of the old ones), then reads ``extra["parts_weights"]`` (vision tower and projector) and
``extra["local_weights"]``: a folder with ``model.safetensors`` (any subset of the model's keys) and an
optional peft LoRA ``adapter/`` that is merged.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, PretrainedConfig, PreTrainedModel

from harness import plugins
from harness.errors import HarnessError
from harness.modeling.configuration import MODEL_TYPE, Med3DVLMConfig
from harness.modeling.hub import snapshot
from harness.modeling.modeling import Med3DVLMForCausalLM
from harness.recipe import Recipe

PUBLISHED_MODEL_TYPE = "vlm_qwen"
VISION_PREFIXES = ("model.vision_tower.", "model.mm_projector.")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DICT_FIELDS = ("encoder_options", "projector_options", "llm_options", "training", "extra")


def resolve_recipe(name: str, **overrides: Any) -> Recipe:
    """The zoo recipe ``name`` with ``overrides`` applied (dict fields are merged one level deep)."""
    recipe: Recipe = plugins.registry("models").create(name)
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in _DICT_FIELDS and isinstance(value, dict):
            changes[key] = {**getattr(recipe, key), **value}
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
    """The model config of a recipe; the vocabulary size (after ``<im_patch>``) comes from ``extra["vocab_size"]``."""
    text_config = text_config if text_config is not None else llm_backend(recipe).config()
    vocab_size = recipe.extra.get("vocab_size")
    if vocab_size is not None:
        text_config.vocab_size = int(vocab_size)
    image_token_id = recipe.extra.get("image_token_id", text_config.vocab_size - 1)
    return Med3DVLMConfig(recipe=recipe.to_dict(), text_config=text_config, image_token_id=image_token_id)


def build_model(name: str, **overrides: Any) -> Med3DVLMForCausalLM:
    """A zoo recipe's architecture with fresh weights and no download (allocates nothing under meta)."""
    return Med3DVLMForCausalLM(model_config(resolve_recipe(name, **overrides)))


def load_model(name_or_path: str, *, dtype: Any = None, device: Any = None,
               llm_options: dict[str, Any] | None = None) -> PreTrainedModel:
    """Trained weights by zoo name, local checkpoint folder or hub id (see the module docstring).
    ``llm_options`` override a zoo recipe's LLM options (``--set llm_options.model_id=PATH``)."""
    name_or_path = str(name_or_path)
    dtype = parse_dtype(dtype)
    if name_or_path in plugins.registry("models"):
        model = load_recipe(resolve_recipe(name_or_path, llm_options=llm_options or {}), dtype)
    elif llm_options:
        raise HarnessError(f"--set llm_options.* applies to zoo model names; {name_or_path} carries its own LLM")
    elif Path(name_or_path).is_dir():
        model = load_checkpoint(Path(name_or_path), dtype=dtype)
    elif _HUB_ID.match(name_or_path):
        hint = "pass a local checkpoint folder instead (download it where there is network)"
        model = load_checkpoint(snapshot(name_or_path, None, hint), dtype=dtype)
    else:
        plugins.registry("models").get(name_or_path)  # raises the did-you-mean error
        raise AssertionError("unreachable")
    model.eval()
    return model.to(device) if device is not None else model


def load_checkpoint(path: Path, *, dtype: torch.dtype | None = None, recipe: Recipe | None = None) -> PreTrainedModel:
    """A local folder in the published (``vlm_qwen``) or the harness (``med3d_vlm``) layout."""
    config_file = path / "config.json"
    if not config_file.is_file():
        raise HarnessError(f"{path} has no config.json; pass a checkpoint folder written by save_pretrained")
    raw = json.loads(config_file.read_text())
    model_type = raw.get("model_type")
    if model_type == PUBLISHED_MODEL_TYPE:
        config = published_config(raw, recipe=recipe, name=path.name)
    elif model_type == MODEL_TYPE:
        config = Med3DVLMConfig.from_pretrained(path)
    else:
        raise HarnessError(
            f"{config_file} has model_type {model_type!r}; expected '{PUBLISHED_MODEL_TYPE}' (published Med3DVLM) "
            f"or '{MODEL_TYPE}' (harness)"
        )
    model, info = Med3DVLMForCausalLM.from_pretrained(
        path, config=config, dtype=dtype or "auto", use_safetensors=True, output_loading_info=True
    )
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if bad:
        summary = "; ".join(f"{k}: {sorted(map(str, v))[:3]}{'...' if len(v) > 3 else ''}" for k, v in bad.items())
        raise HarnessError(f"{path} does not match its config ({summary}); is it a complete checkpoint?")
    return model


def published_recipe(raw: dict[str, Any], name: str = "published") -> Recipe:
    """Map a published config.json's vision fields to a recipe (splice ``published``)."""
    encoder = raw.get("vision_tower", "dcformer")
    encoder_options: dict[str, Any] = {
        "select_layer": raw.get("vision_select_layer", -2),
        "select_feature": raw.get("vision_select_feature", "cls_patch"),
    }
    if encoder == "vit3d":
        patch = raw.get("patch_size", 16)
        patch = patch[0] if isinstance(patch, list) and len(set(patch)) == 1 else patch
        encoder_options.update(patch_size=patch, dim=raw.get("dim", 768), depth=raw.get("depth", 12))
    projector = raw.get("mm_projector_type", "mixer")
    projector_options: dict[str, Any] = {}
    if projector == "mixer":
        projector_options = {
            "low_output_size": list(raw.get("low_output_size", (192, 128))),
            "high_output_size": list(raw.get("high_output_size", (64, 128))),
            "mlp_depth": raw.get("mm_mlp_depth", 2),
        }
    elif projector in ("mlp", "low_high_mlp"):
        projector_options = {"depth": raw.get("mm_mlp_depth", 2)}
    elif projector == "spp":
        projector_options = {"proj_out_num": raw.get("proj_out_num", 256)}
    return Recipe(
        name=name,
        encoder=encoder,
        projector=projector,
        llm="hf",
        encoder_options=encoder_options,
        projector_options=projector_options,
        llm_options={"model_id": raw.get("_name_or_path") or "Qwen/Qwen2.5-7B-Instruct", "config": _qwen2_fields(raw)},
        input_size=tuple(raw.get("input_size", (128, 256, 256))),
        splice="published",
        weights_layout="published",
    )


def published_config(raw: dict[str, Any], *, recipe: Recipe | None = None, name: str = "published") -> Med3DVLMConfig:
    recipe = recipe or published_recipe(raw, name)
    text = _qwen2_fields(raw)
    text_config = AutoConfig.for_model(text.pop("model_type"), **text)
    return Med3DVLMConfig(recipe=recipe.to_dict(), text_config=text_config, image_token_id=text_config.vocab_size - 1)


_VISION_FIELDS = {
    "architectures", "input_size", "patch_size", "dim", "depth", "vision_tower", "vision_select_layer",
    "vision_select_feature", "mm_projector_type", "mm_mlp_depth", "proj_out_num", "low_output_size",
    "high_output_size", "low_input_size", "high_input_size", "mm_hidden_size", "transformers_version",
    "torch_dtype", "_name_or_path", "model_type",
}


def _qwen2_fields(raw: dict[str, Any]) -> dict[str, Any]:
    text = {k: v for k, v in raw.items() if k not in _VISION_FIELDS and not k.startswith("tune_")}
    text["model_type"] = "qwen2"
    return text


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
            hint = f"download it where there is network and pass the folder: harness.load_model('/path/to/{path.name}')"
            path = snapshot(recipe.weights, recipe.revision, hint)
        return load_checkpoint(path, dtype=dtype, recipe=recipe if recipe.weights_layout == "published" else None)
    return _load_from_parts(recipe, dtype)


def add_image_token(tokenizer: Any, token: str) -> int:
    """Add ``token`` as a special token (no-op when present); returns its id."""
    if token not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [token]}, replace_extra_special_tokens=False)
    return tokenizer.convert_tokens_to_ids(token)


def load_tokenizer(name_or_path: str, *, llm_options: dict[str, Any] | None = None) -> Any:
    """The tokenizer of a zoo model or checkpoint folder, with the image token added."""
    from transformers import AutoTokenizer

    path = Path(str(name_or_path))
    if path.is_dir() and any(path.glob("tokenizer*")):
        return AutoTokenizer.from_pretrained(path)
    recipe = resolve_recipe(str(name_or_path), llm_options=llm_options or {})
    tokenizer = llm_backend(recipe).tokenizer()
    add_image_token(tokenizer, recipe.image_token)
    return tokenizer


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
    config = model_config(recipe.replace(extra={**recipe.extra, "vocab_size": len(tokenizer),
                                                "image_token_id": image_token_id}), lm.config)
    if "init_seed" in recipe.extra:  # fresh parts, reproducibly (e.g. an untrained baseline)
        torch.manual_seed(int(recipe.extra["init_seed"]))
    model = Med3DVLMForCausalLM(config, language_model=lm)
    if recipe.extra.get("parts_weights"):
        _load_subset(model, _weights_folder(recipe.extra["parts_weights"], recipe), VISION_PREFIXES)
    local = recipe.extra.get("local_weights")
    if local and Path(local).is_dir():
        model = _load_local_weights(model, Path(local))
    elif local:
        sys.stderr.write(
            f"warning: model '{recipe.name}' has no trained weights yet ({local} is absent): returning the "
            f"untrained model (random vision tower and projector, base LLM)\n"
        )
    return model.to(dtype) if dtype is not None else model


def _weights_folder(source: str, recipe: Recipe) -> Path:
    path = Path(source)
    if path.is_dir():
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

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model
