"""`FinetuneDataset`: slots -> (token ids, labels, image) items for the HF Trainer.

Randomness (which VQA question a slot asks, the intensity augmentation) comes from Python's and
numpy's global generators in the loading process, which the Trainer seeds and saves in its
checkpoints, so a resumed run draws as the uninterrupted one would.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from harness.data.dataset import CaseImages
from harness.data.records import Case
from harness.errors import HarnessError
from harness.training.encoding import encode_example
from harness.training.samples import Slot


class FinetuneDataset(Dataset):
    """Item i: ``{"input_ids", "labels", "images"}`` for slot i (a fresh draw for VQA slots)."""

    def __init__(
        self,
        slots: Sequence[Slot],
        cases: Sequence[Case],
        tokenizer: Any,
        *,
        input_size: Sequence[int],
        max_length: int,
        hu_windows: Mapping[str, Sequence[float]] | None = None,
        augment: bool = True,
        global_question: str = "first",
    ) -> None:
        self.slots = list(slots)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.global_question = global_question
        self._check_prompt_lengths()
        self.images = CaseImages(cases, input_size=input_size, hu_windows=hu_windows, augment=augment)
        if self.images.transform is not None:
            _use_numpy_global_state(self.images.transform)

    def _check_prompt_lengths(self) -> None:
        """Fail before training, not at step N, when a prompt leaves no room for its target."""
        samples = [s for slot in self.slots for group in slot.by_scope.values() for s in group]
        lengths = [len(ids) for ids in self.tokenizer([s.prompt for s in samples])["input_ids"]]
        longest = max(range(len(samples)), key=lengths.__getitem__)
        if lengths[longest] >= self.max_length:
            raise HarnessError(
                f"the prompt of {samples[longest].key} is {lengths[longest]} tokens, not shorter than max_length "
                f"{self.max_length}: raise it with --set max_length=N"
            )

    def __len__(self) -> int:
        return len(self.slots)

    def __getitem__(self, index: int) -> dict[str, Any]:
        slot = self.slots[index]
        sample = slot.draw(random, self.global_question)
        example = encode_example(self.tokenizer, sample.prompt, sample.target, max_length=self.max_length,
                                 where=f"the prompt of {sample.key}")
        example["images"] = self.images[slot.case_index]["image"].to(torch.float32)
        return example

    def scope_counts(self) -> dict[str, int]:
        """How many slots each task/scope contributes (for the dry-run and the run's first lines)."""
        counts: dict[str, int] = {}
        for slot in self.slots:
            key = slot.task if len(slot.by_scope) == 1 else f"{slot.task} ({'/'.join(sorted(slot.by_scope))})"
            counts[key] = counts.get(key, 0) + 1
        return counts


def _use_numpy_global_state(transform: Any) -> None:
    """MONAI's random transforms each own a RandomState seeded from OS entropy; point them at numpy's global
    one (which the Trainer seeds and checkpoints) so the augmentation is reproducible and resumes with the run."""
    import numpy as np

    global_state = np.random.mtrand._rand  # the RandomState behind np.random.*
    for part in getattr(transform, "transforms", [transform]):
        if hasattr(part, "set_random_state"):
            part.set_random_state(state=global_state)
