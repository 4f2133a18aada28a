"""FLARE data: records, layouts, named data sets, images, preprocessing and the synthetic demo set.

    >>> from harness.data import data_identity, load_cases, prepare_image
    >>> cases = load_cases("demo")                                          # doctest: +SKIP
    >>> image = prepare_image(cases[0], input_size=(32, 64, 64))            # doctest: +SKIP
    >>> data_identity("flare2026", split="validation")["revision"]          # doctest: +SKIP

Torch-dependent names (`prepare_image`, `CaseImages`, ...) load on first use, so importing this
package stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from harness.data.catalog import DATASETS, DataSetCard, find_dataset
from harness.data.catalog import FLARE2025_HUB_ID as HUB_ID
from harness.data.loading import (
    LoadedData,
    cache_dir,
    data_identity,
    load_cases,
    load_data,
    read_json,
    resolve_data,
)
from harness.data.records import Case, GlobalQuestion, LocalQuestion
from harness.data.validate import RecordError, validate_records

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
    "preprocess": "harness.data.preprocess",
    "generate_demo": "harness.data.demo",
}

__all__ = [
    "DATASETS",
    "HUB_ID",
    "Case",
    "DataSetCard",
    "LoadedData",
    "GlobalQuestion",
    "LocalQuestion",
    "RecordError",
    "cache_dir",
    "data_identity",
    "find_dataset",
    "load_cases",
    "load_data",
    "read_json",
    "resolve_data",
    "validate_records",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness.data' has no attribute {name!r}")
