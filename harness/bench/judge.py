"""A GREEN judge on its real architecture (declared by its registration, `harness.bench.workload`): seconds per
judged sample per variant.

Variants of the judge's generation options: ``padded`` (length-sorted padded batches, dynamic KV cache, SDPA),
``static`` (static KV cache) and ``continuous`` (transformers' continuous batching, where the installed
version and the plugin offer it). Each judged sample gets exactly ``new_tokens`` new tokens (set through
the model's generation config), so that random weights, which rarely emit EOS, are timed like a trained
judge writing a GREEN analysis. A published figure the judge's registration names is reported beside it.
"""

from __future__ import annotations

from typing import Any

from harness.bench.device import Device, is_out_of_memory
from harness.bench.generation import largest_candidates
from harness.bench.workload import JudgeWorkload
from harness.errors import HarnessError

VARIANTS: dict[str, dict[str, Any]] = {
    "padded": {"generation": "padded"},
    "static": {"generation": "padded", "cache_implementation": "static"},
    "continuous": {"generation": "continuous"},
}


def judge_class(name: str) -> Any:
    from harness import plugins

    return plugins.registry("judges").get(name).load()


def green_template(name: str) -> str:
    """GREEN's chat template, from the module of the registered judge ``name``."""
    import inspect

    template = getattr(inspect.getmodule(judge_class(name)), "GREEN_CHAT_TEMPLATE", None)
    if not isinstance(template, str):
        raise HarnessError(f"judge '{name}' has no GREEN_CHAT_TEMPLATE in its module; pass --judge with a GREEN "
                           f"judge on a local causal LM, or --only without judge")
    return template


def complete(judge_cls: Any, model: Any, tokenizer: Any, prompts: list[str], *, batch_size: int, new_tokens: int,
             variant: dict[str, Any]) -> list[str]:
    """The judge's completions for ``prompts``, run on ``model``/``tokenizer``: each exactly ``new_tokens``
    long (the judge's ``max_new_tokens`` cap, and no EOS before it)."""
    model.generation_config.min_new_tokens = new_tokens
    judge = judge_cls.from_model(model, tokenizer, batch_size=batch_size, max_new_tokens=new_tokens, **variant)
    return judge.complete(prompts)


def measure_judge(model: Any, tokenizer: Any, device: Device, prompts: list[str], *, judge: JudgeWorkload,
                  batches: tuple[int, ...], new_tokens: int, calls_per_case: int, search_largest: bool,
                  largest_cap: int) -> dict[str, Any]:
    """Each variant at each batch and, on a GPU, the largest batch that fits (`largest_candidates`);
    ``calls_per_case``: judged samples per case of the bench tasks."""
    tokenizer.chat_template = green_template(judge.name)
    judge_cls = judge_class(judge.name)
    lengths = [len(tokenizer.apply_chat_template([{"from": "human", "value": p}, {"from": "gpt", "value": ""}],
                                                 tokenize=True, add_generation_prompt=True, return_dict=False))
               for p in prompts]
    rows: list[dict[str, Any]] = []
    for name, variant in VARIANTS.items():
        if name == "continuous" and not device.is_cuda:  # minutes of set-up on a CPU, where it is never used
            rows.append({"variant": name, "batch": batches[0], "status": "skipped on CPU: transformers' continuous "
                         "batching sizes its paged cache and masks from free memory"})
            continue
        for batch in batches:
            row = _point(judge_cls, model, tokenizer, device, prompts, batch, new_tokens, name, variant)
            rows.append(row)
            if "status" in row:
                break
        else:
            if search_largest and device.is_cuda:
                for batch in largest_candidates(batches[-1], min(largest_cap, len(prompts))):
                    row = _point(judge_cls, model, tokenizer, device, prompts, batch, new_tokens, name, variant)
                    rows.append({**row, "largest_search": True})
                    if "status" not in row:
                        break
    fitted = [r for r in rows if "status" not in r]
    best = min(fitted, key=lambda r: r["seconds_per_sample"]) if fitted else None
    reference = (judge.reference or {}).get("seconds_per_sample")
    return {
        "judge": judge.name,
        "architecture": judge.label,
        "prompt_tokens": {"min": min(lengths), "mean": sum(lengths) / len(lengths), "max": max(lengths)},
        "new_tokens": new_tokens,
        "rows": rows,
        "best": None if best is None else {
            "variant": best["variant"], "batch": best["batch"], "seconds_per_sample": best["seconds_per_sample"],
            "seconds_per_case": best["seconds_per_sample"] * calls_per_case, "calls_per_case": calls_per_case,
            "speedup_vs_reference": None if reference is None else reference / best["seconds_per_sample"],
        },
        "reference": judge.reference,
    }


def _point(judge_cls: Any, model: Any, tokenizer: Any, device: Device, prompts: list[str], batch: int,
           new_tokens: int, name: str, variant: dict[str, Any]) -> dict[str, Any]:
    samples = prompts[: max(batch, min(len(prompts), 2 * batch))]
    device.reset_peak_memory()
    try:
        complete(judge_cls, model, tokenizer, samples[:batch], batch_size=batch, new_tokens=2,
                 variant=variant)  # warm-up
        _, seconds = device.timed(lambda: complete(judge_cls, model, tokenizer, samples, batch_size=batch,
                                                   new_tokens=new_tokens, variant=variant))
    except (NotImplementedError, HarnessError) as exc:
        return {"variant": name, "batch": batch, "status": f"unavailable: {exc}"}
    except (RuntimeError, ValueError) as exc:
        if not is_out_of_memory(exc):
            raise
        return {"variant": name, "batch": batch, "status": "out of memory"}
    return {"variant": name, "batch": batch, "samples": len(samples), "seconds": seconds,
            "seconds_per_sample": seconds / len(samples), "tokens_per_s": len(samples) * new_tokens / seconds,
            "peak_memory_gib": device.peak_memory_gib()}
