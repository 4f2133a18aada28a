"""`harness list`, `harness plugins`, `harness show`, `--version`, `-p`: output, errors and start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from harness import __version__, plugins
from harness.cli.main import main
from harness.registry import KINDS

PLUGIN = """
from harness import hookimpl

@hookimpl
def register_judges(register):
    register("cli-echo", "hci_plugin_impl:Echo", description="an echo judge", family="echo")
"""


@pytest.fixture(autouse=True)
def clean_plugins(monkeypatch):
    for variable in ("HARNESS_PLUGINS", "HARNESS_STRICT_PLUGINS", "HARNESS_DISABLE_PLUGIN_AUTOLOAD"):
        monkeypatch.delenv(variable, raising=False)
    yield
    plugins.configure()


@pytest.fixture
def plugin_module(tmp_path, monkeypatch) -> str:
    (tmp_path / "hci_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "hci_plugin"
    sys.modules.pop("hci_plugin", None)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_has_every_kind(capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    assert list(json.loads(out)) == [*KINDS, "datasets"]


def test_list_kind_json_describes_components_from_a_dash_p_plugin(capsys, plugin_module):
    code, out, _ = run(capsys, "-p", plugin_module, "list", "judge", "--json")  # singular is accepted
    assert code == 0
    (entry,) = [e for e in json.loads(out) if e["name"] == "cli-echo"]
    assert entry == {
        "name": "cli-echo", "kind": "judge", "description": "an echo judge", "plugin": plugin_module,
        "distribution": None, "version": None, "factory": "hci_plugin_impl:Echo", "metadata": {"family": "echo"},
    }


def test_list_table_and_wildcard(capsys, plugin_module):
    code, out, _ = run(capsys, "-p", plugin_module, "list", "judges", "cli-*")
    assert code == 0
    assert out.splitlines()[0] == "judges (1)"
    assert "cli-echo  an echo judge  [hci_plugin]" in out


def test_dash_p_no_blocks_a_plugin(capsys, plugin_module):
    code, out, _ = run(capsys, "-p", plugin_module, "-p", f"no:{plugin_module}", "list", "judges", "--json")
    assert code == 0 and "cli-echo" not in out


def test_unknown_kind_suggests_a_kind(capsys):
    code, _, err = run(capsys, "list", "modles")
    assert code == 2
    assert err.startswith("error: unknown component kind 'modles': did you mean 'models'?")


def test_show_unknown_name_suggests_close_names(capsys, plugin_module):
    code, _, err = run(capsys, "-p", plugin_module, "show", "judge", "cli-ecko")
    assert code == 2
    assert err.strip().startswith("error: unknown judge 'cli-ecko': did you mean 'cli-echo'? available:")
    assert "Traceback" not in err


def test_show_component(capsys, plugin_module):
    code, out, _ = run(capsys, "-p", plugin_module, "show", "judge", "cli-echo", "--json")
    assert code == 0 and json.loads(out)["factory"] == "hci_plugin_impl:Echo"


def test_plugins_json_and_table(capsys, plugin_module, monkeypatch):
    monkeypatch.setenv("HARNESS_PLUGINS", "hci_missing_module")  # a missing `-p MODULE` is fatal instead
    code, out, _ = run(capsys, "-p", plugin_module, "plugins", "--json")
    assert code == 0
    infos = {i["name"]: i for i in json.loads(out)}
    assert infos[plugin_module]["components"] == {"judges": ["cli-echo"]}
    assert infos[plugin_module]["hooks"] == ["register_judges"]
    assert infos["hci_missing_module"]["error"].startswith("ModuleNotFoundError")
    assert infos["tasks"]["distribution"] == "med3d-harness" and infos["tasks"]["version"] == __version__
    code, out, err = run(capsys, "plugins")
    assert code == 0
    assert "FAILED" in out and "error: ModuleNotFoundError" in out
    assert err.startswith("warning: plugin 'hci_missing_module' failed and was skipped")


def test_list_survives_a_broken_plugin_and_strict_mode_fails(capsys, monkeypatch):
    monkeypatch.setenv("HARNESS_PLUGINS", "hci_missing_module")
    code, out, err = run(capsys, "list")
    assert code == 0 and "tasks (" in out and "1 plugin(s) failed to load: hci_missing_module" in err
    monkeypatch.setenv("HARNESS_STRICT_PLUGINS", "1")
    code, _, err = run(capsys, "list")
    assert code == 2 and err.startswith("error: plugin 'hci_missing_module' failed: ModuleNotFoundError")


def test_version_and_help(capsys):
    assert run(capsys, "--version")[1].strip() == f"harness, version {__version__}"
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "Examples:" in out and "-p MODULE" in out
    code, out, _ = run(capsys, "list", "--help")
    assert code == 0 and "harness list models 'NAME*'" in out


def test_listing_imports_no_heavy_library():
    """`harness list` reads metadata only: torch and transformers stay unimported."""
    code = (
        "import sys\n"
        "from harness.cli.main import main\n"
        "assert main(['list', '--json']) == 0\n"
        "assert main(['plugins', '--json']) == 0\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'monai', 'numpy') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stderr


def test_show_task_prints_the_contract_the_task_states(capsys):
    from harness.cli.main import main

    assert main(["show", "task", "flare_vqa"]) == 0
    out = capsys.readouterr().out
    assert "data format   flare" in out
    assert "global_accuracy (VQA global; primary, higher is better)" in out
    assert "local: do_sample=False max_new_tokens=64" in out
    assert "prompt styles med3dvlm, chat" in out and "judge         (none)" in out
    assert main(["show", "task", "flare_report", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)["card"]
    assert card["judge"] == "hf" and card["description"].startswith("FLARE 2025 Task 5 CT report generation")
