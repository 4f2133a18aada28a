"""Writing trained weights: checkpoint tensors, and the final model in the harness layout.

Final layouts in OUT (every file written to a temporary name first, then renamed into place):

- merged (default, as the reference): LoRA merged into the LLM, then ``save_pretrained`` (config.json with
  the recipe, model.safetensors) plus the tokenizer, so ``harness run --model OUT`` loads it directly;
- adapter (``merge_lora=False``): only what is not the base LLM: ``model.safetensors`` with the fully
  trained parts (vision tower, projector, and embeddings/lm_head when trained), ``adapter/`` (the peft
  LoRA adapter) and config.json. This is the folder a recipe's ``local_weights`` points at; it
  is loaded on top of the recipe's pretrained LLM.

Both get their own model name (``--name``, by default the output folder's name) with the model they were
fine-tuned from in ``recipe.finetuned_from`` (`portable_reference`: never an absolute path of the
writing machine), so their results are never filed under the base recipe's name, and a Hugging Face model
card (``README.md``, `harness.training.card`). The adapter's ``adapter_config.json`` names the base model in
``base_model_name_or_path``. ``training.json`` (the resolved configuration and the final metrics) is written
last: it marks the run finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from harness.atomic import write_text_atomic
from harness.recipe import Recipe
from harness.training.card import write_card
from harness.training.config import TrainConfig, portable_reference
from harness.training.parts import part_of

PEFT_PREFIX = "base_model.model."
SAVE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def trained_parts(model: torch.nn.Module) -> set[str]:
    return {part_of(name) for name, p in model.named_parameters() if p.requires_grad}


def trained_tensors(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries of ``state`` (parameters and buffers) that belong to a part with a trainable parameter;
    a tensor shared under two names (tied embeddings) is kept once."""
    parts = trained_parts(model)
    out: dict[str, torch.Tensor] = {}
    seen: set[tuple[int, int]] = set()
    for key, tensor in state.items():
        if part_of(key) not in parts:
            continue
        tensor = tensor.detach()
        ident = (tensor.untyped_storage().data_ptr(), tensor.storage_offset()) if tensor.numel() else (id(tensor), 0)
        if ident in seen:
            continue
        seen.add(ident)
        out[key] = tensor.cpu().contiguous()
    return out


def model_name(cfg: TrainConfig) -> str:
    """The exported model's name: ``--name``, else the output folder's name."""
    return cfg.name or Path(cfg.out_dir).resolve().name


def atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    os.close(handle)
    try:
        save_file(tensors, tmp, metadata={"format": "pt"})
        os.chmod(tmp, 0o644)  # mkstemp creates it private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A temporary folder inside ``out_dir`` whose entries are moved into ``out_dir`` when the block succeeds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".final-", dir=out_dir))
    try:
        yield tmp
        for entry in tmp.iterdir():
            target = out_dir / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    if dtype is None:
        return tensors
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}


def save_dtype(cfg: TrainConfig) -> torch.dtype | None:
    return None if cfg.save_dtype == "auto" else SAVE_DTYPES[cfg.save_dtype]


def export_model(model: torch.nn.Module, tokenizer: Any, cfg: TrainConfig, metrics: dict[str, Any]) -> Path:
    """Write the final model (merged or adapter layout) into ``cfg.out_dir``; ``model`` may be a PeftModel."""
    from peft import PeftModel

    out_dir = Path(cfg.out_dir)
    dtype = save_dtype(cfg)
    is_peft = isinstance(model, PeftModel)
    base = model.get_base_model() if is_peft else model
    base_recipe = base.config.recipe
    base.config.recipe = {**Recipe.from_dict(base_recipe).to_dict(), "name": model_name(cfg), "weights": None,
                          "local_weights": None,  # the weights are in this folder now
                          "finetuned_from": portable_reference(cfg.model)}
    with staging(out_dir) as tmp:
        if cfg.merge_lora or not is_peft:
            merged = model.merge_and_unload() if is_peft else model
            if dtype is not None:
                merged = merged.to(dtype)
            merged.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
        else:
            parts = {k.removeprefix(PEFT_PREFIX): v for k, v in trained_tensors(model, model.state_dict()).items()
                     if part_of(k) != "lora"}
            atomic_save_tensors(_cast(parts, dtype), tmp / "model.safetensors")
            model.save_pretrained(tmp / "adapter", safe_serialization=True)
            (tmp / "adapter" / "README.md").unlink(missing_ok=True)  # peft's model-card template
            _set_adapter_base(tmp / "adapter" / "adapter_config.json", portable_reference(cfg.model))
            if dtype is not None:
                _recast_file(tmp / "adapter" / "adapter_model.safetensors", dtype)
            base.config.save_pretrained(tmp)
        write_card(tmp / "README.md", cfg, recipe=base.config.recipe, base_recipe=base_recipe, metrics=metrics)
    summary = {"config": cfg.to_dict(), "metrics": metrics}
    write_text_atomic(out_dir / "training.json", json.dumps(summary, indent=2, default=str) + "\n")
    return out_dir


def _set_adapter_base(path: Path, base: str) -> None:
    """peft records the wrapped model's ``name_or_path`` (empty for an assembled model): name the base model."""
    config = json.loads(path.read_text())
    config["base_model_name_or_path"] = base
    write_text_atomic(path, json.dumps(config, indent=2, sort_keys=True) + "\n")


def _recast_file(path: Path, dtype: torch.dtype) -> None:
    from safetensors.torch import load_file

    atomic_save_tensors(_cast(load_file(str(path)), dtype), path)


def export_final(trainer: Any, tokenizer: Any, cfg: TrainConfig, *, metrics: dict[str, Any], zero3: bool) -> None:
    """Export on the main process; under ZeRO-3 every rank first gathers the partitioned weights."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    gather: contextlib.AbstractContextManager = contextlib.nullcontext()
    if zero3:
        import deepspeed

        gather = deepspeed.zero.GatheredParameters(list(model.parameters()), modifier_rank=None)
    with gather:
        if trainer.is_world_process_zero():
            metrics = {**metrics, "global_step": trainer.state.global_step}
            export_model(model, tokenizer, cfg, metrics)
    trainer.accelerator.wait_for_everyone()
