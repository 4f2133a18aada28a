"""A torch Dataset of case images, its collate function, and the reference training augmentation.

A case is any object with ``case_id`` and ``image`` (a path; `harness.task.Case`) and optionally ``domain``:
which of the model's intensity windows (``Recipe.hu_windows``) its image takes.

>>> loader = image_loader(cases, input_size=(32, 64, 64), batch_size=2, workers=2)  # doctest: +SKIP
>>> batch = next(iter(loader)); batch["images"].shape                            # doctest: +SKIP
torch.Size([2, 1, 32, 64, 64])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from harness.data.images import BadCase, check_on_bad_case, prepare_image
from harness.errors import HarnessError
from harness.task import Case


def train_augmentation() -> Callable[[torch.Tensor], torch.Tensor]:
    """The reference's training transform: RandScaleIntensity(0.1, p 0.5), RandShiftIntensity(0.1, p 0.5)."""
    import monai.transforms as mtf

    return mtf.Compose([mtf.RandScaleIntensity(factors=0.1, prob=0.5), mtf.RandShiftIntensity(offsets=0.1, prob=0.5)])


class CaseImages(Dataset):
    """Item i: ``{"case_id", "index", "image"}`` with image (1, D, H, W) in [0, 1], or, for an
    unreadable image when ``on_bad_case="skip"``, ``{"case_id", "index", "error"}``."""

    def __init__(
        self,
        cases: Sequence[Case],
        *,
        input_size: Sequence[int],
        hu_windows: Mapping[str, Sequence[float]] | None = None,
        augment: bool = False,
        on_bad_case: str = "error",
    ) -> None:
        check_on_bad_case(on_bad_case, name="on_bad_case=")
        self.cases = list(cases)
        self.input_size = tuple(input_size)
        self.hu_windows = hu_windows
        self.transform = train_augmentation() if augment else None
        self.on_bad_case = on_bad_case

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> dict[str, Any]:
        case = self.cases[index]
        try:
            image = case_image(case, input_size=self.input_size, hu_windows=self.hu_windows)
        except BadCase as exc:
            if self.on_bad_case == "error":
                raise
            return {"case_id": case.case_id, "index": index, "error": str(exc)}
        if self.transform is not None:
            image = torch.as_tensor(self.transform(image)).float()
        return {"case_id": case.case_id, "index": index, "image": image}


def case_image(case: Case, *, input_size: Sequence[int],
               hu_windows: Mapping[str, Sequence[float]] | None = None) -> torch.Tensor:
    """The model input (1, D, H, W) of one case, windowed for its ``domain`` (None: the only window)."""
    if case.image is None:
        raise HarnessError(f"case {case.case_id} has no image path: load the cases with the task's load_data")
    try:
        return prepare_image(case.image, input_size=input_size, hu_windows=hu_windows,
                             domain=getattr(case, "domain", None))
    except BadCase as exc:
        if exc.case_id is not None:
            raise
        raise BadCase(exc.path, exc.reason, case.case_id) from None


def collate_images(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the good items' images into (B, 1, D, H, W); list the bad ones as (case_id, error)."""
    good = [item for item in items if "image" in item]
    return {
        "images": torch.stack([item["image"] for item in good]) if good else None,
        "case_ids": [item["case_id"] for item in good],
        "indices": [item["index"] for item in good],
        "bad": [(item["case_id"], item["error"]) for item in items if "error" in item],
    }


def image_loader(
    cases: Sequence[Case],
    *,
    input_size: Sequence[int],
    batch_size: int = 1,
    workers: int = 0,
    hu_windows: Mapping[str, Sequence[float]] | None = None,
    augment: bool = False,
    shuffle: bool = False,
    on_bad_case: str = "error",
) -> DataLoader:
    """A DataLoader over the cases' images with `collate_images`."""
    dataset = CaseImages(cases, input_size=input_size, hu_windows=hu_windows, augment=augment, on_bad_case=on_bad_case)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=workers,
        collate_fn=collate_images,
        persistent_workers=False,
    )
