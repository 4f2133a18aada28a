"""A one-line error instead of torch's ValueError when a BatchNorm layer gets one value per channel.

A BatchNorm layer in training mode needs more than one value per channel to compute batch statistics.
At a small input size the deepest feature maps of a convolutional vision tower are 1x1x1, so a batch
of one sample (``--batch-size 1``, or the last, short batch of an epoch) gives the layer a single value
per channel and torch raises a ValueError from deep inside the forward pass. `guard_batch_norm` checks
each BatchNorm input first and names the layer, the batch and the fix.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness.errors import HarnessError


def guard_batch_norm(model: nn.Module, *, batch_size: int) -> list[Any]:
    """Register the check on every BatchNorm layer of ``model``; returns the hook handles."""
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            handles.append(module.register_forward_pre_hook(_check(name, batch_size)))
    return handles


def _check(name: str, batch_size: int) -> Any:
    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        x = inputs[0]
        if not module.training or x.dim() < 2 or x.numel() // max(x.shape[1], 1) > 1:
            return
        if batch_size == 1:
            raise HarnessError(
                f"--batch-size 1: {name} (BatchNorm) gets one value per channel from a single sample at this "
                f"input size and cannot train; use --batch-size 2 or more"
            )
        raise HarnessError(
            f"--batch-size {batch_size}: a batch of one sample is left over at the end of an epoch, and {name} "
            f"(BatchNorm) cannot train on one value per channel; choose a --batch-size that divides the samples "
            f"per epoch evenly"
        )

    return hook
