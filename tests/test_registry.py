"""Registry: names, wildcards, lazy factories, duplicates and did-you-mean errors."""

from __future__ import annotations

import sys

import pytest

from harness.errors import HarnessError, UnknownNameError
from harness.registry import Entry, Registry


def make_registry() -> Registry:
    registry = Registry("model")
    registry.add("med3dvlm", dict, plugin="models", distribution="med3d-harness", version="0.1.0",
                 description="the published model")
    registry.add("med3dvlm-demo", dict, plugin="models")
    registry.add("m3d-lamed", dict, plugin="other")
    return registry


def test_names_are_sorted_and_filtered_by_wildcard():
    registry = make_registry()
    assert registry.names() == ["m3d-lamed", "med3dvlm", "med3dvlm-demo"]
    assert registry.names("med3dvlm*") == ["med3dvlm", "med3dvlm-demo"]
    assert [e.name for e in registry] == registry.names()
    assert "med3dvlm" in registry and len(registry) == 3


def test_unknown_name_suggests_the_closest_and_lists_all():
    with pytest.raises(UnknownNameError) as info:
        make_registry().get("med3dvml")
    message = str(info.value)
    assert message.startswith("unknown model 'med3dvml': did you mean 'med3dvlm'?")
    assert "available: m3d-lamed, med3dvlm, med3dvlm-demo" in message
    assert isinstance(info.value, HarnessError) and isinstance(info.value, KeyError)


def test_unknown_name_without_close_match_and_with_failed_plugins():
    registry = make_registry()
    registry.failed_plugins = ["broken"]
    message = str(pytest.raises(UnknownNameError, registry.get, "zzz").value)
    assert "did you mean" not in message
    assert "plugins that failed to load: broken" in message


def test_duplicate_names_both_plugins_with_distributions():
    registry = make_registry()
    with pytest.raises(HarnessError) as info:
        registry.add("med3dvlm", dict, plugin="mine", distribution="my-dist", version="2.0")
    message = str(info.value)
    assert "'models' (med3d-harness 0.1.0)" in message and "'mine' (my-dist 2.0)" in message
    assert "-p no:mine" in message
    with pytest.raises(HarnessError, match="registered twice"):  # no built-in distribution: the name is refused
        registry.get("med3dvlm")


def test_a_builtin_wins_a_name_clash():
    registry = Registry("model", builtin_distribution="med3d-harness")
    registry.add("med3dvlm", dict, plugin="models", distribution="med3d-harness", version="0.1.0")
    with pytest.raises(HarnessError, match="'models' \\(med3d-harness 0.1.0\\).*'evil' \\(evil-dist 1.0\\)"):
        registry.add("med3dvlm", list, plugin="evil", distribution="evil-dist", version="1.0")
    assert registry.get("med3dvlm").factory is dict


def test_a_clash_between_third_parties_refuses_the_name():
    registry = Registry("task", builtin_distribution="med3d-harness")
    registry.add("dup", dict, plugin="alpha", distribution="alpha-dist", version="1.0")
    registry.add("other", dict, plugin="alpha", distribution="alpha-dist", version="1.0")
    with pytest.raises(HarnessError):
        registry.add("dup", list, plugin="beta", distribution="beta-dist", version="1.0")
    message = str(pytest.raises(HarnessError, registry.get, "dup").value)
    assert "'alpha' (alpha-dist 1.0)" in message and "'beta' (beta-dist 1.0)" in message
    assert registry.get("other").factory is dict


@pytest.mark.parametrize("name,factory", [("", dict), (3, dict), ("x", None), ("x", "")])
def test_bad_registrations_are_rejected(name, factory):
    with pytest.raises(HarnessError):
        Registry("encoder").add(name, factory, plugin="p")


def test_lazy_factory_imports_its_module_on_first_load(tmp_path, monkeypatch):
    (tmp_path / "lazy_component_mod.py").write_text("def make(**kw):\n    return ('made', kw)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("encoder")
    registry.add("lazy", "lazy_component_mod:make", plugin="p")
    assert "lazy_component_mod" not in sys.modules
    assert registry.get("lazy").to_json()["factory"] == "lazy_component_mod:make"
    assert "lazy_component_mod" not in sys.modules  # describing is not loading
    assert registry.create("lazy", size=3) == ("made", {"size": 3})
    assert "lazy_component_mod" in sys.modules
    monkeypatch.delitem(sys.modules, "lazy_component_mod")


def test_lazy_factory_that_cannot_load_names_component_and_plugin():
    registry = Registry("encoder")
    registry.add("ghost", "no_such_module_xyz:make", plugin="ghosts")
    with pytest.raises(HarnessError, match=r"encoder 'ghost' from plugin 'ghosts' cannot be loaded"):
        registry.get("ghost").load()


def test_remove_plugin_forgets_only_its_entries():
    registry = make_registry()
    registry.remove_plugin("models")
    assert registry.names() == ["m3d-lamed"]


def test_entry_json_separates_description_from_metadata():
    entry = Entry("x", "judge", dict, "p", "d", "1", {"description": "hello", "family": "f"})
    data = entry.to_json()
    assert data["description"] == "hello"
    assert data["metadata"] == {"family": "f"}
    assert data["factory"] == "builtins:dict"
    assert entry.origin == "'p' (d 1)"
