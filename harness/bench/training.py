"""One GPU fine-tuning throughput with the measured recipe's trainable parts.

LoRA (the recipe's r/alpha/dropout) on the LLM's Linear layers, the recipe's ``trainable`` parts (vision
tower, projector, embeddings, lm_head) in full, bf16, gradient checkpointing; DeepSpeed ZeRO-2 when
``deepspeed`` imports on a GPU, else ``torch.optim.AdamW`` under bf16 autocast (float32 master weights,
as the HF Trainer does without DeepSpeed). Samples are the bench tasks' prompts (`harness.bench.workload`),
each with a target of the task's new tokens, right-padded, prompt tokens masked out of the labels.

MFU counts the FLOPs the step needs, recomputation excluded: forward 2 FLOPs per weight and token,
backward 2 for the input gradients of every layer and 2 more for the weight gradients of trainable
matrices; causal attention 2 x layers x hidden x T^2 per sample forward, three times that in all; the
vision tower and projector as counted by `torch.utils.flop_counter` for one forward, times three.
"""

from __future__ import annotations

from typing import Any

import torch

from harness.bench.device import Device, is_out_of_memory
from harness.bench.shapes import Shapes


def samples(prompts: dict[str, list[list[int]]], new_tokens: dict[str, int], shapes: Shapes,
            batch: int) -> list[tuple[list[int], int]]:
    """``batch`` (ids, prompt length) pairs taking the tasks in turn, each prompt + a target of its task's length."""
    out = []
    tasks = list(prompts)
    for i in range(batch):
        task = tasks[i % len(tasks)]
        prompt = prompts[task][(i // len(tasks)) % len(prompts[task])]
        ids = (prompt + [7] * new_tokens[task])[: shapes.train_max_length]
        out.append((ids, min(len(prompt), len(ids))))
    return out


def collate(pairs: list[tuple[list[int], int]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), width), pad_id)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    labels = torch.full((len(pairs), width), -100)
    for row, (seq, prompt) in enumerate(pairs):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
        labels[row, prompt : len(seq)] = torch.tensor(seq[prompt:])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _prepare(model: Any, training: dict[str, Any]) -> Any:
    from harness.training.parts import apply_lora, set_trainable

    lora = training.get("lora") or {"r": 16, "alpha": 32, "dropout": 0.05}
    model = apply_lora(model, r=int(lora["r"]), alpha=int(lora["alpha"]), dropout=float(lora["dropout"]))
    parts = [p.rsplit(".", 1)[-1] for p in training.get("trainable", [])]
    set_trainable(model, parts, lora=True)
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x renamed it
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    return model


def step_flops(model: Any, batch: dict[str, torch.Tensor], vision_forward_flops: float) -> float:
    """FLOPs one optimiser step needs (see the module docstring)."""
    text = model.config.text_config
    dense, dense_trainable = 0, 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and "vision_tower" not in name and "mm_projector" not in name:
            dense += module.weight.numel()
            dense_trainable += module.weight.numel() if module.weight.requires_grad else 0
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    tokens = sum(lengths)
    linear = (4 * dense + 2 * dense_trainable) * tokens
    attention = 3 * sum(2 * text.num_hidden_layers * text.hidden_size * t * t for t in lengths)
    return float(linear + attention + 3 * vision_forward_flops * len(lengths))


def vision_flops(model: Any, device: Device) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    size = tuple(model.config.get_recipe().input_size)
    images = torch.rand(1, 1, *size, device=device.torch_device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.encode_images(images)
    return float(counter.get_total_flops())


def _deepspeed_engine(model: Any, optimizer: torch.optim.Optimizer, batch: int) -> Any:
    import deepspeed

    from harness.training.zero import ensure_distributed_env

    ensure_distributed_env()
    config = {
        "train_micro_batch_size_per_gpu": batch, "gradient_accumulation_steps": 1, "bf16": {"enabled": True},
        "zero_optimization": {"stage": 2, "overlap_comm": True, "contiguous_gradients": True},
        "zero_allow_untested_optimizer": True, "steps_per_print": 10**9,
    }
    engine, *_ = deepspeed.initialize(model=model, optimizer=optimizer, config=config)
    return engine


def measure_training(model: Any, device: Device, prompts: dict[str, list[list[int]]], new_tokens: dict[str, int],
                     shapes: Shapes, *, pad_id: int) -> dict[str, Any]:
    """Timed optimiser steps after warm-up; ``model`` is float32 and is modified (LoRA, trainable flags)."""
    recipe = model.config.get_recipe()
    vision_forward = vision_flops(model, device)
    model = _prepare(model, recipe.training)
    pairs = samples(prompts, new_tokens, shapes, shapes.train_batch)
    batch = {k: v.to(device.torch_device) for k, v in collate(pairs, pad_id).items()}
    images = torch.rand(shapes.train_batch, 1, *recipe.input_size, device=device.torch_device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=float(recipe.training.get("learning_rate", 5e-5)), weight_decay=0.0)
    engine = None
    backend = "torch.optim.AdamW + bf16 autocast" if device.is_cuda else "torch.optim.AdamW, float32 (CPU)"
    if device.is_cuda:
        try:
            engine = _deepspeed_engine(model, optimizer, shapes.train_batch)
            backend = "deepspeed ZeRO-2 (bf16) + torch.optim.AdamW"
        except ImportError:
            engine = None

    def step() -> None:
        if engine is not None:
            loss = engine(**batch, images=images.to(torch.bfloat16)).loss
            engine.backward(loss)
            engine.step()
            return
        with torch.autocast(device.torch_device.type, dtype=torch.bfloat16, enabled=device.is_cuda):
            loss = model(**batch, images=images).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    device.reset_peak_memory()
    try:
        for _ in range(shapes.train_warmup_steps):
            step()
        _, seconds = device.timed(lambda: [step() for _ in range(shapes.train_steps)])
    except RuntimeError as exc:
        if not is_out_of_memory(exc):
            raise
        return {"backend": backend, "batch": shapes.train_batch, "status": "out of memory"}
    flops = step_flops(model, batch, vision_forward) * shapes.train_steps
    tokens = int(batch["attention_mask"].sum()) * shapes.train_steps
    counts = _counts(model)
    peak = device.bf16_peak_tflops
    return {
        "backend": backend,
        "batch": shapes.train_batch,
        "sequence_lengths": batch["attention_mask"].sum(dim=1).tolist(),
        "steps": shapes.train_steps,
        "samples_per_s": shapes.train_batch * shapes.train_steps / seconds,
        "tokens_per_s": tokens / seconds,
        "model_tflops_per_s": flops / seconds / 1e12,
        "mfu": None if peak is None else flops / seconds / (peak * 1e12),
        "bf16_peak_tflops": peak,
        "trainable_parameters": counts["trainable"],
        "total_parameters": counts["total"],
        "peak_memory_gib": device.peak_memory_gib(),
    }


def _counts(model: Any) -> dict[str, int]:
    from harness.training.parts import count_parameters

    return count_parameters(model)["all"]
