"""pyproject.toml: every folder that ships is a listed package (no setuptools "would be ignored" warning), and the
dependency floors are versions the code runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _shipped_folders(root: Path, package: str) -> set[str]:
    """Dotted names of the folders under ``root`` that hold files and whose name is importable."""
    names = set()
    for folder in [root, *root.rglob("*")]:
        if not folder.is_dir() or "__pycache__" in folder.parts:
            continue
        parts = folder.relative_to(root).parts
        if not all(p.isidentifier() for p in parts) or not any(f.is_file() for f in folder.iterdir()):
            continue
        names.add(".".join([package, *parts]))
    return names


def test_every_importable_data_folder_is_a_listed_package():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    for package, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items():
        missing = _shipped_folders(REPO / folder, package) - listed
        assert not missing, f"setuptools would warn 'Package would be ignored' for {sorted(missing)}"


def test_transformers_floor_is_the_5x_api_the_model_code_uses():
    import transformers
    from packaging.requirements import Requirement
    from packaging.version import Version

    spec = next(Requirement(d) for d in PYPROJECT["project"]["dependencies"] if d.startswith("transformers"))
    floors = [Version(s.version) for s in spec.specifier if s.operator == ">="]
    assert floors and floors[0].major >= 5  # `cache=` and `dtype=` are the 5.x names
    assert Version(transformers.__version__) in spec.specifier
