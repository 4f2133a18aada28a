"""Hugging Face Hub access that fails in one line: offline or missing weights name the hub id and the fix."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from harness import trust
from harness.errors import HarnessError, UnavailableError


def unavailable(repo_id: str, revision: str | None, hint: str, exc: BaseException) -> UnavailableError:
    at = f"@{revision}" if revision else ""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    reason = reason.split(". ", 1)[0].rstrip(".")  # the first sentence, not one cut off mid-word
    reason = reason if len(reason) <= 160 else reason[:157] + "..."
    return UnavailableError(
        f"cannot get '{repo_id}{at}' from the Hugging Face Hub (offline, gated or not downloaded: "
        f"{reason}); {hint}"
    )


@contextlib.contextmanager
def hub_errors(repo_id: str, revision: str | None, hint: str) -> Iterator[None]:
    """Turn download and not-found errors from huggingface_hub/transformers into one `HarnessError` line
    (transformers' refusal of custom code into the remote-code refusal)."""
    try:
        yield
    except HarnessError:
        raise
    except ValueError as exc:
        if trust.is_remote_code_refusal(exc):
            trust.refuse(repo_id, "its files reference custom code")
        raise unavailable(repo_id, revision, hint, exc) from exc
    except (OSError, ConnectionError, ImportError) as exc:
        raise unavailable(repo_id, revision, hint, exc) from exc
    except Exception as exc:  # huggingface_hub's HTTP errors do not share one base class across versions
        if type(exc).__module__.startswith(("huggingface_hub", "requests", "httpx", "urllib3")):
            raise unavailable(repo_id, revision, hint, exc) from exc
        raise


def snapshot(repo_id: str, revision: str | None, hint: str) -> Path:
    """Local folder of a hub repository (downloaded when online), safetensors and JSON/tokenizer files only."""
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]
    with hub_errors(repo_id, revision, hint):
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
