"""Data sets on the Hugging Face Hub: a local snapshot, downloaded when online, from the cache offline.

    >>> root, revision = snapshot("ORG/DATASET", split="validation")  # doctest: +SKIP

With ``HF_HUB_OFFLINE=1`` no network call is made: the snapshot that ``refs/main`` points to in the
Hugging Face cache (``$HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``) is used, or the error says
how to get one. Online, `huggingface_hub.snapshot_download` fetches only the split's folder
(``train/`` or ``validation/``) and resumes partial downloads; for a gated set the first download needs
its terms accepted on the Hub and a login.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import HarnessError


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value (read now, not at import time)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _cache_dir() -> str | None:
    """$HF_HUB_CACHE, else $HF_HOME/hub, read now (huggingface_hub reads them once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    return str(Path(os.environ["HF_HOME"]) / "hub") if os.environ.get("HF_HOME") else None


def cache_storage_of(path: Path) -> Path | None:
    """The repository cache folder a path inside a Hugging Face snapshot belongs to, else None
    (``.../datasets--owner--name/snapshots/<sha>/...`` -> ``.../datasets--owner--name``)."""
    parts = path.absolute().parts
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == "snapshots" and parts[i - 1].startswith(("datasets--", "models--")):
            return Path(*parts[:i])
    return None


def storage_folder(snapshot_folder: Path) -> Path:
    """The cache folder of a snapshot's repository (``datasets--owner--name``): its files are symbolic
    links into ``blobs/`` there, so containment checks use this folder rather than the snapshot."""
    return snapshot_folder.parent.parent


def snapshot(repo_id: str, *, split: str | None = None) -> tuple[Path, str]:
    """(local snapshot folder, its commit sha) of a Hub data set; only ``split``'s folder when given."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    patterns = [f"{split}/*", "*.md"] if split and split != "all" else None
    login = (f"accept its terms at https://huggingface.co/datasets/{repo_id} and log in "
             "(`hf auth login` or HF_TOKEN)")
    try:
        folder = snapshot_download(repo_id, repo_type="dataset", allow_patterns=patterns, cache_dir=_cache_dir(),
                                   local_files_only=offline())
    except GatedRepoError:
        raise HarnessError(f"data set {repo_id} is gated: {login}, then rerun") from None
    except RepositoryNotFoundError:
        raise HarnessError(f"data set {repo_id} was not found or is not accessible: {login}") from None
    except LocalEntryNotFoundError:
        where = _cache_dir() or "the Hugging Face cache"
        how = ("HF_HUB_OFFLINE=1 is set: download it once online (`hf download --repo-type dataset "
               f"{repo_id}`) or unset HF_HUB_OFFLINE" if offline() else "the Hub could not be reached: connect")
        raise HarnessError(
            f"data set {repo_id}: no snapshot in {where}; {how}, pass a local copy with --data DIR, or use --data demo"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any other hub or network failure is the same user message
        detail = next(iter(str(exc).splitlines()), "")[:200]
        raise HarnessError(
            f"cannot download data set {repo_id} from the Hugging Face Hub ({type(exc).__name__}: {detail}); "
            f"connect and {login}, pass a local copy with --data DIR, or use --data demo"
        ) from None
    path = Path(folder)
    return path, path.name
