"""Which ``OUT/checkpoint-N`` a resumed run can trust: complete, untorn, with every file resuming reads.

    >>> newest_complete("runs/ft", world=1, deepspeed=False)      # doctest: +SKIP
    (PosixPath('runs/ft/checkpoint-8'), [('checkpoint-10', 'trainer_state.json is torn')])

A process killed while saving leaves a checkpoint with some files missing or cut short. The Trainer
would read such a one without a word where it can (a missing optimizer or RNG file only changes the
numbers) and die with a traceback where it cannot (a torn ``trainer_state.json``), so every file is
checked here first: ``trainer_state.json`` parses and names the folder's step, ``trained.safetensors``
has a whole header and body, and the optimizer, scheduler and per-rank RNG files (or DeepSpeed's
``global_stepN/`` shards) are whole zip archives, as `torch.save` writes them.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

TRAINED_STATE = "trained.safetensors"
"""In each checkpoint: every tensor of the trained parts (LoRA, fully trained parts, their BatchNorm buffers)."""

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoints(out_dir: str | Path) -> list[tuple[int, Path]]:
    """Every ``checkpoint-N`` folder in ``out_dir``, newest first."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in out.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return sorted(found, reverse=True)


def _torch_file_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"{path.name} is missing"
    if not zipfile.is_zipfile(path):
        return f"{path.name} is torn"
    return None


def problem(folder: Path, step: int, *, world: int, deepspeed: bool) -> str | None:
    """Why ``folder`` (the checkpoint of ``step``) cannot be resumed from, or ``None`` when it is complete."""
    state = folder / "trainer_state.json"
    if not state.is_file():
        return "trainer_state.json is missing"
    try:
        saved = json.loads(state.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "trainer_state.json is torn"
    if not isinstance(saved, dict) or saved.get("global_step") != step:
        return f"trainer_state.json does not say step {step}"
    weights = folder / TRAINED_STATE
    if not weights.is_file():
        return f"{TRAINED_STATE} is missing"
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt"):
            pass
    except (SafetensorError, OSError):
        return f"{TRAINED_STATE} is torn"
    rng = ["rng_state.pth"] if world <= 1 else [f"rng_state_{rank}.pth" for rank in range(world)]
    if deepspeed:
        shards = folder / f"global_step{step}"
        if not shards.is_dir() or not any(shards.glob("*.pt")):
            return f"global_step{step}/ (DeepSpeed's optimizer shards) is missing"
        files = sorted(shards.glob("*.pt"))
    else:
        files = [folder / "optimizer.pt", folder / "scheduler.pt"]
    for path in [*files, *(folder / name for name in rng)]:
        reason = _torch_file_problem(path)
        if reason:
            return reason
    return None


def newest_complete(out_dir: str | Path, *, world: int, deepspeed: bool) -> tuple[Path | None, list[tuple[str, str]]]:
    """The newest complete checkpoint (or ``None``) and the ``(name, why)`` of each newer one passed over."""
    skipped: list[tuple[str, str]] = []
    for step, folder in checkpoints(out_dir):
        reason = problem(folder, step, world=world, deepspeed=deepspeed)
        if reason is None:
            return folder, skipped
        skipped.append((folder.name, reason))
    return None, skipped


def set_aside(folder: Path) -> Path:
    """Rename an incomplete checkpoint out of the Trainer's sight (its checkpoint rotation would otherwise keep
    it as the newest and delete complete ones), without deleting anything."""
    target = folder.with_name(f".incomplete-{folder.name}")
    index = 1
    while target.exists():
        index += 1
        target = folder.with_name(f".incomplete-{folder.name}.{index}")
    folder.rename(target)
    return target
