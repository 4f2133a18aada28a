"""The run fingerprint: what made the checkpoints in an output folder, written before the first step.

    >>> saved = {"settings": {"split": "train", "learning_rate": 0.0003}}
    >>> differences(saved, {"settings": {"split": "validation", "learning_rate": 0.0003}})
    ['split: train then, validation now']

``OUT/finetune_run.json`` records the settings that decide what the run computes: the model (and
``--init``), the tasks, the data (its argument, split and a digest of the records), the world size and
every hyper-parameter of `TrainConfig` except the bookkeeping ones in `MAY_CHANGE`. ``--resume`` compares
the saved fingerprint with the one the command asks for and refuses a difference in one line. The file
also marks the folder as made by ``harness finetune``: resuming unpickles optimizer and RNG states from the
checkpoints, so a folder without it is never resumed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.training.config import TrainConfig

FINGERPRINT = "finetune_run.json"
FORMAT = "harness-finetune-run"
VERSION = 1
MAY_CHANGE = frozenset({"out_dir", "resume", "name", "logging_steps", "save_steps", "save_total_limit", "report_to",
                        "num_workers", "gradient_checkpointing"})
"""Settings a resumed run may change: they decide what is logged and saved, and memory use, not what is computed
(the data draws depend on no worker state, see `harness.training.dataset`)."""


def data_digest(cases: Sequence[Any]) -> str:
    """sha256 over the cases' contents (ids, texts, questions: every field), not over where their files lie
    (``image``, ``source``)."""
    rows = []
    for case in sorted(cases, key=lambda c: c.case_id):
        record = _fields(case)
        record.pop("image", None)
        record.pop("source", None)
        rows.append(record)
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def _fields(case: Any) -> dict[str, Any]:
    """A case's fields as a dict, whatever a task's case type is (a dataclass or another object)."""
    if dataclasses.is_dataclass(case) and not isinstance(case, type):
        return dataclasses.asdict(case)
    if hasattr(case, "__dict__"):
        return dict(vars(case))
    return {"case_id": case.case_id, "repr": repr(case)}


def _model_identity(model: str) -> str:
    return os.path.realpath(model) if Path(model).is_dir() else model


def run_fingerprint(cfg: TrainConfig, *, init: str, tasks: Sequence[str], cases: Sequence[Any], world: int,
                    precision: str, zero_stage: int | None) -> dict[str, Any]:
    """The fingerprint of the run ``cfg`` describes on this machine (JSON types only)."""
    settings = {k: v for k, v in cfg.to_dict().items() if k not in MAY_CHANGE}
    settings.update(model=_model_identity(cfg.model), init=init, tasks=list(tasks), data_sha256=data_digest(cases),
                    n_cases=len(cases), world_size=world, resolved_precision=precision, zero_stage=zero_stage)
    return json.loads(json.dumps({"format": FORMAT, "version": VERSION, "settings": settings}, default=str))


def read_fingerprint(out_dir: str | Path) -> dict[str, Any] | None:
    """The saved fingerprint, ``None`` when the folder has none; a damaged one is an error."""
    path = Path(out_dir) / FINGERPRINT
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        saved = None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or not isinstance(saved.get("settings"), dict):
        raise HarnessError(f"{path} is not a harness fine-tuning fingerprint: resume only folders that "
                           f"`harness finetune` created, or choose another --out")
    return saved


def differences(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """``"key: OLD then, NEW now"`` for each setting that differs (keys in sorted order)."""
    old, new = saved["settings"], wanted["settings"]
    return [f"{key}: {old.get(key)} then, {new.get(key)} now" for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)]


def check_same_run(out_dir: str | Path, saved: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Refuse, in one line, to resume ``out_dir`` with settings other than the saved run's."""
    changed = differences(saved, wanted)
    if changed:
        shown = "; ".join(changed[:4]) + (f"; and {len(changed) - 4} more" if len(changed) > 4 else "")
        raise HarnessError(f"--resume: {out_dir} was trained with other settings ({shown}): repeat the saved run's "
                           f"command (see {Path(out_dir) / FINGERPRINT}), or choose another --out")


def write_fingerprint(out_dir: str | Path, fingerprint: dict[str, Any]) -> None:
    from harness.atomic import write_text_atomic

    write_text_atomic(Path(out_dir) / FINGERPRINT, json.dumps(fingerprint, indent=2, sort_keys=True) + "\n")
