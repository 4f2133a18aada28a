"""How the projected image tokens enter the LLM's input embeddings. The sequence length never changes.

- ``published`` (the LLaVA-style 3D models' own splice): keep the embedding of the first token, overwrite the next N
  positions with the N image tokens, whatever tokens stand there. The published weights were
  trained this way. With left padding the count starts at each row's first real token, so a row
  gets the same embeddings batched as alone.
- ``placeholder``: the image tokens replace the positions that hold the image token id; each
  row must hold exactly N of them.
"""

from __future__ import annotations

import torch

from harness.errors import HarnessError

STRATEGIES = ("published", "placeholder")


def splice(
    strategy: str,
    embeds: torch.Tensor,
    image_features: torch.Tensor,
    *,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    image_token_id: int | None = None,
) -> torch.Tensor:
    """``embeds`` (B, L, H) with ``image_features`` (B, N, H) written in; a new tensor, same shape."""
    if strategy == "published":
        return splice_published(embeds, image_features, attention_mask)
    if strategy == "placeholder":
        if image_token_id is None:
            raise HarnessError("the placeholder splice needs config.image_token_id (the id of '<im_patch>')")
        return splice_placeholder(embeds, image_features, input_ids, image_token_id)
    raise HarnessError(f"unknown splice strategy '{strategy}'; use one of {list(STRATEGIES)}")


def first_real_positions(attention_mask: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
    """Index of each row's first non-padding token (0 without a mask or with right padding)."""
    if attention_mask is None:
        return torch.zeros(batch, dtype=torch.long, device=device)
    return attention_mask.to(torch.long).argmax(dim=1)


def splice_published(
    embeds: torch.Tensor, image_features: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    batch, length, _ = embeds.shape
    n = image_features.shape[1]
    starts = first_real_positions(attention_mask, batch, embeds.device) + 1
    if int(starts.max()) + n > length:
        raise HarnessError(
            f"the published splice overwrites {n} positions after the first token, but a prompt has only "
            f"{length - int(starts.max())} positions left; put the {n} image tokens in the prompt"
        )
    positions = starts[:, None] + torch.arange(n, device=embeds.device)[None, :]
    out = embeds.clone()
    rows = torch.arange(batch, device=embeds.device)[:, None].expand(batch, n)
    out[rows, positions] = image_features.to(embeds.dtype)
    return out


def splice_placeholder(
    embeds: torch.Tensor, image_features: torch.Tensor, input_ids: torch.Tensor, image_token_id: int
) -> torch.Tensor:
    mask = input_ids == image_token_id
    counts = mask.sum(dim=1)
    n = image_features.shape[1]
    if bool((counts != n).any()):
        raise HarnessError(
            f"each prompt must hold exactly {n} image tokens (id {image_token_id}) for the placeholder splice, "
            f"found {counts.tolist()}"
        )
    out = embeds.clone()
    out[mask] = image_features.reshape(-1, image_features.shape[-1]).to(embeds.dtype)
    return out
