"""What any 3D task needs from its images: reading volumes, windowing, resizing, batching, hub snapshots.

    >>> from harness.data import prepare_image
    >>> image = prepare_image("/data/ct/case_0001.nii.gz", input_size=(32, 64, 64))  # doctest: +SKIP

Record formats (which files hold cases, what a case is) belong to task plugins. Torch-dependent names
(`prepare_image`, `CaseImages`, ...) load on first use, so importing this package stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "BadCase": "harness.data.images",
    "read_volume": "harness.data.images",
    "prepare_image": "harness.data.images",
    "window_normalise": "harness.data.images",
    "resize_volume": "harness.data.resize",
    "CaseImages": "harness.data.dataset",
    "collate_images": "harness.data.dataset",
    "image_loader": "harness.data.dataset",
    "train_augmentation": "harness.data.dataset",
}

__all__ = [*_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness.data' has no attribute {name!r}")
