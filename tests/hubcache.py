"""A Hugging Face cache laid out by hand, as huggingface_hub writes it, holding the demo set.

    <cache>/datasets--OWNER--NAME/refs/main                  the commit sha
    <cache>/datasets--OWNER--NAME/snapshots/<sha>/<files>    symbolic links into blobs/
    <cache>/datasets--OWNER--NAME/blobs/<sha256 of content>  the file contents
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from harness_plugins.tasks.flare.demo import generate_demo


def fake_hub_dataset(cache: Path, repo_id: str, *, layout: str, cases: int = 6, seed: int = 11) -> Path:
    """Write the demo set in ``layout`` as the cached snapshot of ``repo_id``; returns the snapshot folder."""
    sha = hashlib.sha1(f"{repo_id}:{layout}".encode()).hexdigest()
    storage = cache / f"datasets--{repo_id.replace('/', '--')}"
    snapshot = storage / "snapshots" / sha
    generate_demo(snapshot, cases=cases, seed=seed, layout=layout)
    (snapshot / "demo_manifest.json").unlink()  # the Hub copy has no generator manifest
    blobs = storage / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in snapshot.rglob("*") if p.is_file()):
        blob = blobs / hashlib.sha256(path.read_bytes()).hexdigest()
        os.replace(path, blob)
        path.symlink_to(os.path.relpath(blob, path.parent))
    (storage / "refs").mkdir(parents=True, exist_ok=True)
    (storage / "refs" / "main").write_text(sha)
    return snapshot
