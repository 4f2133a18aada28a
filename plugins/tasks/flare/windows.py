"""The reference HU windows of FLARE CT, and which one an image takes.

    >>> REFERENCE_WINDOWS["abdomen"], reference_window("train/CT-RATE-2000/train_1_a_1.nii.gz")
    ((-160.0, 240.0), (-1350.0, 150.0))

Med3DVLM's preprocessing (flare_preprocess.py) clips CT-AMOS (abdomen) volumes to [-160, 240] HU and every
other volume (CT-RATE, chest) to [-1350, 150], choosing by whether the image path contains "amos"
(lower case, anywhere in the path): `reference_window` is that rule, kept exactly for `harness preprocess`.
A run reads a case's window from the model's recipe (``Recipe.hu_windows``) by the request's domain,
which `records.guess_domain` sets from the record; the Med3DVLM recipes declare these same windows.
"""

from __future__ import annotations

from pathlib import Path

from harness_plugins.tasks.flare.records import Domain

REFERENCE_WINDOWS: dict[Domain, tuple[float, float]] = {"abdomen": (-160.0, 240.0), "chest": (-1350.0, 150.0)}
"""Domain -> (low, high) HU of the reference preprocessing."""


def reference_window(path: str | Path) -> tuple[float, float]:
    """The HU window the reference preprocessing clips ``path``'s volume to: the abdomen's when "amos" is
    anywhere in the path (case-sensitive), else the chest's. This is the preprocessing script's own rule, not
    a case's domain (`records.guess_domain` decides that, from the record)."""
    return REFERENCE_WINDOWS["abdomen" if "amos" in str(path) else "chest"]
