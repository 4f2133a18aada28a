"""Token ids and labels of one training example, and the right-padding collate.

    >>> ex = encode_example(tok, "PROMPT", "answer", max_length=64)     # doctest: +SKIP
    >>> ex["labels"][:n_prompt_tokens]                                 # all -100   # doctest: +SKIP

As the reference does: the text is ``prompt + " " + target``; the prompt's own tokens are masked to
-100 in the labels, EOS follows the text (and is learnt), and the whole is cut at ``max_length``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from harness.errors import HarnessError

IGNORE_INDEX = -100


def encode_example(tokenizer: Any, prompt: str, target: str, *, max_length: int, where: str = "") -> dict[str, Any]:
    """``{"input_ids", "labels"}`` as lists of ints; the prompt part of ``labels`` is -100."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    full_ids = list(tokenizer(prompt + " " + target)["input_ids"])
    n_prompt = len(prompt_ids)
    if n_prompt >= max_length:
        raise HarnessError(
            f"{where or 'a prompt'} is {n_prompt} tokens, not shorter than max_length {max_length}: "
            f"raise it with --set max_length=N"
        )
    eos = tokenizer.eos_token_id
    if eos is None:
        raise HarnessError("the tokenizer has no EOS token; training needs one to end the targets")
    full_ids.append(eos)
    input_ids = full_ids[:max_length]
    labels = [IGNORE_INDEX] * n_prompt + input_ids[n_prompt:]
    return {"input_ids": input_ids, "labels": labels}


class Collator:
    """Right-pads ``input_ids`` (pad id), ``labels`` (-100) and ``attention_mask`` (0); stacks ``images``."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, examples: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(e["input_ids"]) for e in examples)
        input_ids = torch.full((len(examples), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
        for row, example in enumerate(examples):
            n = len(example["input_ids"])
            input_ids[row, :n] = torch.as_tensor(example["input_ids"], dtype=torch.long)
            labels[row, :n] = torch.as_tensor(example["labels"], dtype=torch.long)
            attention_mask[row, :n] = 1
        batch = {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}
        if "images" in examples[0]:
            batch["images"] = torch.stack([e["images"] for e in examples])
        return batch


def pad_token_id(tokenizer: Any) -> int:
    """The tokenizer's pad id, else EOS (padded positions are masked out of attention and labels anyway)."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        raise HarnessError("the tokenizer has neither a pad nor an EOS token")
    return int(pad)
