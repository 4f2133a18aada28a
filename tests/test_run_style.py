"""A model's prompt style that the task does not render is refused before the model loads."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.runner import check_style, preflight
from harness.runoptions import RunConfig


class _ChatOnly:
    name = "chat_only"
    prompt_styles = ("chat",)


def test_a_style_the_task_renders_passes():
    assert check_style(_ChatOnly(), "chat") == "chat"


def test_another_style_names_the_task_its_styles_and_the_fix():
    with pytest.raises(HarnessError, match=r"task 'chat_only' renders the prompt styles chat, not the model's "
                                           r"'med3dvlm'; pass --set style=chat"):
        check_style(_ChatOnly(), "med3dvlm")


def test_preflight_checks_a_zoo_recipe_style_without_loading(monkeypatch, tmp_path):
    from harness import plugins

    task = plugins.registry("tasks").create("flare_vqa")
    monkeypatch.setattr(type(task), "prompt_styles", ("chat",))
    config = RunConfig(model="med3dvlm-demo", task="flare_vqa", data="demo", out_dir=str(tmp_path / "out"))
    with pytest.raises(HarnessError, match="pass --set style=chat"):
        preflight(config)
    config = RunConfig(model="med3dvlm-demo", task="flare_vqa", data="demo", out_dir=str(tmp_path / "out"),
                       style="chat")
    assert preflight(config)[0].name == "flare_vqa"
