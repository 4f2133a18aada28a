"""The example plugin as a real installed distribution: discovery through its entry point, a broken
package beside it, strict mode, `-p` and `-p no:`, and the package's own conformance tests.

Both packages are pip-installed (non-editable) into this interpreter's environment and uninstalled
in a `finally`, so nothing here is a monkeypatch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "harness-plugin-example"
EXAMPLE_DIST = "harness-plugin-example"
BROKEN_DIST = "harness-plugin-broken-for-tests"
EXPECTED = {
    "encoders": "example-conv3d",
    "projectors": "example-pool",
    "tasks": "example_organs",
    "judges": "example-overlap",
}

pytestmark = pytest.mark.slow


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "-q", "--disable-pip-version-check"], check=True,
                   capture_output=True, timeout=300)


def harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          env=environment, timeout=120)


def write_broken_package(root: Path) -> Path:
    """A distribution whose plugin module raises on import."""
    (root / "harness_broken_plugin").mkdir(parents=True)
    (root / "harness_broken_plugin" / "__init__.py").write_text("raise ImportError('this plugin is broken')\n")
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{BROKEN_DIST}"
        version = "0.0.1"

        [project.entry-points.harness]
        broken = "harness_broken_plugin"

        [tool.setuptools]
        packages = ["harness_broken_plugin"]
    """))
    return root


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Install the example (a copy, so the build leaves nothing in the repo) and the broken package."""
    tmp = tmp_path_factory.mktemp("plugins")
    example = tmp / "example"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    broken = write_broken_package(tmp / "broken")
    try:
        for path in (example, broken):
            pip("install", "--no-deps", "--no-build-isolation", str(path))
        yield tmp
    finally:
        pip("uninstall", "-y", EXAMPLE_DIST, BROKEN_DIST)


def test_example_components_appear_with_their_distribution(installed):
    result = harness("list", "--json")
    assert result.returncode == 0, result.stderr  # the broken package does not take listing down
    listing = json.loads(result.stdout)
    for kind, name in EXPECTED.items():
        (entry,) = [e for e in listing[kind] if e["name"] == name]
        assert entry["distribution"] == EXAMPLE_DIST and entry["version"] == "0.1.0"
        assert entry["plugin"] == "example"
    assert "warning: plugin 'broken' (harness-plugin-broken-for-tests 0.0.1) failed" in result.stderr


def test_broken_package_is_reported_by_plugins(installed):
    result = harness("plugins", "--json")
    assert result.returncode == 0
    infos = {i["name"]: i for i in json.loads(result.stdout)}
    assert infos["broken"]["distribution"] == BROKEN_DIST
    assert infos["broken"]["error"] == "ImportError: this plugin is broken"
    assert infos["example"]["error"] is None
    assert infos["example"]["hooks"] == [f"register_{k}" for k in sorted(EXPECTED)]


def test_strict_mode_fails_on_the_broken_package(installed):
    result = harness("list", env={"HARNESS_STRICT_PLUGINS": "1"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: plugin 'broken' (harness-plugin-broken-for-tests 0.0.1) failed")


def test_dash_p_no_blocks_installed_plugins(installed):
    result = harness("-p", "no:broken", "-p", f"no:{EXAMPLE_DIST}", "list", "--json")
    assert result.returncode == 0 and "warning" not in result.stderr
    listing = json.loads(result.stdout)
    assert not any(e.get("distribution") == EXAMPLE_DIST for entries in listing.values() for e in entries)


def test_dash_p_loads_a_module_by_import_path(installed, tmp_path):
    (tmp_path / "my_local_plugin.py").write_text(textwrap.dedent("""
        from harness import hookimpl

        @hookimpl
        def register_tasks(register):
            register("local-task", "harness_plugin_example.task:OrganListTask")
    """))
    result = harness("-p", "my_local_plugin", "list", "tasks", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0
    (entry,) = [e for e in json.loads(result.stdout) if e["name"] == "local-task"]
    assert entry["plugin"] == "my_local_plugin" and entry["distribution"] is None


def test_example_package_passes_its_own_conformance_tests(installed):
    """What docs/plugins.md tells a plugin author to run, from the installed package."""
    tests = installed / "example" / "tests"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tests), str(tests)],
        capture_output=True, text=True, timeout=300, cwd=tests,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "7 passed" in result.stdout
