"""`FinetuneDataset`: slots -> (token ids, labels, image) items for the HF Trainer.

Randomness (which VQA question a slot asks, the intensity augmentation) is a function of the run's seed,
the epoch and the item's index alone: item i of epoch e draws from its own generator seeded with
``(seed, e, i)``. No generator state is carried from one item to the next, so the draws do not depend on
which process or data-loader worker loads the item, on how far ahead the loader prefetches, or on when a
resumed run restores the global RNG states (the Trainer draws the first resumed batch before it does):
an interrupted and resumed run sees exactly the samples of the uninterrupted one. The Trainer tells the
dataset the epoch through `EpochCallback`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import TrainerCallback

from harness.data.dataset import CaseImages, train_augmentation
from harness.errors import HarnessError
from harness.task import Case
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
        sample_draw: str = "task",
        seed: int = 0,
    ) -> None:
        self.slots = list(slots)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.sample_draw = sample_draw
        self.seed = seed
        self.epoch = 0
        self._check_prompt_lengths()
        self.images = CaseImages(cases, input_size=input_size, hu_windows=hu_windows)
        self.augmentation = train_augmentation() if augment else None

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

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def generator(self, index: int) -> np.random.RandomState:
        """The generator of item ``index`` in the current epoch (a RandomState: MONAI's transforms take one)."""
        return np.random.RandomState(np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(4))

    def __getitem__(self, index: int) -> dict[str, Any]:
        slot = self.slots[index]
        rng = self.generator(index)
        sample = slot.draw(rng, self.sample_draw)
        example = encode_example(self.tokenizer, sample.prompt, sample.target, max_length=self.max_length,
                                 where=f"the prompt of {sample.key}")
        image = self.images[slot.case_index]["image"]
        if self.augmentation is not None:
            self.augmentation.set_random_state(state=rng)
            image = self.augmentation(image)
            image = image.as_tensor() if hasattr(image, "as_tensor") else torch.as_tensor(image)  # MONAI MetaTensor
        example["images"] = image.to(torch.float32)
        return example

    def scope_counts(self) -> dict[str, int]:
        """How many slots each task/scope contributes (for the dry-run and the run's first lines)."""
        counts: dict[str, int] = {}
        for slot in self.slots:
            key = slot.task if len(slot.by_scope) == 1 else f"{slot.task} ({'/'.join(sorted(slot.by_scope))})"
            counts[key] = counts.get(key, 0) + 1
        return counts



class EpochCallback(TrainerCallback):
    """Tells the dataset the epoch at the start of each (the Trainer's own ``set_epoch`` does not reach a
    dataset under several processes); a resumed run's ``state.epoch`` (e.g. 1.5) gives the epoch it is in."""

    def __init__(self, dataset: FinetuneDataset) -> None:
        self.dataset = dataset

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.dataset.set_epoch(math.floor((state.epoch or 0.0) + 1e-6))
