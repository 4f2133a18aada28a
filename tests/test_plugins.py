"""Plugin manager: sources (entry points, HARNESS_PLUGINS, -p), blocking, and the per-plugin guard."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from harness import hookimpl, plugins
from harness.errors import HarnessError, PluginError

GOOD = """
from harness import hookimpl

@hookimpl
def register_encoders(register):
    register("{name}", "{module}_impl:make", description="lazy encoder")
"""
MISSPELLED = """
from harness import hookimpl

@hookimpl
def register_encoder(register):
    register("never", dict)
"""
RAISES_ON_IMPORT = "raise RuntimeError('boom at import')\n"
RAISES_IN_HOOK = """
from harness import hookimpl

@hookimpl
def register_judges(register):
    register("half-registered", dict)
    raise ValueError("boom in register_judges")
"""


@pytest.fixture(autouse=True)
def clean_plugins(monkeypatch):
    for variable in ("HARNESS_PLUGINS", "HARNESS_STRICT_PLUGINS", "HARNESS_DISABLE_PLUGIN_AUTOLOAD"):
        monkeypatch.delenv(variable, raising=False)
    plugins.configure()
    yield
    plugins.configure()


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("hpt_")]:
        del sys.modules[name]


def write_module(directory: Path, name: str, source: str) -> str:
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def info_of(name: str) -> plugins.PluginInfo:
    return next(i for i in plugins.plugin_infos() if i.name == name)


def test_builtins_load_through_their_own_entry_points():
    infos = [i for i in plugins.plugin_infos() if i.distribution == plugins.OWN_DISTRIBUTION]
    assert {i.name for i in infos} >= {"encoders", "projectors", "llms", "tasks", "models", "judges"}
    for info in infos:
        assert info.source == "entry point" and info.error is None
        assert info.hooks == [f"register_{info.name}"]


def test_harness_plugins_variable_loads_modules_lazily(module_dir, monkeypatch):
    write_module(module_dir, "hpt_env", GOOD.format(name="env-encoder", module="hpt_env"))
    write_module(module_dir, "hpt_env2", GOOD.format(name="env-encoder-2", module="hpt_env2"))
    monkeypatch.setenv("HARNESS_PLUGINS", "hpt_env, hpt_env2")
    entry = plugins.registry("encoders").get("env-encoder")
    assert entry.plugin == "hpt_env" and entry.description == "lazy encoder"
    assert "env-encoder-2" in plugins.registry("encoders")
    assert info_of("hpt_env").source == "HARNESS_PLUGINS"
    assert info_of("hpt_env").components == {"encoders": ["env-encoder"]}
    assert "hpt_env_impl" not in sys.modules  # the factory is a lazy string


def test_dash_p_loads_a_module_and_no_blocks_a_plugin(module_dir):
    write_module(module_dir, "hpt_cli", GOOD.format(name="cli-encoder", module="hpt_cli"))
    plugins.configure(modules=["hpt_cli"], blocked=["tasks"])
    assert "cli-encoder" in plugins.registry("encoders")
    assert info_of("hpt_cli").source == "-p"
    assert info_of("tasks").blocked
    assert plugins.registry("tasks").names() == []


def test_blocking_by_module_or_distribution(module_dir):
    write_module(module_dir, "hpt_blocked", GOOD.format(name="blocked-encoder", module="hpt_blocked"))
    plugins.configure(modules=["hpt_blocked"], blocked=["hpt_blocked", "harness_plugins.llms"])
    assert "blocked-encoder" not in plugins.registry("encoders")
    assert info_of("llms").blocked
    plugins.configure(blocked=[plugins.OWN_DISTRIBUTION])
    assert all(i.blocked for i in plugins.plugin_infos() if i.distribution == plugins.OWN_DISTRIBUTION)


def test_module_given_twice_or_already_an_entry_point_loads_once():
    plugins.configure(modules=["harness_plugins.tasks", "harness_plugins.tasks"])
    assert [i.module for i in plugins.plugin_infos()].count("harness_plugins.tasks") == 1
    assert all(i.error is None for i in plugins.plugin_infos())


def test_import_failure_is_recorded_warned_and_skipped(module_dir, monkeypatch, capsys):
    write_module(module_dir, "hpt_boom", RAISES_ON_IMPORT)
    write_module(module_dir, "hpt_fine", GOOD.format(name="fine-encoder", module="hpt_fine"))
    monkeypatch.setenv("HARNESS_PLUGINS", "hpt_boom,hpt_missing_module,hpt_fine")
    assert "fine-encoder" in plugins.registry("encoders")
    assert info_of("hpt_boom").error == "RuntimeError: boom at import"
    assert info_of("hpt_missing_module").error.startswith("ModuleNotFoundError")
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2
    assert "plugin 'hpt_boom' failed and was skipped: RuntimeError: boom at import" in warnings[0]


def test_dash_p_module_that_does_not_exist_is_fatal(module_dir):
    plugins.configure(modules=["hpt_not_there.sub"])
    with pytest.raises(PluginError, match=r"^-p hpt_not_there.sub: no module named 'hpt_not_there.sub'"):
        plugins.registry("encoders")


def test_dash_p_module_whose_own_import_is_missing_is_only_skipped(module_dir):
    plugins.configure(modules=[write_module(module_dir, "hpt_needs", "import hpt_dependency_absent\n")])
    assert info_of("hpt_needs").error.startswith("ModuleNotFoundError")


def test_builtin_wins_over_a_plugin_that_reuses_its_name(module_dir):
    class Impostor:
        @hookimpl
        def register_tasks(self, register):
            register("flare_vqa", dict)

    with plugins.temporary_plugin(Impostor(), "impostor"):
        assert plugins.registry("tasks").get("flare_vqa").distribution == plugins.OWN_DISTRIBUTION
        error = info_of("impostor").error
        assert "'tasks' (med3d-harness" in error and "'impostor'" in error


def install_fake_distribution(site: Path, dist: str, entry_point: str, module: str, source: str) -> None:
    """A distribution on sys.path as pip leaves it: a *.dist-info with METADATA and entry_points.txt."""
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[harness]\n{entry_point} = {module}\n")
    write_module(site, module, source)


def test_installed_plugin_reusing_a_builtin_name_is_refused_not_the_builtin(module_dir):
    # "aaa" sorts before the built-ins' entry points, which used to make the built-in the one refused
    install_fake_distribution(module_dir, "impostor-dist", "aaa", "hpt_impostor", """
        from harness import hookimpl

        @hookimpl
        def register_tasks(register):
            register("flare_vqa", dict)
        """)
    entry = plugins.registry("tasks").get("flare_vqa")
    assert entry.distribution == plugins.OWN_DISTRIBUTION
    error = info_of("aaa").error
    assert "(med3d-harness " in error and "(impostor-dist 1.0)" in error
    assert info_of("tasks").error is None


def test_misspelled_hook_is_caught_by_check_pending(module_dir):
    plugins.configure(modules=[write_module(module_dir, "hpt_typo", MISSPELLED)])
    error = info_of("hpt_typo").error
    assert error.startswith("PluginValidationError") and "register_encoder" in error
    assert "never" not in plugins.registry("encoders")
    assert "hpt_typo" not in [name for name, _ in plugins.plugin_manager().list_name_plugin()]


def test_failure_inside_a_register_hook_undoes_that_plugin(module_dir):
    plugins.configure(modules=[write_module(module_dir, "hpt_hook", RAISES_IN_HOOK)])
    info = info_of("hpt_hook")
    assert info.error == "ValueError: boom in register_judges"
    assert info.components == {}
    assert "half-registered" not in plugins.registry("judges")


def test_wrong_hook_signature_is_a_plugin_failure():
    class WrongArgs:
        @hookimpl
        def register_tasks(self, callback):
            callback("x", dict)

    with plugins.temporary_plugin(WrongArgs(), "wrong-args"):
        assert info_of("wrong-args").error.startswith("PluginValidationError")


def test_duplicate_name_names_both_plugins_and_refuses_the_name():
    class First:
        @hookimpl
        def register_judges(self, register):
            register("echo", dict, version="task-level metadata is allowed")

    class Second:
        @hookimpl
        def register_judges(self, register):
            register("second-only", dict)
            register("echo", list)

    with plugins.temporary_plugin(First(), "first"), plugins.temporary_plugin(Second(), "second"):
        judges = plugins.registry("judges")
        with pytest.raises(HarnessError, match="judge 'echo' is registered twice"):  # neither is a built-in
            judges.get("echo")
        assert "second-only" not in judges
        error = info_of("second").error
        assert "judge 'echo' is registered twice" in error and "'first'" in error and "'second'" in error


def test_clashing_plugin_names_are_made_unique():
    class A:
        @hookimpl
        def register_llms(self, register):
            register("llm-a", dict)

    class B:
        @hookimpl
        def register_llms(self, register):
            register("llm-b", dict)

    with plugins.temporary_plugin(A(), "same"), plugins.temporary_plugin(B(), "same"):
        assert {"llm-a", "llm-b"} <= set(plugins.registry("llms").names())
        assert plugins.registry("llms").get("llm-b").plugin == "in-process:same"


def test_strict_mode_makes_a_failure_fatal(module_dir, monkeypatch):
    monkeypatch.setenv("HARNESS_PLUGINS", write_module(module_dir, "hpt_strict", RAISES_ON_IMPORT))
    monkeypatch.setenv("HARNESS_STRICT_PLUGINS", "1")
    expected = r"plugin 'hpt_strict' failed: RuntimeError: boom at import .*-p no:hpt_strict"
    with pytest.raises(PluginError, match=expected):
        plugins.registry("encoders")


def test_unknown_name_mentions_failed_plugins(module_dir, monkeypatch):
    monkeypatch.setenv("HARNESS_PLUGINS", write_module(module_dir, "hpt_gone", RAISES_ON_IMPORT))
    with pytest.raises(KeyError, match="plugins that failed to load: hpt_gone"):
        plugins.registry("models").get("my-model")


def test_autoload_switch_keeps_only_builtin_entry_points(module_dir, monkeypatch):
    monkeypatch.setenv("HARNESS_DISABLE_PLUGIN_AUTOLOAD", "1")
    write_module(module_dir, "hpt_auto", GOOD.format(name="auto-encoder", module="hpt_auto"))
    plugins.configure(modules=["hpt_auto"])
    assert all(i.distribution in (None, plugins.OWN_DISTRIBUTION) for i in plugins.plugin_infos())
    assert "auto-encoder" in plugins.registry("encoders")  # explicit -p still loads


def test_unknown_kind_is_a_user_error():
    with pytest.raises(PluginError, match="unknown component kind 'encoder'"):
        plugins.registry("encoder")


def test_plugin_info_json_is_plain_data():
    data = info_of("tasks").to_json()
    assert data["distribution"] == plugins.OWN_DISTRIBUTION
    assert set(data) >= {"name", "module", "version", "hooks", "error", "blocked", "components"}
